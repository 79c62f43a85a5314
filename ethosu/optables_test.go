package ethosu_test

import (
	"slices"
	"testing"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/qpass"
)

// The operator tables of the target, the annotator, the transform passes
// and the interpreter must agree: an op the target runs needs a way to be
// annotated and a kernel to be calibrated with, and an op the annotator
// quantizes must run on some target or be rewritten away by a named pass.
// Adding an op to one table and not the others fails here, naming it.
func TestOperatorTablesAgree(t *testing.T) {
	families := qpass.AnnotatorFamilies()
	kernels := interp.SupportedOps()
	removedBy := map[string]string{}
	for _, p := range qpass.TransformForAnnotationPasses() {
		for _, op := range p.Removes {
			removedBy[op] = p.Name
		}
	}
	u85 := ethosu.MustCompileSpec("ethos-u85-256").SupportedOps()
	u55 := ethosu.MustCompileSpec("ethos-u55-128").SupportedOps()
	for _, op := range u55 {
		if !slices.Contains(u85, op) {
			t.Errorf("%s runs on U55 but not on U85", op)
		}
	}
	for _, op := range u85 {
		if _, ok := families[op]; !ok {
			t.Errorf("%s: the target runs it but the annotator has no family for it", op)
		}
		if _, ok := slices.BinarySearch(kernels, op); !ok {
			t.Errorf("%s: the target runs it but the interpreter has no kernel to calibrate it", op)
		}
	}
	for op, fam := range families {
		if slices.Contains(fam, "pass-through") {
			continue // never computes on float data
		}
		if !slices.Contains(u85, op) && removedBy[op] == "" {
			t.Errorf("%s (%v): annotated, but no target runs it and no transform pass removes it", op, fam)
		}
	}
	for op, pass := range removedBy {
		if _, ok := slices.BinarySearch(kernels, op); !ok {
			t.Errorf("%s: removed by %s, but the interpreter cannot run the float model that holds it", op, pass)
		}
	}
}
