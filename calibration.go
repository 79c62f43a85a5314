package onnxquant

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/lower"
)

// openCalibration opens calibration sample files for gm the way every
// command that calibrates does: stacked .npy files are split into batch-1
// samples, and samples of different shapes are an error unless the model
// has conditional paths (which may depend on the size, like Silero's 8
// and 16 kHz paths). What the samples decided is told through note, and
// the input shapes they bind are returned (nil for an input whose samples
// disagree).
func openCalibration(gm *lower.GraphModule, paths []string, note func(string)) (*dataset.Set, map[string][]int, error) {
	opts := dataset.Options{SplitBatches: true, SameShapes: len(gm.Submodules) == 0, Limits: gm.Limits}
	set, err := dataset.OpenSamples(paths, dataset.InputSpecs(gm), opts)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range set.Splits() {
		note(fmt.Sprintf("sample file %q stacks %d samples along its batch axis%s: split into %d samples of batch 1", s.Path, s.Count, axesNote(s.Axes), s.Count))
	}
	shapes := set.Shapes()
	dynamic := calib.DynamicInputs(gm)
	for _, name := range slices.Sorted(maps.Keys(dynamic)) {
		if sh := shapes[name]; sh != nil {
			note(fmt.Sprintf("input %q: the model declares %s; the calibration data binds it to %s (fix it with --input-shape %s=%s)",
				name, dynamic[name], formatInts(sh), name, joinInts(sh)))
		} else {
			note(fmt.Sprintf("input %q: the model declares %s and the samples give it several shapes; it stays dynamic", name, dynamic[name]))
		}
	}
	return set, shapes, nil
}

// axesNote names the batch axes of a split when one is not the first.
func axesNote(axes map[string]int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(axes)) {
		if axes[name] != 0 {
			parts = append(parts, fmt.Sprintf("axis %d of input %q", axes[name], name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func formatInts(s []int) string { return "[" + strings.ReplaceAll(joinInts(s), ",", " ") + "]" }

func joinInts[T int | int64](s []T) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(int64(d), 10)
	}
	return strings.Join(parts, ",")
}
