package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeSession returns the commands of README's example session with
// the output each is shown with.
func readmeSession(t *testing.T) []sessionStep {
	t.Helper()
	b, err := os.ReadFile(repo("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "### Example session")
	if i < 0 {
		t.Fatal("README has no example session")
	}
	text = text[i:]
	start := strings.Index(text, "```\n")
	end := strings.Index(text[start+4:], "\n```")
	block := text[start+4 : start+4+end]
	var steps []sessionStep
	for _, line := range strings.Split(block, "\n") {
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			// A trailing "   # comment" explains the command.
			if k := strings.Index(cmd, "  #"); k >= 0 {
				cmd = strings.TrimSpace(cmd[:k])
			}
			steps = append(steps, sessionStep{command: cmd})
			continue
		}
		if len(steps) > 0 {
			steps[len(steps)-1].output = append(steps[len(steps)-1].output, line)
		}
	}
	for i := range steps {
		out := steps[i].output
		for len(out) > 0 && out[len(out)-1] == "" {
			out = out[:len(out)-1]
		}
		if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "exit ") {
			fmt.Sscanf(out[n-1], "exit %d", &steps[i].exit)
			out = out[:n-1]
		}
		steps[i].output = out
	}
	return steps
}

type sessionStep struct {
	command string
	output  []string
	exit    int
}

// Timings and rates vary from run to run, and the order of a parallel
// batch's status lines and of stdout and stderr with it; column widths
// follow the timings.
var (
	timing    = regexp.MustCompile(`\d+(\.\d+)? ?(ms|s)\b`)
	rate      = regexp.MustCompile(`\d+(\.\d+)? (samples|models|stages)/s`)
	batchStep = regexp.MustCompile(`^\[\d+/(\d+)\]`)
	spaces    = regexp.MustCompile(`\s+`)
)

func normalizeSession(lines []string) []string {
	var out []string
	for _, l := range lines {
		l = rate.ReplaceAllString(l, "RATE $2/s")
		l = timing.ReplaceAllString(l, "TIME")
		l = batchStep.ReplaceAllString(l, "[n/$1]")
		l = strings.TrimSpace(spaces.ReplaceAllString(l, " "))
		if l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// The README's example session, manifest included, works as written in a
// fresh clone with onnxquant on the PATH, and prints what it shows.
func TestReadmeExampleSessionWorksAsWritten(t *testing.T) {
	clone := t.TempDir()
	if err := os.CopyFS(filepath.Join(clone, "models"), os.DirFS(repo("models"))); err != nil {
		t.Fatal(err)
	}
	steps := readmeSession(t)
	if len(steps) < 6 {
		t.Fatalf("only %d commands in the session", len(steps))
	}
	path := filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH")
	ran := 0
	for _, st := range steps {
		if name, ok := strings.CutPrefix(st.command, "cat "); ok {
			// The session shows a file: write it as shown.
			if err := os.WriteFile(filepath.Join(clone, name), []byte(strings.Join(st.output, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		cmd := exec.Command("bash", "-o", "pipefail", "-c", st.command)
		cmd.Dir = clone
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", st.command, err)
		}
		if code != st.exit {
			t.Errorf("$ %s: exit %d, README shows %d\n%s", st.command, code, st.exit, out)
		}
		got, want := normalizeSession(strings.Split(string(out), "\n")), normalizeSession(st.output)
		if !slices.Equal(got, want) {
			t.Errorf("$ %s: output differs from the README's\ngot:\n%s\nREADME (normalized):\n%s", st.command, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		ran++
	}
	if ran < 6 {
		t.Errorf("ran %d commands", ran)
	}
	for _, p := range []string{"tinynet_int8.onnx", "out/tinynet_u55_int8.onnx", "out/tinynet_u85_a16w8.onnx"} {
		if _, err := os.Stat(filepath.Join(clone, p)); err != nil {
			t.Errorf("the session did not write %s: %v", p, err)
		}
	}
	mustNotExist(t, filepath.Join(clone, "out", "missing_int8.onnx"))
}
