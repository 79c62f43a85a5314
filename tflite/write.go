package tflite

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// bufferAlign is the alignment of constant data in the file: TFLite's
// schema asks for 16 (force_align), which the Go runtime does not apply by
// itself.
const bufferAlign = 16

// Marshal encodes m as a TFLite flatbuffer. It checks that every index is
// in range and every constant's size matches its shape first.
func Marshal(m *Model) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b := flatbuffers.NewBuilder(1 << 16)

	// Buffers: 0 is the empty buffer, then one per constant tensor, then
	// one per metadata blob.
	tensorBuffer := make([]uint32, len(m.Tensors))
	var blobs [][]byte
	blobs = append(blobs, nil)
	for i, t := range m.Tensors {
		if t.Data != nil {
			tensorBuffer[i] = uint32(len(blobs))
			blobs = append(blobs, t.Data)
		}
	}
	metaBuffer := make([]uint32, len(m.Metadata))
	for i, md := range m.Metadata {
		metaBuffer[i] = uint32(len(blobs))
		blobs = append(blobs, md.Data)
	}
	// Constant data goes first (it is written last-to-first at the back of
	// the file) so that it is aligned once and not re-padded around tables.
	bufOffs := make([]flatbuffers.UOffsetT, len(blobs))
	for i := len(blobs) - 1; i >= 0; i-- {
		var data flatbuffers.UOffsetT
		if blobs[i] != nil {
			data = alignedBytes(b, blobs[i])
		}
		b.StartObject(3)
		if blobs[i] != nil {
			b.PrependUOffsetTSlot(0, data, 0)
		}
		bufOffs[i] = b.EndObject()
	}

	// Operator codes, one per (op, version).
	type codeKey struct {
		op      BuiltinOp
		version int32
	}
	codeIndex := map[codeKey]int{}
	var codes []codeKey
	opCode := make([]int, len(m.Operators))
	for i, op := range m.Operators {
		k := codeKey{op.Op, op.Version}
		if k.version == 0 {
			k.version = 1
		}
		idx, ok := codeIndex[k]
		if !ok {
			idx = len(codes)
			codeIndex[k] = idx
			codes = append(codes, k)
		}
		opCode[i] = idx
	}
	codeOffs := make([]flatbuffers.UOffsetT, len(codes))
	for i, k := range codes {
		b.StartObject(4)
		b.PrependInt32Slot(3, int32(k.op), 0)
		b.PrependInt32Slot(2, k.version, 1)
		dep := int8(placeholderForGreaterOpCodes)
		if k.op < placeholderForGreaterOpCodes {
			dep = int8(k.op)
		}
		b.PrependInt8Slot(0, dep, 0)
		codeOffs[i] = b.EndObject()
	}

	tensorOffs := make([]flatbuffers.UOffsetT, len(m.Tensors))
	for i, t := range m.Tensors {
		tensorOffs[i] = writeTensor(b, t, tensorBuffer[i])
	}
	opOffs := make([]flatbuffers.UOffsetT, len(m.Operators))
	for i, op := range m.Operators {
		opOffs[i] = writeOperator(b, op, opCode[i])
	}

	tensors := offsetVector(b, tensorOffs)
	inputs := int32Vector(b, intsToInt32(m.Inputs))
	outputs := int32Vector(b, intsToInt32(m.Outputs))
	ops := offsetVector(b, opOffs)
	name := b.CreateString("main")
	b.StartObject(6)
	b.PrependUOffsetTSlot(4, name, 0)
	b.PrependUOffsetTSlot(3, ops, 0)
	b.PrependUOffsetTSlot(2, outputs, 0)
	b.PrependUOffsetTSlot(1, inputs, 0)
	b.PrependUOffsetTSlot(0, tensors, 0)
	subgraph := b.EndObject()

	metaOffs := make([]flatbuffers.UOffsetT, len(m.Metadata))
	for i, md := range m.Metadata {
		n := b.CreateString(md.Name)
		b.StartObject(2)
		b.PrependUint32Slot(1, metaBuffer[i], 0)
		b.PrependUOffsetTSlot(0, n, 0)
		metaOffs[i] = b.EndObject()
	}
	metadata := offsetVector(b, metaOffs)
	buffers := offsetVector(b, bufOffs)
	subgraphs := offsetVector(b, []flatbuffers.UOffsetT{subgraph})
	opcodes := offsetVector(b, codeOffs)
	desc := b.CreateString(m.Description)
	b.StartObject(7)
	b.PrependUOffsetTSlot(6, metadata, 0)
	b.PrependUOffsetTSlot(4, buffers, 0)
	b.PrependUOffsetTSlot(3, desc, 0)
	b.PrependUOffsetTSlot(2, subgraphs, 0)
	b.PrependUOffsetTSlot(1, opcodes, 0)
	b.PrependUint32Slot(0, SchemaVersion, 0)
	root := b.EndObject()
	b.FinishWithFileIdentifier(root, []byte(Identifier))
	return b.FinishedBytes(), nil
}

// alignedBytes writes a byte vector whose first element lands on a
// bufferAlign boundary of the finished file.
func alignedBytes(b *flatbuffers.Builder, data []byte) flatbuffers.UOffsetT {
	b.StartVector(1, len(data), bufferAlign)
	b.Head()
	for i := len(data) - 1; i >= 0; i-- {
		b.PlaceByte(data[i])
	}
	return b.EndVector(len(data))
}

