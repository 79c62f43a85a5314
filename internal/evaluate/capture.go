package evaluate

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
	"github.com/onnxquant/onnxquant/lower"
)

// Key names a tensor of a model: its value name inside a (conditional)
// submodule, "" for the top-level graph.
type Key struct {
	Module string `json:"module,omitempty"`
	Name   string `json:"name"`
}

// Capture is an interp.Observer that keeps the tensors it is asked for, in
// the order they are computed: a value inside a Loop body is captured once
// per iteration. It holds one run's tensors; call Reset between runs.
type Capture struct {
	want map[Key]bool
	got  map[Key][]*tensor.Dense
}

// NewCapture returns an observer that keeps the listed tensors.
func NewCapture(keys ...Key) *Capture {
	c := &Capture{want: make(map[Key]bool, len(keys)), got: map[Key][]*tensor.Dense{}}
	for _, k := range keys {
		c.want[k] = true
	}
	return c
}

// Enter implements interp.Observer.
func (c *Capture) Enter(string) {}

// Value implements interp.Observer.
func (c *Capture) Value(module string, v *lower.Value, t *tensor.Dense) {
	k := Key{Module: module, Name: v.Name}
	if c.want[k] {
		c.got[k] = append(c.got[k], t)
	}
}

// Values returns the tensors captured for k, in execution order.
func (c *Capture) Values(k Key) []*tensor.Dense { return c.got[k] }

// Reset forgets the captured tensors, keeping the list of wanted ones.
func (c *Capture) Reset() { c.got = map[Key][]*tensor.Dense{} }

// float32s returns a float tensor's data, and false for other types.
func float32s(t *tensor.Dense) ([]float32, bool) {
	if t == nil {
		return nil, false
	}
	if kernels.IsEmpty(t) {
		return []float32{}, t.Dtype() == tensor.Float32
	}
	switch d := t.Data().(type) {
	case []float32:
		return d, true
	case float32:
		return []float32{d}, true
	}
	return nil, false
}
