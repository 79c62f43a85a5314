package interp

import (
	"fmt"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

// checkInputs compares the caller's tensors with the graph's declared inputs:
// every input present (unless it has an initializer default), no unknown
// names, matching element type, rank and known dimensions, and one size per
// symbolic dimension name.
func (p *plan) checkInputs(inputs map[string]*tensor.Dense) error {
	var params map[string]int // symbolic dim sizes, made on first use
	matched := 0
	for _, in := range p.inputs {
		v := in.value
		t, ok := inputs[v.Name]
		if ok {
			matched++
		}
		if !ok || t == nil {
			if in.def != nil {
				continue
			}
			return &InputError{Input: v.Name, Msg: fmt.Sprintf("missing (the model expects %s %s)", onnxio.DataTypeName(v.DType), declShape(v))}
		}
		if want, ok := dtypeOf(v.DType); ok && v.DType != dtFloat16 && v.DType != dtBF16 && t.Dtype() != want {
			return &InputError{Input: v.Name, Msg: fmt.Sprintf("element type %s, the model declares %s", t.Dtype(), onnxio.DataTypeName(v.DType))}
		}
		if !v.HasShape {
			continue
		}
		got := dims(t)
		mismatch := len(got) != len(v.Shape)
		for i := 0; !mismatch && i < len(got); i++ {
			d := v.Shape[i]
			switch {
			case d.Param != "":
				if prev, seen := params[d.Param]; seen && prev != got[i] {
					mismatch = true
				}
				if params == nil {
					params = map[string]int{}
				}
				params[d.Param] = got[i]
			case d.Value >= 0 && int(d.Value) != got[i]:
				mismatch = true
			}
		}
		if mismatch {
			return &InputError{Input: v.Name, Msg: fmt.Sprintf("shape %v does not match the declared shape %s", got, declShape(v))}
		}
	}
	if matched == len(inputs) {
		return nil
	}
	known := map[string]bool{}
	for _, in := range p.inputs {
		known[in.value.Name] = true
	}
	var extra []string
	for name := range inputs {
		if !known[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return &InputError{Input: extra[0], Msg: fmt.Sprintf("the model has no such input (unknown: %s)", strings.Join(extra, ", "))}
	}
	return nil
}

// declShape formats a declared shape, symbolic dims by name, unknown as "?".
func declShape(v *lower.Value) string {
	if !v.HasShape {
		return "(any shape)"
	}
	parts := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		switch {
		case d.Param != "":
			parts[i] = d.Param
		case d.Value >= 0:
			parts[i] = fmt.Sprint(d.Value)
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
