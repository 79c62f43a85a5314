package tests

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testmodel"
)

// TestInterruptInsideAStageLeavesNothing sends SIGINT as soon as the stage
// before Q/DQ conversion has finished (--verbose prints a line per
// finished stage), so that it arrives while conversion, the legality check
// and raising work through a 30,000-node chain: quantize exits 130, names
// the stage the interrupt ended, that stage never finished, and nothing is
// written. Wherever the signal lands the assertions hold (an interrupt
// seen between stages names the stage about to start); that the stages
// stop inside their loops is TestInterruptStopsInsideEachLongStage's
// deterministic check, in ethosu.
func TestInterruptInsideAStageLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	b, err := proto.Marshal(testmodel.Chain(30000))
	if err != nil {
		t.Fatal(err)
	}
	model := writeFile(t, filepath.Join(dir, "chain.onnx"), b)
	sample := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(sample, tensor.New(tensor.WithShape(1, 8), tensor.WithBacking([]float32{1, 2, 3, 4, -1, -2, -3, -4}))); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	cmd := exec.Command(binary, "quantize", model, "--calib", sample, "-o", filepath.Join(dir, "q.onnx"),
		"--report", filepath.Join(dir, "r.json"), "--verbose", "--min-sqnr", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if !sent && strings.HasPrefix(line, "stage fit-bias:") {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	err = cmd.Wait()
	if !sent {
		t.Fatalf("the fit-bias stage never finished; stderr:\n%s", log.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130; stdout %q; stderr:\n%s", code, stdout.String(), log.String())
	}
	m := regexp.MustCompile(`interrupted in stage (\S+); nothing was written`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("stderr does not name the stage the interrupt ended:\n%s", log.String())
	}
	t.Logf("the interrupt ended stage %s", m[1])
	if strings.Contains(log.String(), "stage "+m[1]+":") {
		t.Errorf("stage %s finished after the interrupt that ended it:\n%s", m[1], log.String())
	}
	before.unchanged(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "q.onnx")); err == nil {
		t.Error("q.onnx written after SIGINT")
	}
}
