// Command onnxquant turns float ONNX models into fully integer QDQ ONNX
// models that Arm Ethos-U NPUs can run, and inspects, converts, runs and
// calibrates ONNX models on the way.
//
// Exit codes: 0 success, 1 a conversion, calibration or legality failure,
// 2 a usage error (unknown flag, target or scheme, missing argument), 130
// interrupted (Ctrl-C), which leaves no output.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitInterrupted is the shell's code for a command ended by SIGINT.
	exitInterrupted = 130
)

// usageError marks an error that is the caller's misuse of the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "onnxquant",
		Usage:   "quantize float ONNX models to integer QDQ ONNX for Arm Ethos-U NPUs",
		Version: onnxquant.Version,
		// A comma belongs to the value (--input-shape x=1,3,48,192, or a
		// path); list flags repeat or take several words instead.
		DisableSliceFlagSeparator: true,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		// Errors are printed once, by run, with the right exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			inspectCommand(),
			convertCommand(),
			quantizeCommand(),
			checkCommand(),
			runCommand(),
			calibrateCommand(),
			evalCommand(),
			batchCommand(),
			exportCommand(),
		},
	}
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return flagUsageError(app.Flags, err)
	}
	for _, cmd := range app.Commands {
		flags := cmd.Flags
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return flagUsageError(flags, err)
		}
	}
	return app
}

// interspersed moves a command's flags in front of its positional
// arguments, so "quantize in.onnx -o out.onnx" works as users expect (the
// flag parser stops at the first positional argument).
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	isList := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		if g, ok := f.(*cli.GenericFlag); ok {
			// A generic flag whose value is a bool flag (--smooth-quant)
			// takes its value only as --name=VALUE.
			b, ok := g.Value.(interface{ IsBoolFlag() bool })
			isBool = ok && b.IsBoolFlag()
		}
		_, list := f.(*cli.StringSliceFlag)
		for _, name := range f.Names() {
			takesValue[name] = !isBool
			isList[name] = list
		}
	}
	var flags, positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && i+1 < len(rest) {
			flags = append(flags, rest[i+1])
			i++
		}
		// "--calib a.npy b.npy" (what a shell glob gives): the sample
		// paths after a list flag are its values too.
		for isList[name] && i+1 < len(rest) && looksLikeSamples(rest[i+1]) {
			flags = append(flags, a, rest[i+1])
			i++
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// looksLikeSamples tells whether a command-line word names sample data
// (a .npy or .npz file, optionally NAME=, or a folder) rather than a
// model, manifest or stats file, which are positional arguments.
func looksLikeSamples(arg string) bool {
	if len(arg) > 0 && arg[0] == '-' {
		return false
	}
	ext := strings.ToLower(filepath.Ext(arg))
	if ext == ".npy" || ext == ".npz" {
		return true
	}
	info, err := os.Stat(arg)
	return err == nil && info.IsDir()
}

// unknownCommand returns a usage error when the first argument names no
// command, proposing the nearest ones.
func unknownCommand(app *cli.App, args []string) error {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") || args[1] == "help" || app.Command(args[1]) != nil {
		return nil
	}
	names := commandNames(app)
	return usagef("unknown command %q%s (commands: %s)", args[1], didYouMean(nearest(args[1], names)), strings.Join(names, ", "))
}

// jobsFlag is the -j flag of every command; below 1 is a usage error.
func jobsFlag(usage string) *cli.IntFlag {
	return &cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: usage,
		Action: func(_ *cli.Context, n int) error {
			if n < 1 {
				return usagef("--jobs %d: expected at least 1", n)
			}
			return nil
		}}
}

// run executes the command line and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run with a context whose cancellation (Ctrl-C) stops
// calibration, evaluation and batches between samples.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := unknownCommand(app, args)
	if err == nil {
		err = app.RunContext(ctx, interspersed(app, args))
	}
	if err == nil {
		return exitOK
	}
	if interrupted(ctx, err) {
		fmt.Fprintln(stderr, "onnxquant: interrupted; nothing was written")
		return exitInterrupted
	}
	// Messages quote names from models and data files; escape what a
	// terminal would act on.
	fmt.Fprintf(stderr, "onnxquant: %s\n", printableLines(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, onnxquant.ErrInvalidOptions) || strings.HasPrefix(err.Error(), "Required flag") {
		return exitUsage
	}
	return exitFailure
}

// gcPercent is the garbage collector's target unless GOGC is set. Most of
// onnxquant's heap is long-lived (the model's weights, packed copies of
// them, observers) and each sample leaves only a little garbage, so Go's
// default of 100 would let that garbage grow to the size of the weights
// before collecting it, doubling the process's memory on a large model.
// At 25 a collection comes every few hundred samples, at no measurable
// cost, and the heap peaks about a quarter above what is live.
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runContext(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// onlyArgs checks the number of positional arguments.
func onlyArgs(c *cli.Context, n int, what string) error {
	if c.NArg() != n {
		return usagef("%s: expected %s, got %d argument(s)", c.Command.Name, what, c.NArg())
	}
	return nil
}
