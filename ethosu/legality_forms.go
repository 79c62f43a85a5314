package ethosu

import (
	"github.com/onnxquant/onnxquant/lower"
)

// resizeAntialias judges Resize-18's antialias: TOSA RESIZE (and so Vela,
// on every Ethos-U) interpolates between the two nearest pixels only, while
// an antialiased linear or cubic Resize that shrinks an axis averages a
// window of 1/scale pixels. Upsampling is unaffected (the filter does not
// widen), so only a shrinking axis, or scales the check cannot read, make
// the node illegal.
func resizeAntialias(_ *checker, n *lower.Node) string {
	if n.AttrInt("antialias", 0) == 0 || n.AttrString("mode", "nearest") == "nearest" {
		return ""
	}
	const msg = "Resize with antialias that downsamples is not supported (TOSA RESIZE has no antialias filter)"
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		sizes, ok := n.Inputs[3].ConstantInts()
		in := n.Inputs[0]
		if !ok || in == nil || !in.HasShape {
			return msg
		}
		axes := n.AttrInts("axes", nil)
		for i, s := range sizes {
			a := i
			if axes != nil && i < len(axes) {
				a = int(axes[i])
				if a < 0 {
					a += len(in.Shape)
				}
			}
			if a < 0 || a >= len(in.Shape) || !in.Shape[a].Known() || s < in.Shape[a].Value {
				return msg
			}
		}
		return ""
	}
	if len(n.Inputs) < 3 || n.Inputs[2] == nil {
		return msg
	}
	scales, _, ok := n.Inputs[2].ConstantFloats()
	if !ok {
		return msg
	}
	for _, s := range scales {
		if s < 1 {
			return msg
		}
	}
	return ""
}

// resizeCrop judges tf_crop_and_resize: TOSA RESIZE scales a whole tensor
// with an offset and border, but has no crop box read from a tensor nor an
// extrapolation value for the outside.
func resizeCrop(_ *checker, n *lower.Node) string {
	if n.AttrString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize" {
		return "Resize with coordinate_transformation_mode tf_crop_and_resize is not supported (TOSA RESIZE has no crop box)"
	}
	return ""
}

// maxPoolIndices judges MaxPool's second output: TOSA MAX_POOL2D gives the
// maxima only, not where they were.
func maxPoolIndices(_ *checker, n *lower.Node) string {
	if len(n.Outputs) > 1 && n.Outputs[1] != nil && (len(n.Graph().Users(n.Outputs[1])) > 0 || n.Outputs[1].IsGraphOutput()) {
		return "MaxPool's Indices output is not supported (TOSA MAX_POOL2D gives no positions)"
	}
	return ""
}
