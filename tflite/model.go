package tflite

// Model is the in-memory form of a single-subgraph TFLite model: what the
// exporter builds, Marshal writes and Unmarshal reads back.
type Model struct {
	Description string
	Tensors     []*Tensor
	Operators   []*Operator
	// Inputs and Outputs index Tensors.
	Inputs, Outputs []int
	// Metadata are named byte blobs (Model.metadata), in order.
	Metadata []Metadata
}

// Metadata is one named blob of Model.metadata.
type Metadata struct {
	Name string
	Data []byte
}

// Tensor is one subgraph tensor. Data is nil for activations; for a
// constant it holds the little-endian elements in row-major order.
type Tensor struct {
	Name  string
	Type  TensorType
	Shape []int32
	Data  []byte
	Quant *Quant
}

// Quant is a tensor's quantization: real = Scale * (q - ZeroPoint), one
// entry per tensor or one per slice along Axis.
type Quant struct {
	Scale     []float32
	ZeroPoint []int64
	Axis      int32
}

// PerAxis reports whether the quantization has more than one scale.
func (q *Quant) PerAxis() bool { return q != nil && len(q.Scale) > 1 }

// Operator is one builtin operator. An input index of -1 is an omitted
// optional input.
type Operator struct {
	Op      BuiltinOp
	Version int32
	Inputs  []int
	Outputs []int
	Options *Options
}

// Elements is the number of elements of a shape.
func Elements(shape []int32) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}
