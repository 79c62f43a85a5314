package interp

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

func movementOps(t map[string]opBuilder) {
	t["Transpose"] = func(c *buildCtx) (kernel, error) {
		perm := ints(c.n.AttrInts("perm", nil))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			p := perm
			if p == nil {
				r := in[0].Dims()
				p = make([]int, r)
				for i := range p {
					p[i] = r - 1 - i
				}
			}
			return one(kernels.Transpose(in[0], p))
		}, nil
	}
	t["Concat"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", 0))
		if !c.n.HasAttr("axis") && c.n.Target.Version >= 4 {
			return nil, fmt.Errorf("Concat needs an axis attribute")
		}
		return func(_ *runCtx, fr *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.ConcatWith(fr.alloc, in, axis))
		}, nil
	}
	t["Split"] = buildSplit
	t["Slice"] = buildSlice
	t["Gather"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Gather(in[0], in[1], axis))
		}, nil
	}
	t["GatherElements"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.GatherElements(in[0], in[1], axis))
		}, nil
	}
	t["Tile"] = func(c *buildCtx) (kernel, error) {
		if c.n.Target.Version < 6 {
			return nil, unsupportedf("Tile before opset 6")
		}
		return withShapeOperand(c, kernels.Tile)
	}
	t["Expand"] = func(c *buildCtx) (kernel, error) { return withShapeOperand(c, kernels.Expand) }
	t["Pad"] = buildPad
	t["ConstantOfShape"] = func(c *buildCtx) (kernel, error) {
		var value *tensor.Dense
		if tp := c.n.AttrTensor("value"); tp != nil {
			var err error
			if value, err = toDense(tp, c.b.dir); err != nil {
				return nil, err
			}
		}
		shape, err := c.shapeArg(0)
		if err != nil {
			return nil, err
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			s, _, err := shape.get(in)
			if err != nil {
				return nil, err
			}
			return one(kernels.ConstantOfShape(s, value))
		}, nil
	}
	t["Range"] = func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Range(in[0], in[1], in[2]))
		}, nil
	}
	t["DepthToSpace"] = func(c *buildCtx) (kernel, error) {
		bs, mode := int(c.n.AttrInt("blocksize", 0)), c.n.AttrString("mode", "DCR")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.DepthToSpace(in[0], bs, mode))
		}, nil
	}
	t["SpaceToDepth"] = func(c *buildCtx) (kernel, error) {
		bs := int(c.n.AttrInt("blocksize", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.SpaceToDepth(in[0], bs))
		}, nil
	}
	t["NonZero"] = unary(kernels.NonZero)
	t["TopK"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", -1))
		largest := c.n.AttrInt("largest", 1) != 0
		if c.n.AttrInt("sorted", 1) == 0 {
			return nil, unsupportedf("TopK sorted=0")
		}
		attrK := int(c.n.AttrInt("k", 0))
		old := c.n.Target.Version < 10
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			k := attrK
			if !old {
				v, err := scalarFloat(in[1])
				if err != nil {
					return nil, fmt.Errorf("k: %w", err)
				}
				k = int(v)
			}
			v, i, err := kernels.TopK(in[0], k, axis, largest)
			if err != nil {
				return nil, err
			}
			return []*tensor.Dense{v, i}, nil
		}, nil
	}
	t["CumSum"] = func(c *buildCtx) (kernel, error) {
		excl, rev := c.n.AttrInt("exclusive", 0) != 0, c.n.AttrInt("reverse", 0) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			a, err := scalarFloat(in[1])
			if err != nil {
				return nil, fmt.Errorf("axis: %w", err)
			}
			return one(kernels.CumSum(in[0], int(a), excl, rev))
		}, nil
	}
	t["OneHot"] = func(c *buildCtx) (kernel, error) {
		axis := int(c.n.AttrInt("axis", -1))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			d, err := scalarFloat(in[1])
			if err != nil {
				return nil, fmt.Errorf("depth: %w", err)
			}
			return one(kernels.OneHot(in[0], int(d), in[2], axis))
		}, nil
	}
	for op, max := range map[string]bool{"ArgMax": true, "ArgMin": false} {
		t[op] = func(c *buildCtx) (kernel, error) {
			axis := int(c.n.AttrInt("axis", 0))
			keep := c.n.AttrInt("keepdims", 1) != 0
			last := c.n.AttrInt("select_last_index", 0) != 0
			f := kernels.ArgMin
			if max {
				f = kernels.ArgMax
			}
			return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
				return one(f(in[0], axis, keep, last))
			}, nil
		}
	}
}

