package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is wrapped by every error Read returns for bytes that are
// not a well-formed TFLite flatbuffer.
var ErrMalformed = errors.New("malformed TFLite flatbuffer")

// File is a TFLite flatbuffer as read back: the model and the file-level
// facts the writer's tests check.
type File struct {
	Model   *Model
	Version uint32
	// DataOffsets holds, per Model.buffers entry, the file offset of its
	// first data byte (-1 for a buffer without data).
	DataOffsets []int
	// TensorBuffers is the buffer index of each tensor.
	TensorBuffers []uint32
	// Codes are the operator codes in file order.
	Codes []OperatorCode
}

// OperatorCode is one entry of Model.operator_codes.
type OperatorCode struct {
	Deprecated int8
	Builtin    BuiltinOp
	Version    int32
}

// maxElements bounds vectors the reader accepts, so that a hostile length
// cannot make it allocate more than the file could hold.
const maxVectorBytes = 1 << 31

// Read decodes a TFLite flatbuffer with bounds checks on every offset; it
// never panics on malformed input. Only single-subgraph models of the
// builtin operators are decoded into Model; option tables the package does
// not know are kept as their union tag only.
func Read(data []byte) (*File, error) {
	r := reader{b: data}
	f, err := r.file()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return f, nil
}

type reader struct{ b []byte }

type table struct {
	pos, vt, vtLen, objLen int
}

func (r reader) u8(off int) (uint8, error) {
	if off < 0 || off+1 > len(r.b) {
		return 0, fmt.Errorf("offset %d out of range", off)
	}
	return r.b[off], nil
}

func (r reader) u16(off int) (int, error) {
	if off < 0 || off+2 > len(r.b) {
		return 0, fmt.Errorf("offset %d out of range", off)
	}
	return int(binary.LittleEndian.Uint16(r.b[off:])), nil
}

func (r reader) u32(off int) (uint32, error) {
	if off < 0 || off+4 > len(r.b) {
		return 0, fmt.Errorf("offset %d out of range", off)
	}
	return binary.LittleEndian.Uint32(r.b[off:]), nil
}

func (r reader) u64(off int) (uint64, error) {
	if off < 0 || off+8 > len(r.b) {
		return 0, fmt.Errorf("offset %d out of range", off)
	}
	return binary.LittleEndian.Uint64(r.b[off:]), nil
}

// indirect follows the unsigned offset stored at off.
func (r reader) indirect(off int) (int, error) {
	v, err := r.u32(off)
	if err != nil {
		return 0, err
	}
	target := off + int(v)
	if int(v) < 0 || target >= len(r.b) || target < off {
		return 0, fmt.Errorf("offset %d at %d points outside the buffer", v, off)
	}
	return target, nil
}

func (r reader) table(pos int) (table, error) {
	so, err := r.u32(pos)
	if err != nil {
		return table{}, err
	}
	vt := pos - int(int32(so))
	vtLen, err := r.u16(vt)
	if err != nil {
		return table{}, fmt.Errorf("table at %d: vtable: %v", pos, err)
	}
	objLen, err := r.u16(vt + 2)
	if err != nil {
		return table{}, err
	}
	if vtLen < 4 || vtLen%2 != 0 || vt+vtLen > len(r.b) {
		return table{}, fmt.Errorf("table at %d: bad vtable length %d", pos, vtLen)
	}
	if objLen < 4 || pos+objLen > len(r.b) {
		return table{}, fmt.Errorf("table at %d: bad object length %d", pos, objLen)
	}
	return table{pos: pos, vt: vt, vtLen: vtLen, objLen: objLen}, nil
}

// field returns the position of a field's value, 0 when absent.
func (r reader) field(t table, slot, size int) (int, error) {
	e := 4 + 2*slot
	if e+2 > t.vtLen {
		return 0, nil
	}
	o, err := r.u16(t.vt + e)
	if err != nil || o == 0 {
		return 0, err
	}
	if o+size > t.objLen {
		return 0, fmt.Errorf("table at %d: field %d (offset %d, %d bytes) outside the object of %d bytes", t.pos, slot, o, size, t.objLen)
	}
	return t.pos + o, nil
}

func (r reader) fieldU32(t table, slot int, def uint32) (uint32, error) {
	p, err := r.field(t, slot, 4)
	if err != nil || p == 0 {
		return def, err
	}
	return r.u32(p)
}

func (r reader) fieldU8(t table, slot int, def uint8) (uint8, error) {
	p, err := r.field(t, slot, 1)
	if err != nil || p == 0 {
		return def, err
	}
	return r.u8(p)
}

// fieldTable follows a table-valued field; ok is false when it is absent.
func (r reader) fieldTable(t table, slot int) (table, bool, error) {
	p, err := r.field(t, slot, 4)
	if err != nil || p == 0 {
		return table{}, false, err
	}
	target, err := r.indirect(p)
	if err != nil {
		return table{}, false, err
	}
	tt, err := r.table(target)
	return tt, err == nil, err
}

