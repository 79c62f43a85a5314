package tests

import (
	"archive/zip"
	"bytes"
	bin "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// npyBytes is a version 1.0 .npy file with the given header dict and
// payload.
func npyBytes(header string, payload []byte) []byte {
	header += strings.Repeat(" ", 63-(10+len(header))%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	bin.Write(&b, bin.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(payload)
	return b.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostileSamplesFailCleanly: sample files whose headers ask for more
// memory than they hold, zip bombs, ambiguous archives and headers numpy
// would read differently are errors naming the file, before allocation.
func TestHostileSamplesFailCleanly(t *testing.T) {
	dir := t.TempDir()
	model, _ := tinynetIn(t, dir)
	img := make([]byte, 4*3*32*32)
	good := `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }`

	npzOf := func(name string, members map[string][]byte, order []string) string {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, m := range order {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: m, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(members[m])
		}
		zw.Close()
		return writeFile(t, filepath.Join(dir, name), b.Bytes())
	}
	// Bombs: members whose declarations promise gigabytes from a few
	// bytes of deflate data (written raw, so the test stays fast). The
	// reader must refuse them from the declarations alone.
	bombOf := func(name string, compressed, declared uint64) string {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "input.npy", Method: zip.Deflate,
			CompressedSize64: compressed, UncompressedSize64: declared})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, compressed))
		zw.Close()
		return writeFile(t, filepath.Join(dir, name), b.Bytes())
	}
	bomb := bombOf("bomb.npz", 1<<10, 3<<30)
	ratioBomb := bombOf("ratio.npz", 1<<10, 1<<30)
	cases := []struct {
		name, file string
		want       []string
	}{
		{"npy claims 10^12 elements", writeFile(t, filepath.Join(dir, "huge.npy"),
			npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }`, nil)),
			[]string{"huge.npy", "[1000000 1000000] does not match the model's [1 3 32 32]"}},
		{"npy shape product overflows", writeFile(t, filepath.Join(dir, "overflow.npy"),
			npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 1), }`, nil)),
			[]string{"overflow.npy", "[4294967296 4294967296 1] does not match the model's"}},
		{"npy shape wraps to a small product", writeFile(t, filepath.Join(dir, "wraps.npy"),
			npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296, 4294967296, 1, 3, 32, 32), }`, img)),
			[]string{"wraps.npy", "[4294967296 4294967296 4294967296 4294967296 1 3 32 32] does not match the model's"}},
		{"npy data shorter than its header says", writeFile(t, filepath.Join(dir, "short.npy"),
			npyBytes(good, img[:100])), []string{"short.npy", "only 100 bytes"}},
		{"npy header repeats a key", writeFile(t, filepath.Join(dir, "dupkey.npy"),
			npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), 'shape': (3072,), }`, img)),
			[]string{"dupkey.npy", `"shape" 2 times`}},
		{"npz member over the budget", bomb, []string{"bomb.npz", "input", "--max-tensor-bytes"}},
		{"npz member inflating beyond deflate", ratioBomb, []string{"ratio.npz", "input", "zip bomb"}},
		{"npz two members for one array", npzOf("ambiguous.npz", map[string][]byte{
			"a/input.npy": npyBytes(good, img), "b/input.npy": npyBytes(good, img)}, []string{"a/input.npy", "b/input.npy"}),
			[]string{"ambiguous.npz", "a/input.npy", "b/input.npy"}},
		{"npz duplicated member", npzOf("dup.npz", map[string][]byte{"input.npy": npyBytes(good, img)}, []string{"input.npy", "input.npy"}),
			[]string{"dup.npz", "input.npy"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "q.onnx")
			failsSafely(t, dir, 1, c.want, "quantize", model, "--calib", c.file, "-o", out)
			failsSafely(t, dir, 1, c.want, "run", model, "--input", c.file, "-o", filepath.Join(dir, "outs"))
		})
	}

	// A float16 input_N.pb is refused with the .npy message.
	pbDir := filepath.Join(t.TempDir(), "test_data_set_0")
	os.Mkdir(pbDir, 0o755)
	tp := &onnxpb.TensorProto{Name: proto.String("input"), Dims: []int64{1, 3, 32, 32},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT16)), RawData: make([]byte, 2*3*32*32)}
	b, _ := proto.Marshal(tp)
	writeFile(t, filepath.Join(pbDir, "input_0.pb"), b)
	f16npy := writeFile(t, filepath.Join(dir, "half.npy"), npyBytes(`{'descr': '<f2', 'fortran_order': False, 'shape': (1, 3, 32, 32), }`, make([]byte, 2*3*32*32)))
	r1 := failsSafely(t, dir, 1, []string{"input_0.pb", "float16"}, "quantize", model, "--calib", pbDir, "-o", filepath.Join(dir, "q.onnx"))
	r2 := failsSafely(t, dir, 1, []string{"half.npy", "float16"}, "quantize", model, "--calib", f16npy, "-o", filepath.Join(dir, "q.onnx"))
	const msg = "float16 arrays are not supported"
	if !strings.Contains(r1.stderr, msg) || !strings.Contains(r2.stderr, msg) {
		t.Errorf("float16 .pb and .npy get different messages:\n%s\n%s", r1.stderr, r2.stderr)
	}
}

