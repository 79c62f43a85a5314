// Command onnxquant turns float ONNX models into fully integer QDQ ONNX
// models that Arm Ethos-U NPUs can run, and inspects, converts, runs and
// calibrates ONNX models on the way.
//
// Exit codes: 0 success, 1 a conversion, calibration or legality failure,
// 2 a usage error (unknown flag, target or scheme, missing argument).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks an error that is the caller's misuse of the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "onnxquant",
		Usage:     "quantize float ONNX models to integer QDQ ONNX for Arm Ethos-U NPUs",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed once, by run, with the right exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &usageError{msg: err.Error()}
		},
		Commands: []*cli.Command{
			inspectCommand(),
			convertCommand(),
		},
	}
}

// run executes the command line and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "onnxquant: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// onlyArgs checks the number of positional arguments.
func onlyArgs(c *cli.Context, n int, what string) error {
	if c.NArg() != n {
		return usagef("%s: expected %s, got %d argument(s)", c.Command.Name, what, c.NArg())
	}
	return nil
}
