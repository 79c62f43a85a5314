package lower

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnxio"
)

// checkOutputSizes refuses, before anything is allocated for it, a node
// whose inferred output shape is fully known and invalid (a negative or
// overflowing size) or larger than the model's tensor budget. Shape
// inference runs before constant folding, calibration and the interpreter,
// so this is where a ConstantOfShape, Expand, Tile, Pad, Resize or Conv
// sized from the model's own constants is stopped.
func (inf *inferer) checkOutputSizes(n *Node) error {
	for _, v := range n.Outputs {
		if v == nil || !v.HasShape {
			continue
		}
		dims := make([]int64, len(v.Shape))
		known := true
		for i, d := range v.Shape {
			if d.Param != "" {
				known = false
				break
			}
			dims[i] = d.Value
		}
		if !known {
			continue
		}
		// Inference writes -1 for an unknown size; any other negative size
		// came from the model.
		for _, d := range dims {
			if d < -1 {
				return &onnxio.LimitError{Shape: dims, Reason: fmt.Sprintf("output %q has negative dimension %d", v.Name, d)}
			}
			if d == -1 {
				known = false
			}
		}
		if !known {
			continue
		}
		if err := inf.limits.CheckTensor(dims, onnxio.ElemBytes(v.DType)); err != nil {
			return fmt.Errorf("output %q: %w", v.Name, err)
		}
	}
	return nil
}

// safeNode runs inference on one node, turning a panic into an error that
// names it: a rule that trusted the model too far must fail the command
// with the node's name, not crash it.
func (inf *inferer) safeNode(gm *GraphModule, n *Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error inferring this node (please report it): %v", r)
		}
	}()
	return inf.node(gm, n)
}

// rangeCountFloat is the element count of a float Range, refusing NaN and
// infinite bounds; ok is false when the count is not a finite int64.
func rangeCountFloat(s, l, d float64) (int64, bool) {
	c := math.Ceil((l - s) / d)
	if math.IsNaN(c) || math.IsInf(c, 0) || c >= math.MaxInt64 {
		return 0, false
	}
	return int64(max(c, 0)), true
}
