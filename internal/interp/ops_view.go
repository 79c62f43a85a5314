package interp

import (
	"fmt"
	"sort"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// The ops in this file only change how a tensor's elements are indexed, not
// the elements themselves, so they share the input's backing slice instead
// of copying it (tensors are never written after they are made).

func viewOps(t map[string]opBuilder) {
	t["Reshape"] = buildReshape
	t["Flatten"] = buildFlatten
	t["Squeeze"] = buildSqueeze
	t["Unsqueeze"] = buildUnsqueeze
	t["Shape"] = buildShape
	t["Size"] = func(c *buildCtx) (kernel, error) {
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return []*tensor.Dense{scalarInt(int64(kernels.NumElems(in[0])))}, nil
		}, nil
	}
}

// view gives t's elements a new shape.
func view(t *tensor.Dense, shape []int) (*tensor.Dense, error) {
	if n := prod(shape); n != kernels.NumElems(t) {
		return nil, fmt.Errorf("cannot view shape %v (%d elements) as %v (%d elements)", dims(t), kernels.NumElems(t), shape, n)
	}
	return newDense(shape, flat(t))
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func dims(t *tensor.Dense) []int { return kernels.Dims(t) }

// shapeArg is a shape-like operand: decoded at New when constant, else at
// Run from the input tensor.
type shapeArg struct {
	idx   int   // input index; -1 when the values come from an attribute
	fixed []int // values known at New (constant input or attribute)
	has   bool  // whether the operand is present at all
}

func (c *buildCtx) shapeArg(i int) (shapeArg, error) {
	a := shapeArg{idx: i}
	if i >= len(c.n.Inputs) || c.n.Inputs[i] == nil {
		return a, nil
	}
	a.has = true
	if t := c.constInput(i); t != nil {
		v, err := kernels.Ints(t)
		if err != nil {
			return a, fmt.Errorf("input %d: %w", i, err)
		}
		a.fixed = v
	}
	return a, nil
}

// get returns the operand's values and whether it is present. An operand
// from an attribute (idx < 0) is always the decoded attribute.
func (a shapeArg) get(in []*tensor.Dense) ([]int, bool, error) {
	if a.idx < 0 {
		return a.fixed, a.has, nil
	}
	if !a.has || a.idx >= len(in) || in[a.idx] == nil {
		return nil, false, nil
	}
	if a.fixed != nil {
		return a.fixed, true, nil
	}
	v, err := kernels.Ints(in[a.idx])
	return v, true, err
}

func buildReshape(c *buildCtx) (kernel, error) {
	allowZero := c.n.AttrInt("allowzero", 0) != 0
	var arg shapeArg
	if c.n.Target.Version < 5 {
		arg = shapeArg{has: true, fixed: ints(c.n.AttrInts("shape", nil)), idx: -1}
	} else {
		var err error
		if arg, err = c.shapeArg(1); err != nil {
			return nil, err
		}
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		spec, _, err := arg.get(in)
		if err != nil {
			return nil, err
		}
		shape, err := kernels.ReshapeTarget(dims(in[0]), spec, allowZero)
		if err != nil {
			return nil, err
		}
		return one(view(in[0], shape))
	}, nil
}

func buildFlatten(c *buildCtx) (kernel, error) {
	axis := int(c.n.AttrInt("axis", 1))
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		sh := dims(in[0])
		a := axis
		if a < 0 {
			a += len(sh)
		}
		if a < 0 || a > len(sh) {
			return nil, fmt.Errorf("axis %d out of range for shape %v", axis, sh)
		}
		return one(view(in[0], []int{prod(sh[:a]), prod(sh[a:])}))
	}, nil
}

// axesArg reads the axes of Squeeze/Unsqueeze: an attribute before opset 13,
// an (optional) input from 13 on.
func (c *buildCtx) axesArg(firstInputOpset int64) (shapeArg, error) {
	if c.n.Target.Version < firstInputOpset {
		if !c.n.HasAttr("axes") {
			return shapeArg{idx: -1}, nil
		}
		return shapeArg{idx: -1, has: true, fixed: ints(c.n.AttrInts("axes", nil))}, nil
	}
	return c.shapeArg(1)
}

func normAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < -rank || a >= rank {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, rank)
		}
		if a < 0 {
			a += rank
		}
		out[i] = a
	}
	return out, nil
}

func buildSqueeze(c *buildCtx) (kernel, error) {
	arg, err := c.axesArg(13)
	if err != nil {
		return nil, err
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		sh := dims(in[0])
		axes, has, err := arg.get(in)
		if err != nil {
			return nil, err
		}
		drop := make([]bool, len(sh))
		if has {
			na, err := normAxes(axes, len(sh))
			if err != nil {
				return nil, err
			}
			for _, a := range na {
				if sh[a] != 1 {
					return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, sh)
				}
				drop[a] = true
			}
		} else {
			for i, d := range sh {
				drop[i] = d == 1
			}
		}
		var out []int
		for i, d := range sh {
			if !drop[i] {
				out = append(out, d)
			}
		}
		return one(view(in[0], out))
	}, nil
}

func buildUnsqueeze(c *buildCtx) (kernel, error) {
	arg, err := c.axesArg(13)
	if err != nil {
		return nil, err
	}
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		sh := dims(in[0])
		axes, _, err := arg.get(in)
		if err != nil {
			return nil, err
		}
		rank := len(sh) + len(axes)
		na, err := normAxes(axes, rank)
		if err != nil {
			return nil, err
		}
		sort.Ints(na)
		out := make([]int, 0, rank)
		k, j := 0, 0
		for i := 0; i < rank; i++ {
			if j < len(na) && na[j] == i {
				out = append(out, 1)
				j++
				continue
			}
			if k >= len(sh) {
				return nil, fmt.Errorf("axes %v do not fit shape %v", axes, sh)
			}
			out = append(out, sh[k])
			k++
		}
		return one(view(in[0], out))
	}, nil
}

func buildShape(c *buildCtx) (kernel, error) {
	start := int(c.n.AttrInt("start", 0))
	end, hasEnd := int(c.n.AttrInt("end", 0)), c.n.HasAttr("end")
	return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
		sh := dims(in[0])
		r := len(sh)
		clamp := func(v int) int {
			if v < 0 {
				v += r
			}
			return min(max(v, 0), r)
		}
		s, e := clamp(start), r
		if hasEnd {
			e = clamp(end)
		}
		out := make([]int64, max(e-s, 0))
		for i := range out {
			out[i] = int64(sh[s+i])
		}
		return one(newDense([]int{len(out)}, out))
	}, nil
}
