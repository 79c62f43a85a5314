package calib

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/onnxdense"
	"github.com/onnxquant/onnxquant/lower"
)

// loaderDtype is the gorgonia dtype the data set loader produces for an
// ONNX input type: the types onnxio holds exactly, except complex, which
// sample files cannot carry.
func loaderDtype(dt int32) (tensor.Dtype, bool) {
	d, err := onnxdense.DtypeOf(dt)
	if err != nil || onnxdense.Widened(dt) || d == tensor.Complex64 || d == tensor.Complex128 {
		return tensor.Dtype{}, false
	}
	return d, true
}

// InputSpecs describes the graph inputs of gm for the data set loader, so
// every sample is checked against the model before it is run. A dimension
// with a symbolic name (dim_param) or of unknown size is dynamic; named
// ones must agree across the inputs of a sample. An input whose element
// type is undeclared or unrepresentable gets float32 and one of unknown
// rank a scalar shape, so samples for it fail to load with a mismatch;
// ModelInputSpecs reports those inputs up front instead.
func InputSpecs(gm *lower.GraphModule) []dataset.InputSpec {
	specs, _ := inputSpecs(gm)
	return specs
}

// ModelInputSpecs is InputSpecs that fails, naming the input, when the
// model does not declare an input's element type or rank, or declares a
// type the loader cannot represent (float16, complex).
func ModelInputSpecs(gm *lower.GraphModule) ([]dataset.InputSpec, error) {
	return inputSpecs(gm)
}

func inputSpecs(gm *lower.GraphModule) ([]dataset.InputSpec, error) {
	var specs []dataset.InputSpec
	var firstErr error
	for _, p := range gm.Graph.Placeholders() {
		v := p.Outputs[0]
		dt, ok := loaderDtype(v.DType)
		if !ok {
			dt = tensor.Float32
			if firstErr == nil && v.DType == 0 {
				firstErr = fmt.Errorf("input %q: the model does not declare its element type", v.Name)
			} else if firstErr == nil {
				firstErr = fmt.Errorf("input %q: element type %d (ONNX TensorProto) cannot be fed from sample files", v.Name, v.DType)
			}
		}
		if !v.HasShape && firstErr == nil {
			firstErr = fmt.Errorf("input %q: the model does not declare its rank", v.Name)
		}
		s := dataset.InputSpec{Name: v.Name, DType: dt, Shape: make([]int, len(v.Shape))}
		named := false
		names := make([]string, len(v.Shape))
		for i, d := range v.Shape {
			if d.Known() {
				s.Shape[i] = int(d.Value)
				continue
			}
			s.Shape[i] = -1
			names[i] = d.Param
			named = named || d.Param != ""
		}
		if named {
			s.DimNames = names
		}
		specs = append(specs, s)
	}
	return specs, firstErr
}

// FixInputShapes gives graph inputs of gm the static shapes in shapes (by
// input name), as --input-shape does: samples of another shape are then
// an error, and the model is specialised to these shapes instead of the
// ones the samples happen to have. A shape must keep the input's rank and
// every size the model declares; an unknown input name is an error.
func FixInputShapes(gm *lower.GraphModule, shapes map[string][]int64) error {
	byName := map[string]*lower.Value{}
	var names []string
	for _, p := range gm.Graph.Placeholders() {
		byName[p.Outputs[0].Name] = p.Outputs[0]
		names = append(names, p.Outputs[0].Name)
	}
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		shape := shapes[name]
		v, ok := byName[name]
		if !ok {
			return fmt.Errorf("input shape for %q: the model has no such input (inputs: %s)", name, strings.Join(names, ", "))
		}
		if v.HasShape && len(v.Shape) != len(shape) {
			return fmt.Errorf("input shape for %q: %v has rank %d, the model's input has rank %d (%s)", name, shape, len(shape), len(v.Shape), formatDims(v.Shape))
		}
		for i, d := range shape {
			if d < 1 {
				return fmt.Errorf("input shape for %q: dimension %d is %d, expected at least 1", name, i, d)
			}
			if v.HasShape && v.Shape[i].Known() && v.Shape[i].Value != d {
				return fmt.Errorf("input shape for %q: dimension %d is %d, but the model fixes it at %d (%s)", name, i, d, v.Shape[i].Value, formatDims(v.Shape))
			}
		}
		v.Shape, v.HasShape = make([]lower.Dim, len(shape)), true
		for i, d := range shape {
			v.Shape[i] = lower.Dim{Value: d}
		}
	}
	return nil
}

// DynamicInputs lists the graph inputs of gm with a dimension of unknown
// size, with their declared shapes as text ("[batch 3 ? ?]").
func DynamicInputs(gm *lower.GraphModule) map[string]string {
	out := map[string]string{}
	for _, p := range gm.Graph.Placeholders() {
		v := p.Outputs[0]
		if !sized(v) {
			out[v.Name] = formatDims(v.Shape)
		}
	}
	return out
}

func formatDims(dims []lower.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		switch {
		case d.Known():
			parts[i] = strconv.FormatInt(d.Value, 10)
		case d.Param != "":
			parts[i] = d.Param
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