// fieldVector follows a vector-valued field and returns the position of
// its first element and its length (0, 0 when absent).
func (r reader) fieldVector(t table, slot, elemSize int) (int, int, error) {
	p, err := r.field(t, slot, 4)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	v, err := r.indirect(p)
	if err != nil {
		return 0, 0, err
	}
	n, err := r.u32(v)
	if err != nil {
		return 0, 0, err
	}
	if uint64(n)*uint64(elemSize) > maxVectorBytes || v+4+int(n)*elemSize > len(r.b) {
		return 0, 0, fmt.Errorf("vector at %d: %d elements of %d bytes run past the end", v, n, elemSize)
	}
	return v + 4, int(n), nil
}

func (r reader) fieldString(t table, slot int) (string, error) {
	start, n, err := r.fieldVector(t, slot, 1)
	if err != nil || n == 0 {
		return "", err
	}
	return string(r.b[start : start+n]), nil
}

func (r reader) fieldInt32s(t table, slot int) ([]int32, error) {
	start, n, err := r.fieldVector(t, slot, 4)
	if err != nil || start == 0 {
		return nil, err
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(r.b[start+4*i:]))
	}
	return out, nil
}

func (r reader) fieldTables(t table, slot int) ([]table, error) {
	start, n, err := r.fieldVector(t, slot, 4)
	if err != nil {
		return nil, err
	}
	out := make([]table, n)
	for i := range out {
		target, err := r.indirect(start + 4*i)
		if err != nil {
			return nil, err
		}
		if out[i], err = r.table(target); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r reader) file() (*File, error) {
	if len(r.b) < 8 {
		return nil, fmt.Errorf("%d bytes: too short", len(r.b))
	}
	if string(r.b[4:8]) != Identifier {
		return nil, fmt.Errorf("file identifier %q, want %q", r.b[4:8], Identifier)
	}
	rootPos, err := r.indirect(0)
	if err != nil {
		return nil, err
	}
	root, err := r.table(rootPos)
	if err != nil {
		return nil, err
	}
	f := &File{Model: &Model{}}
	if f.Version, err = r.fieldU32(root, 0, 0); err != nil {
		return nil, err
	}
	codeTabs, err := r.fieldTables(root, 1)
	if err != nil {
		return nil, fmt.Errorf("operator_codes: %v", err)
	}
	for _, ct := range codeTabs {
		dep, err := r.fieldU8(ct, 0, 0)
		if err != nil {
			return nil, err
		}
		ver, err := r.fieldU32(ct, 2, 1)
		if err != nil {
			return nil, err
		}
		bc, err := r.fieldU32(ct, 3, 0)
		if err != nil {
			return nil, err
		}
		code := OperatorCode{Deprecated: int8(dep), Builtin: BuiltinOp(int32(bc)), Version: int32(ver)}
		// Old writers fill only the deprecated byte.
		if int32(code.Deprecated) > int32(code.Builtin) {
			code.Builtin = BuiltinOp(code.Deprecated)
		}
		f.Codes = append(f.Codes, code)
	}
	if f.Model.Description, err = r.fieldString(root, 3); err != nil {
		return nil, err
	}
	bufTabs, err := r.fieldTables(root, 4)
	if err != nil {
		return nil, fmt.Errorf("buffers: %v", err)
	}
	bufData := make([][]byte, len(bufTabs))
	f.DataOffsets = make([]int, len(bufTabs))
	for i, bt := range bufTabs {
		start, n, err := r.fieldVector(bt, 0, 1)
		if err != nil {
			return nil, fmt.Errorf("buffer %d: %v", i, err)
		}
		f.DataOffsets[i] = -1
		if start != 0 {
			f.DataOffsets[i] = start
			bufData[i] = r.b[start : start+n]
		}
	}
	subTabs, err := r.fieldTables(root, 2)
	if err != nil {
		return nil, fmt.Errorf("subgraphs: %v", err)
	}
	if len(subTabs) != 1 {
		return nil, fmt.Errorf("%d subgraphs; the reader handles exactly one", len(subTabs))
	}
	if err := r.subgraph(subTabs[0], f, bufData); err != nil {
		return nil, err
	}
	metaTabs, err := r.fieldTables(root, 6)
	if err != nil {
		return nil, fmt.Errorf("metadata: %v", err)
	}
	for i, mt := range metaTabs {
		name, err := r.fieldString(mt, 0)
		if err != nil {
			return nil, err
		}
		bi, err := r.fieldU32(mt, 1, 0)
		if err != nil {
			return nil, err
		}
		if int(bi) >= len(bufData) {
			return nil, fmt.Errorf("metadata %d: buffer %d of %d", i, bi, len(bufData))
		}
		f.Model.Metadata = append(f.Model.Metadata, Metadata{Name: name, Data: bufData[bi]})
	}
	if err := f.Model.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

func (r reader) subgraph(sg table, f *File, bufData [][]byte) error {
	m := f.Model
	tensTabs, err := r.fieldTables(sg, 0)
	if err != nil {
		return fmt.Errorf("tensors: %v", err)
	}
	for i, tt := range tensTabs {
		t := &Tensor{}
		if t.Shape, err = r.fieldInt32s(tt, 0); err != nil {
			return fmt.Errorf("tensor %d: %v", i, err)
		}
		typ, err := r.fieldU8(tt, 1, 0)
		if err != nil {
			return err
		}
		t.Type = TensorType(int8(typ))
		bi, err := r.fieldU32(tt, 2, 0)
		if err != nil {
			return err
		}
		if int(bi) >= len(bufData) {
			return fmt.Errorf("tensor %d: buffer %d of %d", i, bi, len(bufData))
		}
		t.Data = bufData[bi]
		f.TensorBuffers = append(f.TensorBuffers, bi)
		if t.Name, err = r.fieldString(tt, 3); err != nil {
			return err
		}
		qt, ok, err := r.fieldTable(tt, 4)
		if err != nil {
			return fmt.Errorf("tensor %d quantization: %v", i, err)
		}
		if ok {
			if t.Quant, err = r.quant(qt); err != nil {
				return fmt.Errorf("tensor %d quantization: %v", i, err)
			}
		}
		m.Tensors = append(m.Tensors, t)
	}
	in, err := r.fieldInt32s(sg, 1)
	if err != nil {
		return err
	}
	out, err := r.fieldInt32s(sg, 2)
	if err != nil {
		return err
	}
	m.Inputs, m.Outputs = int32sToInts(in), int32sToInts(out)
	opTabs, err := r.fieldTables(sg, 3)
	if err != nil {
		return fmt.Errorf("operators: %v", err)
	}
	for i, ot := range opTabs {
		ci, err := r.fieldU32(ot, 0, 0)
		if err != nil {
			return err
		}
		if int(ci) >= len(f.Codes) {
			return fmt.Errorf("operator %d: opcode index %d of %d", i, ci, len(f.Codes))
		}
		op := &Operator{Op: f.Codes[ci].Builtin, Version: f.Codes[ci].Version}
		ins, err := r.fieldInt32s(ot, 1)
		if err != nil {
			return err
		}
		outs, err := r.fieldInt32s(ot, 2)
		if err != nil {
			return err
		}
		op.Inputs, op.Outputs = int32sToInts(ins), int32sToInts(outs)
		tag, err := r.fieldU8(ot, 3, 0)
		if err != nil {
			return err
		}
		if tag != 0 {
			if op.Options, err = r.options(ot, OptionsType(tag)); err != nil {
				return fmt.Errorf("operator %d options: %v", i, err)
			}
		}
		m.Operators = append(m.Operators, op)
	}
	return nil
}

func (r reader) quant(qt table) (*Quant, error) {
	q := &Quant{}
	start, n, err := r.fieldVector(qt, 2, 4)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		q.Scale = append(q.Scale, math.Float32frombits(binary.LittleEndian.Uint32(r.b[start+4*i:])))
	}
	start, n, err = r.fieldVector(qt, 3, 8)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		q.ZeroPoint = append(q.ZeroPoint, int64(binary.LittleEndian.Uint64(r.b[start+8*i:])))
	}
	axis, err := r.fieldU32(qt, 6, 0)
	if err != nil {
		return nil, err
	}
	q.Axis = int32(axis)
	if len(q.Scale) == 0 && len(q.ZeroPoint) == 0 {
		return nil, nil // an empty table is "not quantized"
	}
	return q, nil
}

