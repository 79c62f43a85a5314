package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/tflite"
)

// TestExportLayers is the per-operator harness behind the tables of
// docs/export.md ("LiteRT against ONNX Runtime on deep int8 models"). It is
// a measurement, not part of CI: it runs only when ONNXQUANT_EXPORT_LAYERS
// names what to measure, as a space-separated list of
//
//	model:calib:scheme:target[:quantize flags, comma-separated]
//
// for example "ppocr_v3_det:ocr_det256x384:int8:ethos-u55-128:--min-sqnr,0".
// ONNXQUANT_EXPORT_LAYERS_SAMPLES sets how many calibration samples feed it
// (default 2), ONNXQUANT_EXPORT_LAYERS_LIMIT how many operators, in graph
// order, are measured (default all). Built with -tags ort.
//
// For each model it quantizes the corpus model, then takes every operator
// of the QDQ model alone: an operator is what lies between quantized
// activations (a QuantizeLinear of an activation ends it, the
// DequantizeLinears of activations it reads start it; a fused Conv+Relu or
// a Reshape chain with no QuantizeLinear between is one operator, and so is
// a requantization, a QuantizeLinear of a dequantized activation, such as
// the int16-to-int8 step around a table op at a16w8 on U55). It cuts the
// QDQ model around it (the float tensors entering the QuantizeLinears of
// its inputs become the cut's inputs, the DequantizeLinear of its output
// the cut's output; the same cut `onnxquant convert --cut-from --cut-to`
// makes), feeds the cut the dequantized activations the whole QDQ model
// computes in ONNX Runtime on the samples (values on the input grid: a
// float between two levels could be quantized differently by the two
// runtimes at a tie, and a Conv after it would amplify that into several
// steps that are not the operator's), exports the cut, and compares
// LiteRT (the float-I/O copy) with ONNX Runtime (the cut QDQ model) in
// steps of the output scale. It prints per operator the share of elements
// that differ and the largest difference in steps, and fails when an
// operator differs by more than one step: two correct integer
// implementations part by one step on ties and near-ties, a mapping error
// by more.
func TestExportLayers(t *testing.T) {
	spec := os.Getenv("ONNXQUANT_EXPORT_LAYERS")
	if spec == "" {
		t.Skip("ONNXQUANT_EXPORT_LAYERS is not set (a measurement harness, see docs/export.md)")
	}
	corpus := testenv.Corpus(t)
	if !testenv.ORT(t) {
		t.Skip("needs ONNX Runtime (-tags ort)")
	}
	nSamples := 2
	if s := os.Getenv("ONNXQUANT_EXPORT_LAYERS_SAMPLES"); s != "" {
		if _, err := fmt.Sscan(s, &nSamples); err != nil || nSamples < 1 {
			t.Fatalf("ONNXQUANT_EXPORT_LAYERS_SAMPLES=%q: want a count ≥ 1", s)
		}
	}
	limit := 0
	if s := os.Getenv("ONNXQUANT_EXPORT_LAYERS_LIMIT"); s != "" {
		if _, err := fmt.Sscan(s, &limit); err != nil || limit < 1 {
			t.Fatalf("ONNXQUANT_EXPORT_LAYERS_LIMIT=%q: want a count ≥ 1", s)
		}
	}
	for _, item := range strings.Fields(spec) {
		parts := strings.SplitN(item, ":", 5)
		if len(parts) < 4 {
			t.Fatalf("ONNXQUANT_EXPORT_LAYERS item %q: want model:calib:scheme:target[:flags]", item)
		}
		var extra []string
		if len(parts) == 5 && parts[4] != "" {
			extra = strings.Split(parts[4], ",")
		}
		model, calib, scheme, target := parts[0], parts[1], parts[2], parts[3]
		t.Run(model+"_"+scheme+"_"+target, func(t *testing.T) {
			dir := t.TempDir()
			q := filepath.Join(dir, "q.onnx")
			args := append([]string{"quantize", filepath.Join(corpus, "models", model+".onnx"), "--calib", filepath.Join(corpus, "calib", calib),
				"--scheme", scheme, "--target", target, "-o", q, "-q"}, extra...)
			if r := onnxquant(t, args...); r.code != 0 {
				t.Fatalf("quantize: exit %d\n%s", r.code, r.stderr)
			}
			samples := firstSamples(t, filepath.Join(corpus, "calib", calib), nSamples)
			measureLayers(t, dir, q, target, samples, limit)
		})
	}
}

// qdqOp is one operator of a QDQ model: the float tensors whose
// QuantizeLinears feed it, the DequantizeLinear output it ends at, and the
// nodes between.
type qdqOp struct {
	name  string   // the first node's name
	types []string // its nodes' op types, Q/DQ and Constant left out
	from  []string
	// feed are the tensors whose values feed from: the DequantizeLinear
	// outputs the operator reads (values on the grid, so that the cut's
	// QUANTIZE in LiteRT and QuantizeLinear in ONNX Runtime cannot part on
	// a rounding tie of a value between two levels), or the model input.
	feed     []string
	to       string
	preQuant string // the float tensor its output QuantizeLinear reads
}