func writeTensor(b *flatbuffers.Builder, t *Tensor, buffer uint32) flatbuffers.UOffsetT {
	shape := int32Vector(b, t.Shape)
	name := b.CreateString(t.Name)
	var quant flatbuffers.UOffsetT
	if t.Quant != nil {
		scale := float32Vector(b, t.Quant.Scale)
		zp := int64Vector(b, t.Quant.ZeroPoint)
		b.StartObject(7)
		b.PrependInt32Slot(6, t.Quant.Axis, 0)
		b.PrependUOffsetTSlot(3, zp, 0)
		b.PrependUOffsetTSlot(2, scale, 0)
		quant = b.EndObject()
	}
	b.StartObject(9)
	b.PrependBoolSlot(8, true, false) // has_rank
	if quant != 0 {
		b.PrependUOffsetTSlot(4, quant, 0)
	}
	b.PrependUOffsetTSlot(3, name, 0)
	b.PrependUint32Slot(2, buffer, 0)
	b.PrependInt8Slot(1, int8(t.Type), 0)
	b.PrependUOffsetTSlot(0, shape, 0)
	return b.EndObject()
}

func writeOperator(b *flatbuffers.Builder, op *Operator, code int) flatbuffers.UOffsetT {
	inputs := int32Vector(b, intsToInt32(op.Inputs))
	outputs := int32Vector(b, intsToInt32(op.Outputs))
	var opts flatbuffers.UOffsetT
	var optType OptionsType
	if op.Options != nil && op.Options.Type != OptNone {
		optType = op.Options.Type
		opts = writeOptions(b, op.Options)
	}
	// The union builtin_options takes two slots: its tag (3) and its table (4).
	b.StartObject(5)
	if opts != 0 {
		b.PrependUOffsetTSlot(4, opts, 0)
		b.PrependUint8Slot(3, uint8(optType), 0)
	}
	b.PrependUOffsetTSlot(2, outputs, 0)
	b.PrependUOffsetTSlot(1, inputs, 0)
	b.PrependUint32Slot(0, uint32(code), 0)
	return b.EndObject()
}

func writeOptions(b *flatbuffers.Builder, o *Options) flatbuffers.UOffsetT {
	fields := optionTables[o.Type]
	vecs := map[int]flatbuffers.UOffsetT{}
	for slot, f := range fields {
		if f.kind == kInt32Vector && o.Vectors[slot] != nil {
			vecs[slot] = int32Vector(b, o.Vectors[slot])
		}
	}
	b.StartObject(len(fields))
	for slot := len(fields) - 1; slot >= 0; slot-- {
		f := fields[slot]
		switch f.kind {
		case kByte:
			if v, ok := o.Ints[slot]; ok {
				b.PrependByteSlot(slot, byte(v), byte(f.def))
			}
		case kInt32:
			if v, ok := o.Ints[slot]; ok {
				b.PrependInt32Slot(slot, int32(v), int32(f.def))
			}
		case kFloat32:
			if v, ok := o.Floats[slot]; ok {
				b.PrependFloat32Slot(slot, v, 0)
			}
		case kInt32Vector:
			if off, ok := vecs[slot]; ok {
				b.PrependUOffsetTSlot(slot, off, 0)
			}
		}
	}
	return b.EndObject()
}

func offsetVector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

func int32Vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func int64Vector(b *flatbuffers.Builder, v []int64) flatbuffers.UOffsetT {
	b.StartVector(8, len(v), 8)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt64(v[i])
	}
	return b.EndVector(len(v))
}

func float32Vector(b *flatbuffers.Builder, v []float32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependFloat32(v[i])
	}
	return b.EndVector(len(v))
}

func intsToInt32(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

// Validate checks the model's internal consistency: tensor indices in
// range, constant sizes matching shapes and types, quantization vectors of
// equal length matching the quantized axis.
func (m *Model) Validate() error {
	n := len(m.Tensors)
	checkIdx := func(where string, idx []int, optional bool) error {
		for _, i := range idx {
			if i == -1 && optional {
				continue
			}
			if i < 0 || i >= n {
				return fmt.Errorf("%s: tensor index %d out of range [0,%d)", where, i, n)
			}
		}
		return nil
	}
	if err := checkIdx("subgraph inputs", m.Inputs, false); err != nil {
		return err
	}
	if err := checkIdx("subgraph outputs", m.Outputs, false); err != nil {
		return err
	}
	for i, t := range m.Tensors {
		if err := t.validate(); err != nil {
			return fmt.Errorf("tensor %d %q: %w", i, t.Name, err)
		}
	}
	for i, op := range m.Operators {
		where := fmt.Sprintf("operator %d (%s)", i, op.Op)
		if err := checkIdx(where+" inputs", op.Inputs, true); err != nil {
			return err
		}
		if err := checkIdx(where+" outputs", op.Outputs, false); err != nil {
			return err
		}
		if op.Options != nil {
			if _, ok := optionTables[op.Options.Type]; !ok {
				return fmt.Errorf("%s: unknown options table %d", where, op.Options.Type)
			}
		}
	}
	return nil
}

func (t *Tensor) validate() error {
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	if t.Type.Size() == 0 {
		return fmt.Errorf("unsupported element type %s", t.Type)
	}
	if t.Data != nil {
		if want := Elements(t.Shape) * t.Type.Size(); len(t.Data) != want {
			return fmt.Errorf("data holds %d bytes, shape %v of %s needs %d", len(t.Data), t.Shape, t.Type, want)
		}
	}
	if q := t.Quant; q != nil {
		if len(q.Scale) == 0 || len(q.Scale) != len(q.ZeroPoint) {
			return fmt.Errorf("quantization has %d scales and %d zero points", len(q.Scale), len(q.ZeroPoint))
		}
		if len(q.Scale) > 1 {
			if int(q.Axis) < 0 || int(q.Axis) >= len(t.Shape) || int(t.Shape[q.Axis]) != len(q.Scale) {
				return fmt.Errorf("%d scales along axis %d of shape %v", len(q.Scale), q.Axis, t.Shape)
			}
		}
	}
	return nil
}
