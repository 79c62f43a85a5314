package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the program writes to the
// terminal side, the test reads what it drew from the controller side.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func TestProgressTranscriptOnATerminalAndInALog(t *testing.T) {
	dir := t.TempDir()
	args := []string{"quantize", "models/tinynet.onnx", "--calib", "models/tinynet_calib", "-o", filepath.Join(dir, "q.onnx"), "--report", filepath.Join(dir, "r.json")}

	controller, terminal := openPTY(t)
	cmd := exec.Command(binary, args...)
	cmd.Dir = repo()
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, terminal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	terminal.Close()
	var drawn bytes.Buffer
	io.Copy(&drawn, controller) // ends with EIO when the program exits
	controller.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, drawn.String())
	}
	tty := drawn.String()
	// Every phase starts at 0%, is redrawn in place, and ends with its
	// count, time and rate on a line of its own.
	stages := regexp.MustCompile(`(?s)\r\x1b\[Kquantize 0/(\d+) stages   0\.0%.*\r\x1b\[Kquantize (\d+)/(\d+) stages 100\.0% in \S+ \(\d+ stages/s\)\r\n`)
	if m := stages.FindStringSubmatch(tty); m == nil || m[1] != m[2] || m[2] != m[3] {
		t.Errorf("stages: terminal transcript lacks their start or end:\n%q", tty)
	}
	for _, phase := range []string{"calibrate", "eval"} {
		start := "\r\x1b[K" + phase + " 0/16 samples   0.0%"
		end := regexp.MustCompile(`\r\x1b\[K` + phase + ` 16/16 samples 100\.0% in \d+(ms|\.\ds) \(\d+ samples/s\)\r\n`)
		if !strings.Contains(tty, start) || !end.MatchString(tty) {
			t.Errorf("%s: terminal transcript lacks its start or end:\n%q", phase, tty)
		}
	}
	if strings.Contains(tty, "calibrate:") {
		t.Errorf("log-style lines on a terminal:\n%q", tty)
	}

	// Not a terminal: one line per phase, no control characters.
	r := onnxquant(t, args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := regexp.MustCompile(`^calibrate: 16/16 samples in \S+ \(\d+ samples/s\)\nquantize: (\d+)/(\d+) stages in \S+ \(\d+ stages/s\)\neval: 16/16 samples in \S+ \(\d+ samples/s\)\n$`)
	if !lines.MatchString(r.stderr) {
		t.Errorf("log transcript:\n%q", r.stderr)
	}
	// --quiet prints nothing.
	if r := onnxquant(t, append(args, "--quiet")...); r.code != 0 || r.stderr != "" || r.stdout != "" {
		t.Errorf("--quiet: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
