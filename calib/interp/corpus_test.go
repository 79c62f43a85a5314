package interp_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

// corpusSets maps each corpus model to its calibration sets (corpus README).
var corpusSets = map[string][]string{
	"mobilenet_v2":        {"imagenet224"},
	"resnet18":            {"imagenet224"},
	"squeezenet1_1":       {"imagenet224"},
	"mobilenet_v3_small":  {"imagenet224"},
	"tiny_transformer":    {"logmel16x40"},
	"branchy_if_loop":     {"branchy"},
	"silero_vad_legacy":   {"silero_legacy_16k", "silero_legacy_8k"},
	"ppocr_mobile_v2_cls": {"ocr_cls48x192"},
}

// referenceDir finds the ORT outputs of sample i of a set: the first set of a
// model uses reference/<model>/sample_NNN, other sets a folder named after
// the set when there is one.
func referenceDir(corpus, model, set string, first bool, sample string) string {
	base := filepath.Join(corpus, "reference", model)
	if !first {
		for _, cand := range []string{
			filepath.Join(base, set, sample),
			filepath.Join(base, set+"_"+sample),
			filepath.Join(base, sample+"_"+set),
		} {
			if ok, _ := filepath.Glob(filepath.Join(cand, "*.npy")); len(ok) > 0 {
				return cand
			}
		}
		if strings.HasSuffix(set, "_8k") {
			if ok, _ := filepath.Glob(filepath.Join(base, "8k", sample, "*.npy")); len(ok) > 0 {
				return filepath.Join(base, "8k", sample)
			}
		}
	}
	return filepath.Join(base, sample)
}

func TestCorpusModelsMatchOnnxRuntimeReferences(t *testing.T) {
	corpus := testenv.Corpus(t)
	for model, sets := range corpusSets {
		t.Run(model, func(t *testing.T) {
			gm := loadModule(t, filepath.Join(corpus, "models", model+".onnx"))
			it := newInterp(t, gm, 2)
			for si, set := range sets {
				for _, path := range samples(t, filepath.Join(corpus, "calib", set))[:3] {
					sample := strings.TrimSuffix(filepath.Base(path), ".npy")
					refDir := referenceDir(corpus, model, set, si == 0, sample)
					refs, _ := filepath.Glob(filepath.Join(refDir, "*.npy"))
					if len(refs) == 0 {
						t.Fatalf("%s/%s: no references in %s", set, sample, refDir)
					}
					out, err := it.Run(context.Background(), readSample(t, gm, path), nil)
					if err != nil {
						t.Fatalf("%s/%s: %v", set, sample, err)
					}
					for _, ref := range refs {
						name := strings.TrimSuffix(filepath.Base(ref), ".npy")
						want, err := dataset.ReadNPY(ref)
						if err != nil {
							t.Fatal(err)
						}
						got, ok := out[name]
						if !ok {
							t.Fatalf("%s/%s: no output %q", set, sample, name)
						}
						if e := relL2(t, got, want); e >= 1e-4 {
							t.Errorf("%s/%s output %q: relative L2 error %.3g", set, sample, name, e)
						} else {
							t.Logf("%s/%s output %q: relative L2 error %.3g", set, sample, name, e)
						}
					}
				}
			}
		})
	}
}
