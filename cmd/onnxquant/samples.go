package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/lower"
)

// parseInputShapes reads --input-shape values: NAME=D,D,... (or DxDx...).
func parseInputShapes(vals []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	for _, v := range vals {
		name, dims, ok := strings.Cut(v, "=")
		if !ok || name == "" || dims == "" {
			return nil, usagef("--input-shape %q: expected NAME=D,D,... (for example x=1,3,48,192)", v)
		}
		var shape []int64
		for _, f := range strings.FieldsFunc(dims, func(r rune) bool { return r == ',' || r == 'x' }) {
			d, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || d < 1 {
				return nil, usagef("--input-shape %q: %q is not a size of at least 1", v, f)
			}
			shape = append(shape, d)
		}
		if _, dup := out[name]; dup {
			return nil, usagef("--input-shape: input %q given twice", name)
		}
		out[name] = shape
	}
	return out, nil
}

// openCalibration opens calibration samples for gm the way every command
// that calibrates does: stacked files are split into batch-1 samples and
// samples of different shapes are an error, unless the model has
// conditional paths (which may depend on the size, like Silero's 8 and
// 16 kHz paths). What the samples decided is told through note, and the
// input shapes the samples bind are returned.
func openCalibration(gm *lower.GraphModule, paths []string, note func(string)) (*dataset.Set, map[string][]int, error) {
	opts := dataset.Options{SplitBatches: true, SameShapes: len(gm.Submodules) == 0}
	set, err := dataset.OpenSamples(paths, calib.InputSpecs(gm), opts)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range set.Splits() {
		note(fmt.Sprintf("sample file %q stacks %d samples along its batch axis: split into %d samples of batch 1", s.Path, s.Count, s.Count))
	}
	shapes := set.Shapes()
	dynamic := calib.DynamicInputs(gm)
	names := make([]string, 0, len(dynamic))
	for name := range dynamic {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if sh := shapes[name]; sh != nil {
			note(fmt.Sprintf("input %q: the model declares %s; the calibration data binds it to %s (fix it with --input-shape %s=%s)",
				name, dynamic[name], formatInts(sh), name, joinInts(sh)))
		} else {
			note(fmt.Sprintf("input %q: the model declares %s and the samples give it several shapes; it stays dynamic", name, dynamic[name]))
		}
	}
	return set, shapes, nil
}

func formatInts(s []int) string { return "[" + strings.ReplaceAll(joinInts(s), ",", " ") + "]" }

func joinInts(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// quantizedNodes counts the QuantizeLinear and DequantizeLinear nodes of gm
// and its submodules and names the first.
func quantizedNodes(gm *lower.GraphModule) (int, string) {
	n, first := 0, ""
	_ = gm.Walk(func(m *lower.GraphModule) error {
		for _, node := range m.Graph.Nodes {
			if node.Op != lower.CallFunction {
				continue
			}
			if op := node.Target.OpType; op == "QuantizeLinear" || op == "DequantizeLinear" {
				if n == 0 {
					first = fmt.Sprintf("%q (%s)", node.Name, op)
				}
				n++
			}
		}
		return nil
	})
	return n, first
}

// refuseQuantized fails for a model that already holds Q/DQ nodes unless
// they are a QAT export's (--qat): quantizing it again stacks a second
// pair on every tensor.
func refuseQuantized(gm *lower.GraphModule, path string, qat bool) error {
	if qat {
		return nil
	}
	if n, first := quantizedNodes(gm); n > 0 {
		return fmt.Errorf("model %q is quantized already: it holds %d QuantizeLinear/DequantizeLinear node(s), the first %s; give the float model, or --qat if they are the fake-quantization pairs of a QAT export", path, n, first)
	}
	return nil
}

// resolveScheme returns the global scheme a job runs with: the config
// file's global entry unless --scheme (or a manifest's scheme) says
// otherwise, and a usage error when both are given and disagree.
func resolveScheme(job quantizeJob) (string, error) {
	if job.Config == "" {
		return job.Scheme, nil
	}
	cf, err := ethosu.LoadConfigFile(job.Config)
	if err != nil || cf.Global == nil {
		return job.Scheme, nil // newQuantizer reports a bad file
	}
	global := *cf.Global
	if job.SchemeSet && canonicalScheme(global) != canonicalScheme(job.Scheme) {
		return "", usagef("--scheme %s and config %q (global: %s) disagree: give the scheme in one place", job.Scheme, job.Config, global)
	}
	return global, nil
}

func canonicalScheme(s string) string {
	s = strings.ToLower(s)
	if s == "16x8" {
		return "a16w8"
	}
	return s
}
