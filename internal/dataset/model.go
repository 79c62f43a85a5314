package dataset

import (
	"fmt"

	"gorgonia.org/tensor"

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
func InputSpecs(gm *lower.GraphModule) []InputSpec {
	specs, _ := inputSpecs(gm)
	return specs
}

// ModelInputSpecs is InputSpecs that fails, naming the input, when the
// model does not declare an input's element type or rank, or declares a
// type the loader cannot represent (float16, complex).
func ModelInputSpecs(gm *lower.GraphModule) ([]InputSpec, error) {
	return inputSpecs(gm)
}

func inputSpecs(gm *lower.GraphModule) ([]InputSpec, error) {
	var specs []InputSpec
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
		s := InputSpec{Name: v.Name, DType: dt, Shape: make([]int, len(v.Shape))}
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
