package ethosu

// THROWAWAY diagnostic (accuracy investigation); not to be committed.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/evaluate"
	"github.com/onnxquant/onnxquant/calib/interp"
	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

var diagFolders = map[string][]string{
	"mobilenet_v2": {"imagenet224"}, "resnet18": {"imagenet224"}, "squeezenet1_1": {"imagenet224"},
	"mobilenet_v3_small": {"imagenet224"}, "tiny_transformer": {"logmel16x40"}, "branchy_if_loop": {"branchy"},
	"silero_vad_legacy": {"silero_legacy_16k", "silero_legacy_8k"}, "ppocr_mobile_v2_cls": {"ocr_cls48x192"},
}

func diagPaths(t *testing.T, model string, from, n int) []string {
	var out []string
	for _, d := range diagFolders[model] {
		des, _ := os.ReadDir(filepath.Join("/work/shared/corpus/calib", d))
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		sort.Strings(names)
		for _, nm := range names[from : from+n] {
			out = append(out, filepath.Join("/work/shared/corpus/calib", d, nm))
		}
	}
	return out
}

func diagLoad(t *testing.T, model string) (*onnxio.Model, *lower.GraphModule) {
	m, err := onnxio.Load(filepath.Join("/work/shared/corpus/models", model+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	gm, err := lower.Lower(m.Proto, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return m, gm
}

func diagSet(t *testing.T, gm *lower.GraphModule, paths []string) *dataset.Set {
	s, err := dataset.Open(paths, calib.InputSpecs(gm))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type acc struct{ sig, noise float64 }

func (a *acc) db() float64 { return 10 * math.Log10(a.sig/a.noise) }

func TestZZDiag(t *testing.T) {
	model := os.Getenv("DIAG_MODEL")
	if model == "" {
		t.Skip()
	}
	scheme, target, mode := os.Getenv("DIAG_SCHEME"), os.Getenv("DIAG_TARGET"), os.Getenv("DIAG_MODE")
	if target == "" {
		target = "ethos-u85-256"
	}
	ncal := 4
	fmt.Sscan(os.Getenv("DIAG_NCAL"), &ncal)
	ctx := context.Background()
	q := NewEthosUQuantizer(MustCompileSpec(target))
	if scheme == "a16w8" || mode == "wonly" {
		q.SetGlobal(qpass.SymmetricA16W8(true, false))
	}
	_, fgm := diagLoad(t, model)
	_, gm := diagLoad(t, model)
	calSet := diagSet(t, gm, diagPaths(t, model, 0, ncal))
	evSet := diagSet(t, gm, diagPaths(t, model, 12, 4))
	if err := q.prepare(ctx, gm, calSet); err != nil {
		t.Fatal(err)
	}
	ann, err := q.Annotate(gm)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ann.Points() {
		switch {
		case mode == "wonly" && !p.Constant() && !p.Derived():
			p.Spec = &qpass.QSpec{DType: int32(onnxpb.TensorProto_INT16), QMin: -32767, QMax: 32767, Symmetric: true, Eps: 1e-30, Observer: qpass.MinMaxObserver}
		case mode == "aonly" && p.Derived():
			p.BiasInput, p.BiasWeight = nil, nil
			p.Spec = &qpass.QSpec{DType: int32(onnxpb.TensorProto_INT32), QMin: -2147483647, QMax: 2147483647, Symmetric: true, Eps: 1e-30}
		case mode == "aonly" && p.Constant():
			p.Spec = &qpass.QSpec{DType: int32(onnxpb.TensorProto_INT32), QMin: -2147483647, QMax: 2147483647, Symmetric: true, Eps: 1e-30, PerChannel: p.Spec.PerChannel}
		case mode == "minmax" && !p.Constant() && !p.Derived():
			s := *p.Spec
			s.Observer = qpass.MinMaxObserver
			p.Spec = &s
		}
	}
	reqs, constant := observationPlan(ann, false, nil)
	it, err := interp.New(gm, interp.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := calib.Calibrate(ctx, it, calSet, reqs, calib.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	qp, err := computeQParams(ann, st, constant, gm.Root().Dir)
	if err != nil {
		t.Fatal(err)
	}
	// Own error of every observed point on the eval samples, in the float transformed graph.
	var keys []evaluate.Key
	for _, r := range st.Requests {
		for _, s := range r.Sites {
			keys = append(keys, evaluate.Key{Module: s.Module, Name: s.Value})
		}
	}
	own := map[int]*acc{}
	siteRange := map[evaluate.Key][2]float32{}
	for i := 0; i < evSet.Len(); i++ {
		smp, err := evSet.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		c := evaluate.NewCapture(keys...)
		if _, err := it.Run(ctx, smp.Inputs, c); err != nil {
			t.Fatal(err)
		}
		for _, r := range st.Requests {
			p := pointByID(ann, r.ID)
			par := qp[r.ID]
			a := own[r.ID]
			if a == nil {
				a = &acc{}
				own[r.ID] = a
			}
			for _, s := range r.Sites {
				k := evaluate.Key{Module: s.Module, Name: s.Value}
				for _, tt := range c.Values(k) {
					d, ok := tt.Data().([]float32)
					if !ok {
						if f, ok2 := tt.Data().(float32); ok2 {
							d = []float32{f}
						}
					}
					rg, seen := siteRange[k]
					if !seen {
						rg = [2]float32{float32(math.Inf(1)), float32(math.Inf(-1))}
					}
					for _, x := range d {
						rg[0], rg[1] = min(rg[0], x), max(rg[1], x)
						qv := math.RoundToEven(float64(x)/float64(par.Scale[0])) + float64(par.ZeroPoint[0])
						qv = math.Max(float64(p.Spec.QMin), math.Min(float64(p.Spec.QMax), qv))
						y := (qv - float64(par.ZeroPoint[0])) * float64(par.Scale[0])
						a.sig += float64(x) * float64(x)
						a.noise += (float64(x) - y) * (float64(x) - y)
					}
					siteRange[k] = rg
				}
			}
		}
	}
	type row struct {
		id  int
		db  float64
		txt string
	}
	var rows []row
	for _, r := range st.Requests {
		p := pointByID(ann, r.ID)
		par := qp[r.ID]
		lo := float32(float64(p.Spec.QMin-par.ZeroPoint[0]) * float64(par.Scale[0]))
		hi := float32(float64(p.Spec.QMax-par.ZeroPoint[0]) * float64(par.Scale[0]))
		var emin, emax float32
		o := st.Observers[r.ID]
		if h, ok := o.(*observe.Histogram); ok {
			emin, emax = h.MinMax()
		} else {
			emin, emax = o.Range()
		}
		var sites []string
		for _, s := range r.Sites {
			k := evaluate.Key{Module: s.Module, Name: s.Value}
			rg := siteRange[k]
			sites = append(sites, fmt.Sprintf("%s:%s[%.3g,%.3g]", s.Module, s.Value, rg[0], rg[1]))
		}
		if len(sites) > 6 {
			sites = append(sites[:6], fmt.Sprintf("...(%d)", len(r.Sites)))
		}
		prod := ""
		if v := p.Sites[0].Value; v.Producer != nil {
			prod = v.Producer.Target.OpType
		}
		rows = append(rows, row{r.ID, own[r.ID].db(), fmt.Sprintf("#%d %s bits=%d own=%.1fdB calib[%.4g,%.4g] chosen[%.4g,%.4g] zp=%d %s", r.ID, prod, p.Spec.QMax-p.Spec.QMin, own[r.ID].db(), emin, emax, lo, hi, par.ZeroPoint[0], strings.Join(sites, " "))})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].db < rows[j].db })
	for i, r := range rows {
		if i < 25 {
			t.Log(r.txt)
		}
	}
	if err := qpass.ConvertToQDQ(gm, ann, qp); err != nil {
		t.Fatal(err)
	}
	rep, err := evaluate.Evaluate(ctx, fgm, gm, evSet, evaluate.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rep.Outputs {
		t.Logf("OUTPUT %s %s %s: SQNR %.2f dB", model, scheme+mode, o.Name, float64(o.SQNR))
	}
	_ = tensor.Float32
}