func buildSplit(c *buildCtx) (kernel, error) {
	axis := int(c.n.AttrInt("axis", 0))
	nOut := len(c.n.Outputs)
	var sizes shapeArg
	switch {
	case c.n.Target.Version < 13:
		if c.n.HasAttr("split") {
			sizes = shapeArg{idx: -1, has: true, fixed: ints(c.n.AttrInts("split", nil))}
		} else if c.n.Target.Version < 2 && len(c.n.Inputs) > 1 {
			var err error
			if sizes, err = c.shapeArg(1); err != nil {
				return nil, err
			}
		} else {
			sizes = shapeArg{idx: -1}
		}
	default:
		var err error
		if sizes, err = c.shapeArg(1); err != nil {
			return nil, err
		}
		if n := c.n.AttrInt("num_outputs", 0); n > 0 {
			nOut = int(n)
		}
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		s, _, err := sizes.get(in)
		if err != nil {
			return nil, err
		}
		return kernels.Split(in[0], axis, s, nOut)
	}, nil
}

func buildSlice(c *buildCtx) (kernel, error) {
	if c.n.Target.Version < 10 {
		starts := ints(c.n.AttrInts("starts", nil))
		ends := ints(c.n.AttrInts("ends", nil))
		axes := ints(c.n.AttrInts("axes", nil))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Slice(in[0], starts, ends, axes, nil))
		}, nil
	}
	var args [4]shapeArg
	for i := range args {
		var err error
		if args[i], err = c.shapeArg(i + 1); err != nil {
			return nil, err
		}
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		var v [4][]int
		for i, a := range args {
			var err error
			if v[i], _, err = a.get(in); err != nil {
				return nil, err
			}
		}
		return one(kernels.Slice(in[0], v[0], v[1], v[2], v[3]))
	}, nil
}

func buildPad(c *buildCtx) (kernel, error) {
	mode := c.n.AttrString("mode", "constant")
	if c.n.Target.Version < 11 {
		pads := ints(c.n.AttrInts("pads", c.n.AttrInts("paddings", nil)))
		value := float64(c.n.AttrFloat("value", 0))
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.Pad(in[0], pads, mode, value, nil))
		}, nil
	}
	pads, err := c.shapeArg(1)
	if err != nil {
		return nil, err
	}
	axes, err := c.shapeArg(3)
	if err != nil {
		return nil, err
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		p, _, err := pads.get(in)
		if err != nil {
			return nil, err
		}
		a, _, err := axes.get(in)
		if err != nil {
			return nil, err
		}
		value := 0.0
		if cv := optIn(in, 2); cv != nil {
			if value, err = scalarFloat(cv); err != nil {
				return nil, fmt.Errorf("constant_value: %w", err)
			}
		}
		return one(kernels.Pad(in[0], p, mode, value, a))
	}, nil
}

// withShapeOperand builds the kernel of an op whose second input is a shape
// (Tile's repeats, Expand's shape), read once at New when it is constant.
func withShapeOperand(c *buildCtx, f func(x *tensor.Dense, shape []int) (*tensor.Dense, error)) (kernel, error) {
	arg, err := c.shapeArg(1)
	if err != nil {
		return nil, err
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		s, _, err := arg.get(in)
		if err != nil {
			return nil, err
		}
		return one(f(in[0], s))
	}, nil
}
