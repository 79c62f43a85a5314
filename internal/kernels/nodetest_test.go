package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"
)

// nodeCase is one ONNX node test: the node's inputs in node order (nil for an
// omitted optional input), its attributes and the expected outputs.
type nodeCase struct {
	name  string
	in    []*tensor.Dense
	want  []*tensor.Dense
	attrs map[string]*onnxpb.AttributeProto
}

func loadNodeCase(t *testing.T, name string) nodeCase {
	t.Helper()
	dir := filepath.Join(testenv.Corpus(t), "onnx-node", name)
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	node := g.GetNode()[0]
	byName := map[string]*tensor.Dense{}
	for i, vi := range g.GetInput() {
		byName[vi.GetName()] = loadPB(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
	}
	c := nodeCase{name: name}
	for _, n := range node.GetInput() {
		c.in = append(c.in, byName[n])
	}
	for i := range g.GetOutput() {
		c.want = append(c.want, loadPB(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i))))
	}
	c.attrs = map[string]*onnxpb.AttributeProto{}
	for _, a := range node.GetAttribute() {
		c.attrs[a.GetName()] = a
	}
	return c
}

func loadPB(t *testing.T, path string) *tensor.Dense {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		t.Fatal(err)
	}
	d, err := fromProto(&tp)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func fromProto(tp *onnxpb.TensorProto) (*tensor.Dense, error) {
	var sh []int
	for _, d := range tp.GetDims() {
		sh = append(sh, int(d))
	}
	n := prod(sh)
	if n == 0 {
		return nil, nil // an empty tensor (e.g. "no axes") reads as absent
	}
	rd := tp.GetRawData()
	i32 := tp.GetInt32Data()
	var data any
	switch tp.GetDataType() {
	case 1:
		v := tp.GetFloatData()
		if rd != nil {
			v = make([]float32, n)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rd[4*i:]))
			}
		}
		data = v
	case 11:
		v := tp.GetDoubleData()
		if rd != nil {
			v = make([]float64, n)
			for i := range v {
				v[i] = math.Float64frombits(binary.LittleEndian.Uint64(rd[8*i:]))
			}
		}
		data = v
	case 7:
		v := tp.GetInt64Data()
		if rd != nil {
			v = make([]int64, n)
			for i := range v {
				v[i] = int64(binary.LittleEndian.Uint64(rd[8*i:]))
			}
		}
		data = v
	case 6:
		v := i32
		if rd != nil {
			v = make([]int32, n)
			for i := range v {
				v[i] = int32(binary.LittleEndian.Uint32(rd[4*i:]))
			}
		}
		data = v
	case 5:
		v := make([]int16, n)
		for i := range v {
			if rd != nil {
				v[i] = int16(binary.LittleEndian.Uint16(rd[2*i:]))
			} else {
				v[i] = int16(i32[i])
			}
		}
		data = v
	case 4:
		v := make([]uint16, n)
		for i := range v {
			if rd != nil {
				v[i] = binary.LittleEndian.Uint16(rd[2*i:])
			} else {
				v[i] = uint16(i32[i])
			}
		}
		data = v
	case 3:
		v := make([]int8, n)
		for i := range v {
			if rd != nil {
				v[i] = int8(rd[i])
			} else {
				v[i] = int8(i32[i])
			}
		}
		data = v
	case 2:
		v := make([]uint8, n)
		for i := range v {
			if rd != nil {
				v[i] = rd[i]
			} else {
				v[i] = uint8(i32[i])
			}
		}
		data = v
	case 9:
		v := make([]bool, n)
		for i := range v {
			if rd != nil {
				v[i] = rd[i] != 0
			} else {
				v[i] = i32[i] != 0
			}
		}
		data = v
	default:
		return nil, fmt.Errorf("data type %d not handled", tp.GetDataType())
	}
	return New(sh, data)
}

// checkClose compares got with want: same shape and dtype, floats within
// atol + rtol*|want| (the ONNX backend test tolerance), others exactly.
func checkClose(t *testing.T, label string, got, want *tensor.Dense) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil output", label)
		return
	}
	if !equalInts(Dims(got), Dims(want)) {
		t.Errorf("%s: shape %v, want %v", label, Dims(got), Dims(want))
		return
	}
	if got.Dtype() != want.Dtype() {
		t.Errorf("%s: dtype %v, want %v", label, got.Dtype(), want.Dtype())
		return
	}
	switch w := Flat(want).(type) {
	case []float32:
		g := Flat(got).([]float32)
		bad := 0
		for i := range w {
			d := math.Abs(float64(g[i]) - float64(w[i]))
			if !(d <= 1e-5+1e-3*math.Abs(float64(w[i]))) && !(math.IsNaN(float64(g[i])) && math.IsNaN(float64(w[i]))) {
				if bad < 3 {
					t.Errorf("%s: element %d = %v, want %v", label, i, g[i], w[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d elements differ", label, bad, len(w))
		}
	default:
		gs, ws := fmt.Sprint(Flat(got)), fmt.Sprint(w)
		if gs != ws {
			t.Errorf("%s: got %.300s, want %.300s", label, gs, ws)
		}
	}
}

func attrI(c nodeCase, name string, def int) int {
	if a, ok := c.attrs[name]; ok {
		return int(a.GetI())
	}
	return def
}

func attrF(c nodeCase, name string, def float32) float32 {
	if a, ok := c.attrs[name]; ok {
		return a.GetF()
	}
	return def
}

func attrS(c nodeCase, name, def string) string {
	if a, ok := c.attrs[name]; ok {
		return string(a.GetS())
	}
	return def
}

func attrInts(c nodeCase, name string) []int {
	a, ok := c.attrs[name]
	if !ok {
		return nil
	}
	r := []int{}
	for _, v := range a.GetInts() {
		r = append(r, int(v))
	}
	return r
}

func inAt(c nodeCase, i int) *tensor.Dense {
	if i < len(c.in) {
		return c.in[i]
	}
	return nil
}

func window(c nodeCase) Window {
	return Window{Kernel: attrInts(c, "kernel_shape"), Strides: attrInts(c, "strides"), Dilations: attrInts(c, "dilations"),
		Pads: attrInts(c, "pads"), AutoPad: attrS(c, "auto_pad", "")}
}

func one(d *tensor.Dense, err error) ([]*tensor.Dense, error) { return []*tensor.Dense{d}, err }

// runNodeTests runs each named node test through fn and compares every output.
func runNodeTests(t *testing.T, names []string, fn func(c nodeCase) ([]*tensor.Dense, error)) {
	t.Helper()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c := loadNodeCase(t, name)
			got, err := fn(c)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range c.want {
				if i < len(got) {
					checkClose(t, fmt.Sprintf("output %d", i), got[i], w)
				}
			}
		})
	}
}