// qdqOps lists the operators of a QDQ model in graph order.
func qdqOps(g *onnxpb.GraphProto) []qdqOp {
	producer := map[string]*onnxpb.NodeProto{}
	consumers := map[string][]*onnxpb.NodeProto{}
	for _, n := range g.Node {
		for _, o := range n.Output {
			producer[o] = n
		}
		for _, in := range n.Input {
			consumers[in] = append(consumers[in], n)
		}
	}
	isInput := map[string]bool{}
	for _, vi := range g.Input {
		isInput[vi.GetName()] = true
	}
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = true
	}
	// constant: computed from initializers and Constant nodes only.
	memo := map[string]bool{}
	var constant func(name string) bool
	constant = func(name string) bool {
		if v, ok := memo[name]; ok {
			return v
		}
		memo[name] = false
		v := inits[name]
		if p := producer[name]; !v && p != nil && !isInput[name] {
			v = true
			for _, in := range p.Input {
				if in != "" && !constant(in) {
					v = false
				}
			}
		}
		memo[name] = v
		return v
	}
	var ops []qdqOp
	for _, qn := range g.Node {
		if qn.GetOpType() != "QuantizeLinear" || constant(qn.Input[0]) || isInput[qn.Input[0]] {
			continue
		}
		x := qn.Input[0]
		to := ""
		for _, c := range consumers[qn.Output[0]] {
			if c.GetOpType() == "DequantizeLinear" {
				to = c.Output[0]
				break
			}
		}
		if to == "" {
			continue
		}
		op := qdqOp{to: to, preQuant: x}
		seen := map[*onnxpb.NodeProto]bool{}
		var nodes []*onnxpb.NodeProto
		var walk func(name string)
		walk = func(name string) {
			p := producer[name]
			if name == "" || p == nil || constant(name) {
				if isInput[name] && !slices.Contains(op.from, name) {
					op.from, op.feed = append(op.from, name), append(op.feed, name)
				}
				return
			}
			if seen[p] {
				return
			}
			seen[p] = true
			if p.GetOpType() == "DequantizeLinear" {
				if qp := producer[p.Input[0]]; qp != nil && qp.GetOpType() == "QuantizeLinear" && !constant(qp.Input[0]) {
					if !slices.Contains(op.from, qp.Input[0]) {
						op.from, op.feed = append(op.from, qp.Input[0]), append(op.feed, p.Output[0])
					}
					return
				}
			}
			nodes = append(nodes, p)
			for _, in := range p.Input {
				walk(in)
			}
		}
		walk(x)
		slices.Reverse(nodes)
		for _, n := range nodes {
			switch n.GetOpType() {
			case "QuantizeLinear", "DequantizeLinear", "Constant":
			default:
				if op.name == "" {
					op.name = n.GetName()
				}
				op.types = append(op.types, n.GetOpType())
			}
		}
		if len(op.from) == 0 {
			continue
		}
		if op.name == "" {
			// A QuantizeLinear of a dequantized activation: a requantization
			// (int16 to int8 around a table op, for example).
			op.name, op.types = x+" (requantize)", []string{"QuantizeLinear"}
		}
		ops = append(ops, op)
	}
	return ops
}

var npyName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// writeNpyDense writes a float32 tensor as .npy.
func writeNpyDense(t *testing.T, path string, d *tensor.Dense) {
	t.Helper()
	if d.Dtype() != tensor.Float32 {
		t.Fatalf("%s: %v activations, want float32", path, d.Dtype())
	}
	if err := dataset.WriteNPY(path, d); err != nil {
		t.Fatal(err)
	}
}