// TestSpecialFilesAreRefused: a model, config, manifest, sample or
// external data file that is a FIFO or a device is refused at once (not
// read until memory runs out, not waited on forever).
func TestSpecialFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	model, calib := tinynetIn(t, dir)
	fifo := filepath.Join(dir, "pipe.onnx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	out := filepath.Join(dir, "q.onnx")
	failsSafely(t, dir, 1, []string{fifo, "not a regular file"}, "inspect", fifo)
	failsSafely(t, dir, 1, []string{fifo, "not a regular file"}, "quantize", fifo, "--calib", calib, "-o", out)
	failsSafely(t, dir, 1, []string{"/dev/zero", "not a regular file"}, "check", "/dev/zero")
	failsSafely(t, dir, 1, []string{"/dev/zero", "not a regular file"}, "quantize", model, "--calib", calib, "-o", out, "--config", "/dev/zero")
	failsSafely(t, dir, 1, []string{"/dev/zero", "not a regular file"}, "batch", "/dev/zero")
	zeroNpy := filepath.Join(dir, "zero.npy")
	if err := os.Symlink("/dev/zero", zeroNpy); err != nil {
		t.Fatal(err)
	}
	failsSafely(t, dir, 1, []string{"zero.npy", "not a regular file"}, "quantize", model, "--calib", zeroNpy, "-o", out)

	// External data that is a FIFO.
	ext := t.TempDir()
	m := externalTinynet(t, ext)
	os.Remove(m + ".data")
	if err := syscall.Mkfifo(m+".data", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"quantize", m, "--calib", calib, "-o", filepath.Join(ext, "q.onnx")},
		{"run", m, "--input", filepath.Join(calib, "sample_000.npy"), "-o", filepath.Join(ext, "outs")},
		{"convert", m, "-o", filepath.Join(t.TempDir(), "c.onnx")},
	} {
		failsSafely(t, ext, 1, []string{"tinynet.onnx.data", "not a regular file"}, args...)
	}
	// check reads no weights: it must not block on the FIFO either.
	if r := runBounded(t, "check", m); crashed(r.stderr) || r.code != 1 {
		t.Errorf("check: exit %d: %s", r.code, r.stderr)
	}
}

// TestExternalDataIsReadOnlyWhereReferenced: a tensor whose external data
// has no length is checked against its declared size before anything is
// read (not read to the end of a huge sparse file), and convert copies
// only the referenced ranges of a data file.
func TestExternalDataIsReadOnlyWhereReferenced(t *testing.T) {
	dir := t.TempDir()
	_, calib := tinynetIn(t, t.TempDir())
	m := externalTinynet(t, dir)
	data := m + ".data"
	// Grow the data file to 16 GiB without using disk (sparse).
	if err := os.Truncate(data, 16<<30); err != nil {
		t.Skip("no sparse files here:", err)
	}
	out := filepath.Join(t.TempDir(), "converted.onnx")
	r := runBounded(t, "convert", m, "-o", out)
	if r.code != 0 {
		t.Fatalf("convert: exit %d: %s", r.code, r.stderr)
	}
	info, err := os.Stat(out + ".data")
	if err != nil {
		info, err = os.Stat(filepath.Join(filepath.Dir(out), "tinynet.onnx.data"))
	}
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 1<<20 {
		t.Errorf("convert copied %d bytes of external data for a model whose weights are a few KB", info.Size())
	}
	if r := runBounded(t, "check", out); crashed(r.stderr) {
		t.Errorf("converted model: %s", r.stderr)
	}

	// Drop the length of one reference: the rest of the file is 16 GiB.
	pm, err := onnxio.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, init := range pm.Proto.Graph.Initializer {
		if onnxio.IsExternal(init) && name == "" {
			name = init.GetName()
			var kept []*onnxpb.StringStringEntryProto
			for _, kv := range init.ExternalData {
				if kv.GetKey() != "length" {
					kept = append(kept, kv)
				}
			}
			init.ExternalData = kept
		}
	}
	b, err := proto.Marshal(pm.Proto)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, b)
	failsSafely(t, dir, 1, []string{"tinynet.onnx.data", "no length given"}, "quantize", m, "--calib", calib, "-o", filepath.Join(dir, "q.onnx"))
	_ = fmt.Sprint(name)
}
