package tflite

import (
	"errors"
	"reflect"
	"testing"
)

// handModel is a model built directly, with an operator code above 127
// (only in builtin_code) and every option field kind.
func handModel() *Model {
	q := &Quant{Scale: []float32{0.5}, ZeroPoint: []int64{-3}}
	return &Model{
		Description: "hand",
		Tensors: []*Tensor{
			{Name: "in", Type: Int8, Shape: []int32{1, 2, 2, 3}, Quant: q},
			{Name: "w", Type: Int8, Shape: []int32{2, 1, 1, 3}, Data: []byte{1, 2, 3, 4, 5, 6},
				Quant: &Quant{Scale: []float32{0.1, 0.2}, ZeroPoint: []int64{0, 0}}},
			{Name: "b", Type: Int64, Shape: []int32{2}, Data: encode(Int64, []int64{1 << 40, -7})},
			{Name: "mid", Type: Int8, Shape: []int32{1, 2, 2, 2}, Quant: q},
			{Name: "shape", Type: Int32, Shape: []int32{2}, Data: encode(Int32, []int64{1, 8})},
			{Name: "out", Type: Int8, Shape: []int32{1, 8}, Quant: q},
			{Name: "act", Type: Int8, Shape: []int32{1, 8}, Quant: q},
		},
		Operators: []*Operator{
			{Op: OpConv2D, Version: 3, Inputs: []int{0, 1, 2}, Outputs: []int{3}, Options: newOptions(OptConv2D, int64(PaddingValid), 1, 1, int64(ActRelu6), 1, 1)},
			{Op: OpReshape, Version: 1, Inputs: []int{3, 4}, Outputs: []int{5}, Options: &Options{Type: OptReshape, Vectors: map[int][]int32{0: {1, 8}}}},
			{Op: OpRelu0To1, Version: 1, Inputs: []int{5}, Outputs: []int{6}},
			{Op: OpLeakyRelu, Version: 2, Inputs: []int{6}, Outputs: []int{6}, Options: &Options{Type: OptLeakyRelu, Floats: map[int]float32{0: 0.2}}},
		},
		Inputs:   []int{0},
		Outputs:  []int{6},
		Metadata: []Metadata{{Name: "note", Data: []byte("hello")}},
	}
}

func TestMarshalReadRoundTrip(t *testing.T) {
	m := handModel()
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(data[4:8]) != Identifier {
		t.Fatalf("identifier %q", data[4:8])
	}
	f, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != SchemaVersion {
		t.Errorf("version %d", f.Version)
	}
	for i, off := range f.DataOffsets {
		if i == 0 && off != -1 {
			t.Errorf("buffer 0 holds data at %d; it must be the empty buffer", off)
		}
		if off >= 0 && off%bufferAlign != 0 {
			t.Errorf("buffer %d data at %d, not %d-byte aligned", i, off, bufferAlign)
		}
	}
	for _, c := range f.Codes {
		wantDep := int8(c.Builtin)
		if c.Builtin >= placeholderForGreaterOpCodes {
			wantDep = placeholderForGreaterOpCodes
		}
		if c.Deprecated != wantDep {
			t.Errorf("%s: deprecated_builtin_code %d, want %d", c.Builtin, c.Deprecated, wantDep)
		}
	}
	got := f.Model
	if got.Description != m.Description || !reflect.DeepEqual(got.Inputs, m.Inputs) || !reflect.DeepEqual(got.Outputs, m.Outputs) {
		t.Errorf("header: %q %v %v", got.Description, got.Inputs, got.Outputs)
	}
	if !reflect.DeepEqual(got.Metadata, m.Metadata) {
		t.Errorf("metadata %+v", got.Metadata)
	}
	for i, tt := range m.Tensors {
		g := got.Tensors[i]
		if g.Name != tt.Name || g.Type != tt.Type || !reflect.DeepEqual(g.Shape, tt.Shape) || string(g.Data) != string(tt.Data) || !reflect.DeepEqual(g.Quant, tt.Quant) {
			t.Errorf("tensor %d: got %+v %+v, want %+v %+v", i, g, g.Quant, tt, tt.Quant)
		}
	}
	for i, op := range m.Operators {
		g := got.Operators[i]
		if g.Op != op.Op || g.Version != op.Version || !reflect.DeepEqual(g.Inputs, op.Inputs) || !reflect.DeepEqual(g.Outputs, op.Outputs) {
			t.Errorf("operator %d: %+v", i, g)
		}
		if op.Options == nil {
			continue
		}
		for slot, v := range op.Options.Ints {
			if g.Options.Int(slot) != v {
				t.Errorf("operator %d option slot %d = %d, want %d", i, slot, g.Options.Int(slot), v)
			}
		}
		for slot, v := range op.Options.Floats {
			if g.Options.Float(slot) != v {
				t.Errorf("operator %d float slot %d = %g, want %g", i, slot, g.Options.Float(slot), v)
			}
		}
		for slot, v := range op.Options.Vectors {
			if !reflect.DeepEqual(g.Options.Vector(slot), v) {
				t.Errorf("operator %d vector slot %d = %v", i, slot, g.Options.Vector(slot))
			}
		}
	}
}

func TestMarshalRefusesInconsistentModels(t *testing.T) {
	for name, edit := range map[string]func(m *Model){
		"index":     func(m *Model) { m.Operators[0].Inputs[0] = 99 },
		"data size": func(m *Model) { m.Tensors[1].Data = m.Tensors[1].Data[:5] },
		"per-axis":  func(m *Model) { m.Tensors[1].Quant.Axis = 3 },
		"output":    func(m *Model) { m.Outputs = []int{-1} },
	} {
		m := handModel()
		edit(m)
		if _, err := Marshal(m); err == nil {
			t.Errorf("%s: Marshal accepted an inconsistent model", name)
		}
	}
}

func TestReadRejectsMalformed(t *testing.T) {
	data, err := Marshal(handModel())
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":      nil,
		"identifier": append([]byte{}, data[:4]...),
		"truncated":  data[:len(data)/2],
	}
	bad := append([]byte{}, data...)
	copy(bad[4:8], "XXXX")
	cases["wrong identifier"] = bad
	root := append([]byte{}, data...)
	root[0], root[1], root[2], root[3] = 0xff, 0xff, 0xff, 0x7f
	cases["root offset"] = root
	for name, b := range cases {
		if _, err := Read(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	// Every single-byte corruption must be refused or read, never panic.
	for i := 0; i < len(data); i += 7 {
		b := append([]byte{}, data...)
		b[i] ^= 0xa5
		Read(b)
	}
}

func FuzzRead(f *testing.F) {
	data, err := Marshal(handModel())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:64])
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Read(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		// What reads back must write again.
		if _, err := Marshal(file.Model); err != nil {
			t.Fatalf("read a model Marshal refuses: %v", err)
		}
	})
}
