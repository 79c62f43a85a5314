package dataset

import (
	"fmt"
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// InputSpec describes one model input the samples must match.
type InputSpec struct {
	Name  string
	DType tensor.Dtype
	// Shape holds the dimensions; -1 or 0 marks a dynamic dimension, which
	// takes its value from each sample.
	Shape []int
	// DimNames optionally names the dimensions (ONNX dim_param). Dynamic
	// dimensions with the same name must agree across the inputs of one
	// sample (for example the batch of Silero's input and of its state h).
	DimNames []string
}

func isDynamic(d int) bool { return d <= 0 }

// modelShape formats a spec's shape for messages: dynamic dimensions show
// their name, or "?" when they have none.
func (s InputSpec) modelShape() string {
	parts := make([]string, len(s.Shape))
	for i, d := range s.Shape {
		switch {
		case !isDynamic(d):
			parts[i] = strconv.Itoa(d)
		case i < len(s.DimNames) && s.DimNames[i] != "":
			parts[i] = s.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func formatShape(shape tensor.Shape) string {
	return fmt.Sprint([]int(shape))
}

// fits tells whether shape has the spec's rank and its fixed dimensions.
func (s InputSpec) fits(shape []int) bool {
	if len(shape) != len(s.Shape) {
		return false
	}
	for i, want := range s.Shape {
		if !isDynamic(want) && shape[i] != want {
			return false
		}
	}
	return true
}

// checkHeader checks what a file's header declares for an input (its
// dtype and shape) against the model, before the data is read, with the
// messages checkInput gives for the array once read: a header
// claiming a huge array that the model could not take anyway is refused
// for what it is, whatever the file holds.
func (s InputSpec) checkHeader(dt tensor.Dtype, shape []int) error {
	if dt != s.DType {
		return kindf(ErrDtypeMismatch, "dtype %v does not match the model's %v", dt, s.DType)
	}
	if !s.fits(shape) {
		return kindf(ErrShapeMismatch, "shape %v does not match the model's %s", shape, s.modelShape())
	}
	return nil
}

// checkInput checks one array against its spec and records named dynamic
// dimensions in dims, which is shared by all inputs of the sample.
func checkInput(spec InputSpec, d *tensor.Dense, dims map[string]int) error {
	if d.Dtype() != spec.DType {
		return kindf(ErrDtypeMismatch, "dtype %v does not match the model's %v", d.Dtype(), spec.DType)
	}
	shape := d.Shape()
	if !spec.fits(shape) {
		return kindf(ErrShapeMismatch, "shape %s does not match the model's %s", formatShape(shape), spec.modelShape())
	}
	for i, want := range spec.Shape {
		if !isDynamic(want) {
			continue
		}
		if i >= len(spec.DimNames) || spec.DimNames[i] == "" {
			continue
		}
		name := spec.DimNames[i]
		if bound, ok := dims[name]; ok && bound != shape[i] {
			return kindf(ErrShapeMismatch, "shape %s gives dimension %q = %d, but another input of the sample has %d",
				formatShape(shape), name, shape[i], bound)
		}
		dims[name] = shape[i]
	}
	if i, v := firstNonFinite(d); i >= 0 {
		return kindf(ErrNonFinite, "holds %v at flat index %d", v, i)
	}
	return nil
}