// measureLayers cuts the QDQ model q around each operator and compares
// LiteRT with ONNX Runtime on it (see TestExportLayers).
func measureLayers(t *testing.T, dir, q, target string, samples []string, limit int) {
	m, err := onnxio.Load(q)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.Graph
	ops := qdqOps(g)
	if len(ops) == 0 {
		t.Fatal("no operator found between quantized activations")
	}
	if limit > 0 && limit < len(ops) {
		t.Logf("measuring the first %d of %d operators (ONNXQUANT_EXPORT_LAYERS_LIMIT)", limit, len(ops))
		ops = ops[:limit]
	}
	// Every tensor a cut reads, computed by the whole QDQ model in ONNX
	// Runtime (the model cut to them: they become its outputs).
	isInput := map[string]bool{}
	for _, vi := range g.Input {
		isInput[vi.GetName()] = true
	}
	var need []string
	for _, op := range ops {
		for _, f := range op.feed {
			if !isInput[f] && !slices.Contains(need, f) {
				need = append(need, f)
			}
		}
	}
	all := filepath.Join(dir, "all.onnx")
	if r := onnxquant(t, "convert", q, "-o", all, "--cut-to", strings.Join(need, ",")); r.code != 0 {
		t.Fatalf("convert --cut-to: exit %d\n%s", r.code, r.stderr)
	}
	inName := ""
	for _, vi := range g.Input {
		inName = vi.GetName()
	}
	var actDirs []string
	for i, s := range samples {
		outs, err := ortoracle.Run(all, testenv.ReadSample(t, s, inName))
		if err != nil {
			t.Fatal(err)
		}
		sd := filepath.Join(dir, fmt.Sprintf("act%d", i))
		if err := os.Mkdir(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, d := range outs {
			writeNpyDense(t, filepath.Join(sd, npyName.ReplaceAllString(name, "_")+".npy"), d)
		}
		// Model inputs a cut reads directly are the sample's own.
		for name, d := range testenv.ReadSample(t, s, inName) {
			writeNpyDense(t, filepath.Join(sd, npyName.ReplaceAllString(name, "_")+".npy"), d)
		}
		actDirs = append(actDirs, sd)
	}
	nodeModules := repo(".ort", "node_modules")
	var worst float64
	var worstOp string
	var maxShare float64
	var maxShareOp string
	measured := 0
	t.Logf("%-4s %-40s %-28s %10s %12s %6s", "#", "operator", "op types", "elements", "differing", "steps")
	for i, op := range ops {
		cd := filepath.Join(dir, fmt.Sprintf("op%d", i))
		if err := os.Mkdir(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		// The cut and the exports `onnxquant convert --cut-from --cut-to`
		// and `onnxquant export [--float-io]` make, in process.
		cut, ftfl := filepath.Join(cd, "cut.onnx"), filepath.Join(cd, "f.tflite")
		cp, err := lower.Cut(m.Proto, m.Dir, op.from, []string{op.to})
		if err != nil {
			t.Errorf("%s: cut: %v", op.name, err)
			continue
		}
		if err := (&onnxio.Model{Proto: cp, Dir: m.Dir}).Save(cut, onnxio.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		export := func(floatIO bool) (*tflite.Model, error) {
			cm, err := onnxio.Load(cut)
			if err != nil {
				return nil, err
			}
			return tflite.Export(cm, tflite.ExportOptions{Target: target, FloatIO: floatIO})
		}
		im, err := export(false)
		if err != nil {
			t.Logf("%-4d %-40s %-28s not exported: %v", i, op.name, strings.Join(op.types, "+"), err)
			continue
		}
		fm, err := export(true)
		if err != nil {
			t.Errorf("%s: export --float-io: %v", op.name, err)
			continue
		}
		fdata, err := tflite.Marshal(fm)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ftfl, fdata, 0o644); err != nil {
			t.Fatal(err)
		}
		step := float64(im.Tensors[im.Outputs[0]].Quant.Scale[0])
		// Each sample as a folder of the cut's inputs, named after them.
		var sampleDirs []string
		for k, ad := range actDirs {
			sd := filepath.Join(cd, fmt.Sprintf("s%d", k))
			if err := os.Mkdir(sd, 0o755); err != nil {
				t.Fatal(err)
			}
			for j, f := range op.from {
				src := filepath.Join(ad, npyName.ReplaceAllString(op.feed[j], "_")+".npy")
				if err := os.Symlink(src, filepath.Join(sd, npyName.ReplaceAllString(f, "_")+".npy")); err != nil {
					t.Fatal(err)
				}
			}
			sampleDirs = append(sampleDirs, sd)
		}
		args := append([]string{repo("scripts", "litert-compare.mjs"), nodeModules, ftfl, cut, "--layouts", tflite.Layouts(fm)}, sampleDirs...)
		cmd := exec.Command("node", args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: litert-compare: %v\n%s", op.name, err, stderr.String())
			continue
		}
		var res compareOut
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("litert-compare output: %v", err)
		}
		n, differ := 0, 0
		maxSteps := 0.0
		for _, r := range res.Results {
			for _, o := range r.Outputs {
				for k := range o.ORT {
					s := math.Round(math.Abs(o.ORT[k]-o.LiteRT[k]) / step)
					n++
					if s > 0 {
						differ++
					}
					maxSteps = max(maxSteps, s)
				}
			}
		}
		measured++
		share := float64(differ) / float64(max(n, 1))
		t.Logf("%-4d %-40s %-28s %10d %11.3f%% %6.0f", i, op.name, strings.Join(op.types, "+"), n, 100*share, maxSteps)
		if share > maxShare {
			maxShare, maxShareOp = share, op.name
		}
		if maxSteps > worst {
			worst, worstOp = maxSteps, op.name
		}
		if maxSteps > 1 {
			t.Errorf("%s (%s): LiteRT and ONNX Runtime differ by %.0f steps", op.name, strings.Join(op.types, "+"), maxSteps)
		}
	}
	t.Logf("%d of %d operators measured; largest share differing %.3f%% (%s), largest difference %.0f steps (%s)", measured, len(ops), 100*maxShare, maxShareOp, worst, worstOp)
}
