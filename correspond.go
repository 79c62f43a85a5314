package onnxquant

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ErrNotSource is wrapped by CheckSource's errors: the float model is not
// the one the quantized model was made from.
var ErrNotSource = fmt.Errorf("not the quantized model's source")

// CheckSource checks that floatPath is the model quantPath was quantized
// from, before the two are compared: a quantized model records the SHA-256
// of its source file, which must match (unless anySource, for a source
// exported again with the same weights). Either way their graphs must
// have the same inputs and outputs.
func CheckSource(floatPath, quantPath string, anySource bool) error {
	q, err := onnxio.Load(quantPath)
	if err != nil {
		return err
	}
	f, err := onnxio.Load(floatPath)
	if err != nil {
		return err
	}
	if want := Provenance(q.Proto)[MetaSourceSHA256]; want != "" && !anySource {
		got, err := fileSHA256(floatPath)
		if err != nil {
			return fmt.Errorf("model %q: %w", floatPath, err)
		}
		if got != want {
			return fmt.Errorf("%w: %q was quantized from a model whose SHA-256 is %s, but %q has %s; pass the float model it was made from (or --any-source if this one was exported again with the same weights)",
				ErrNotSource, quantPath, short(want), floatPath, short(got))
		}
	}
	for _, side := range []struct {
		what       string
		float, qnt []*onnxpb.ValueInfoProto
	}{{"inputs", f.Proto.Graph.Input, q.Proto.Graph.Input}, {"outputs", f.Proto.Graph.Output, q.Proto.Graph.Output}} {
		fn, qn := valueNames(side.float, f.Proto.Graph), valueNames(side.qnt, q.Proto.Graph)
		if !slices.Equal(fn, qn) {
			return fmt.Errorf("%w: the graphs do not correspond: %q has %s [%s], %q has [%s]",
				ErrNotSource, floatPath, side.what, strings.Join(fn, ", "), quantPath, strings.Join(qn, ", "))
		}
	}
	return nil
}

// valueNames lists graph inputs or outputs by name, leaving out inputs
// that are initializers (IR < 4 models list those as inputs).
func valueNames(vis []*onnxpb.ValueInfoProto, g *onnxpb.GraphProto) []string {
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = true
	}
	var out []string
	for _, vi := range vis {
		if !inits[vi.GetName()] {
			out = append(out, vi.GetName())
		}
	}
	return out
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}
