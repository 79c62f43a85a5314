package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/golden"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Transcripts (testdata/transcripts/*.txt) are command lines with exactly
// what the binary prints and its exit code, as a user sees them:
//
//	# a comment
//	$ onnxquant check models/tinynet.onnx --target ethos-u55-128
//	1> a line of standard output
//	2> a line of standard error
//	exit 1
//
// Commands run from the repository root; $WORK is a fresh folder per
// transcript that already holds the small models of writeTranscriptInputs,
// and stands for that folder in the output too. Trailing spaces of output
// lines are dropped (editors strip them). With -update the file's comments
// and commands are kept and every output is rewritten.
func TestCLITranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "transcripts", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata/transcripts")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			writeTranscriptInputs(t, work)
			golden.Check(t, file, replay(t, string(raw), work))
		})
	}
}

// replay runs every command of a transcript and returns the transcript with
// the outputs the binary gives now.
func replay(t *testing.T, transcript, work string) string {
	t.Helper()
	var out strings.Builder
	for _, line := range strings.SplitAfter(transcript, "\n") {
		text := strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(text, "$ "):
			out.WriteString(line)
			fields := strings.Fields(strings.TrimPrefix(text, "$ "))
			if len(fields) == 0 || fields[0] != "onnxquant" {
				t.Fatalf("transcript command %q does not run onnxquant", text)
			}
			args := fields[1:]
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "$WORK", work)
			}
			r := onnxquant(t, args...)
			writeStream(&out, "1> ", normalize(r.stdout, work))
			writeStream(&out, "2> ", normalize(r.stderr, work))
			out.WriteString("exit " + strconv.Itoa(r.code) + "\n")
		case strings.HasPrefix(text, "1>"), strings.HasPrefix(text, "2>"), strings.HasPrefix(text, "exit "), strings.HasPrefix(text, "\\ no newline"):
			// Recorded output: replaced by what the command prints now.
		default:
			out.WriteString(line)
		}
	}
	return out.String()
}

// normalize writes $WORK for the transcript's folder, and a plain space for
// the non-breaking one that google.golang.org/protobuf puts, at random per
// build, into its error messages so that nobody matches them exactly.
func normalize(s, work string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, work, "$WORK"), "\u00a0", " ")
}

// writeStream writes one output stream, a prefix before every line; a last
// line without a newline is marked as such.
func writeStream(b *strings.Builder, prefix, s string) {
	if s == "" {
		return
	}
	// The protobuf module writes a random mix of spaces and no-break
	// spaces into its error texts (per binary), so that nobody matches
	// them; a transcript reads them as spaces.
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.SplitAfter(s, "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString(strings.TrimRight(prefix+strings.TrimSuffix(l, "\n"), " ") + "\n")
		if !strings.HasSuffix(l, "\n") {
			b.WriteString("\\ no newline at end of " + strings.TrimSuffix(prefix, " ") + "\n")
		}
	}
}

// writeTranscriptInputs writes the small models transcripts refer to:
//
//	$WORK/relu.onnx        x [1,8] -> Relu -> y, opset 13, quantizable
//	$WORK/relu_calib/      4 samples for it
//	$WORK/topk.onnx        x [1,8] -> Relu -> TopK, which Ethos-U cannot run
//	$WORK/not_onnx.onnx    a text file
func writeTranscriptInputs(t *testing.T, dir string) {
	t.Helper()
	testmodel.New(13).Input("x", 1, 8).
		NamedNode("/act/Relu", "Relu", []string{"x"}, []string{"y"}).
		Output("y", 1, 8).Save(t, dir, "relu.onnx")
	testmodel.New(13).Input("x", 1, 8).InitInt64("k", []int64{1}, 3).
		NamedNode("/act/Relu", "Relu", []string{"x"}, []string{"r"}).
		NamedNode("/top/TopK", "TopK", []string{"r", "k"}, []string{"values", "indices"}).
		Output("values", 1, 3).TypedOutput("indices", onnxpb.TensorProto_INT64, 1, 3).
		Save(t, dir, "topk.onnx")
	calib := filepath.Join(dir, "relu_calib")
	if err := os.Mkdir(calib, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		x := tensor.New(tensor.WithShape(1, 8), tensor.WithBacking(testmodel.Ramp(uint64(i), 8, -2, 2)))
		if err := dataset.WriteNPY(filepath.Join(calib, fmt.Sprintf("sample_%03d.npy", i)), x); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "not_onnx.onnx"), []byte("not a model\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
