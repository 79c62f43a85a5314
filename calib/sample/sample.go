package sample

// Tensor is one model input of a sample: its shape and row-major data.
// Float32 holds float inputs; Int64 holds integer ones (a sample rate, a
// token id), and exactly one of the two is set.
type Tensor struct {
	Shape   []int
	Float32 []float32
	Int64   []int64
}

// Source gives calibration samples, like ONNX Runtime's
// CalibrationDataReader or TFLite's representative dataset, but by index:
// calibration runs samples on several workers and passes over them more
// than once (sizing tensors, then observing), so a one-shot iterator would
// not do. A Source may also implement Namer, so that messages name its
// samples; otherwise they say "sample 3".
type Source interface {
	// Len is the number of samples.
	Len() int
	// Sample returns sample i's tensors by model input name.
	Sample(i int) (map[string]Tensor, error)
}

// Namer is implemented by sources whose samples have names of their own
// (file paths, record ids), which errors and notes then use.
type Namer interface {
	Name(i int) string
}

// List is a Source over a slice.
type List []map[string]Tensor

// Len implements Source.
func (l List) Len() int { return len(l) }

// Sample implements Source.
func (l List) Sample(i int) (map[string]Tensor, error) { return l[i], nil }
