package calib

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/lower"
)

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
