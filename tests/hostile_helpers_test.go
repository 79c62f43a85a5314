package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// addressSpaceKiB is the virtual memory limit (4 GiB) hostile-input runs
// get: a bomb that gets past the size checks dies with "out of memory"
// instead of taking the machine down, and the test sees the crash.
const addressSpaceKiB = 4 << 20

// runBounded runs the binary from the repository root under a 4 GiB
// address-space limit and a two-minute wall clock.
func runBounded(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	shell := append([]string{"-c", `ulimit -v ` + itoa(addressSpaceKiB) + ` && exec "$0" "$@"`, binary}, args...)
	cmd := exec.CommandContext(ctx, "bash", shell...)
	cmd.Dir = repo()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("onnxquant %s: still running after 2 minutes (hang)", strings.Join(args, " "))
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running onnxquant: %v", err)
	}
	return r
}

func itoa(n int) string {
	var b []byte
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}

// tree is the content of a folder: file path to a hash of its bytes (or
// to its link target for a symlink).
type tree map[string]string

func snapshot(t *testing.T, dir string) tree {
	t.Helper()
	tr := tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			tr[p] = "-> " + target
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			// Huge (sparse) files are compared by size and time, not read.
			if info.Size() > 64<<20 {
				tr[p] = fmt.Sprintf("%d bytes, modified %v", info.Size(), info.ModTime())
				break
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tr[p] = hashOf(b)
		case d.IsDir():
			tr[p+"/"] = "dir"
		default:
			tr[p] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return string(s[:])
}

// unchanged checks that dir holds exactly what before recorded: every
// input byte-identical, nothing written, no temporary left.
func (before tree) unchanged(t *testing.T, dir string) {
	t.Helper()
	after := snapshot(t, dir)
	for p, h := range after {
		old, ok := before[p]
		switch {
		case !ok:
			t.Errorf("%s was written by a failed command", p)
		case old != h:
			t.Errorf("%s was modified", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		}
	}
}

// failsSafely runs a command on hostile input inside dir and checks that it
// fails with the exit code, without a Go crash, naming every wanted
// fragment, and that dir is unchanged.
func failsSafely(t *testing.T, dir string, code int, want []string, args ...string) result {
	t.Helper()
	before := snapshot(t, dir)
	r := runBounded(t, args...)
	if r.code != code {
		t.Errorf("onnxquant %s: exit %d, want %d; stderr:\n%s", strings.Join(args, " "), r.code, code, r.stderr)
	}
	if crashed(r.stderr) {
		t.Errorf("onnxquant %s crashed:\n%.3000s", strings.Join(args, " "), r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("onnxquant %s: stderr lacks %q:\n%.2000s", strings.Join(args, " "), w, r.stderr)
		}
	}
	before.unchanged(t, dir)
	return r
}

// attr helpers for hostile models.
func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func tensorAttr(name string, tp *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: tp}
}

// withAttrs sets the attributes of the last node added.
func (b *graphBuilder) withAttrs(attrs ...*onnxpb.AttributeProto) *graphBuilder {
	n := b.g.Node[len(b.g.Node)-1]
	n.Attribute = append(n.Attribute, attrs...)
	return b
}

func (b *graphBuilder) scalarFloat(name string, v float32) *graphBuilder {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{v}})
	return b
}

func (b *graphBuilder) floatTensor(name string, dims []int64, vals []float32) *graphBuilder {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: vals})
	return b
}

// crashed reports whether stderr shows a Go crash rather than an error.
func crashed(stderr string) bool {
	for _, crash := range []string{"panic:", "goroutine ", "fatal error:", "out of memory"} {
		if strings.Contains(stderr, crash) {
			return true
		}
	}
	return false
}