func (r reader) options(ot table, tag OptionsType) (*Options, error) {
	o := &Options{Type: tag, Ints: map[int]int64{}, Floats: map[int]float32{}, Vectors: map[int][]int32{}}
	fields, known := optionTables[tag]
	if !known {
		return o, nil
	}
	t, ok, err := r.fieldTable(ot, 4)
	if err != nil || !ok {
		return o, err
	}
	for slot, f := range fields {
		switch f.kind {
		case kByte:
			p, err := r.field(t, slot, 1)
			if err != nil {
				return nil, err
			}
			if p != 0 {
				o.Ints[slot] = int64(int8(r.b[p]))
			}
		case kInt32, kFloat32:
			p, err := r.field(t, slot, 4)
			if err != nil {
				return nil, err
			}
			if p != 0 {
				v := binary.LittleEndian.Uint32(r.b[p:])
				if f.kind == kInt32 {
					o.Ints[slot] = int64(int32(v))
				} else {
					o.Floats[slot] = math.Float32frombits(v)
				}
			}
		case kInt32Vector:
			v, err := r.fieldInt32s(t, slot)
			if err != nil {
				return nil, err
			}
			if v != nil {
				o.Vectors[slot] = v
			}
		}
	}
	return o, nil
}

func int32sToInts(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
