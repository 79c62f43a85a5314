// Package testoracle gives tests the references a rewritten or quantized
// model is run against: the float interpreter (internal/interp), which every
// build has, and ONNX Runtime (internal/ortoracle), which only builds with
// the "ort" tag have. A test that compares a model before and after a
// rewrite asks All for the references and makes the comparison with each,
// so it means something on a bare Go install and checks against an
// independent engine when scripts/test.sh runs it.
package testoracle

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/internal/ortoracle"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Oracle runs a model on one set of inputs and returns every graph output
// by name.
type Oracle struct {
	Name string
	Run  func(m *onnxpb.ModelProto, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error)
}

// Interpreter runs models in the float interpreter, one worker.
var Interpreter = Oracle{Name: "interpreter", Run: runInterpreter}

// ORT runs models in ONNX Runtime with default options. It fails in a build
// without the "ort" tag; All leaves it out there.
var ORT = Oracle{Name: "ONNX Runtime", Run: runORT}

// All returns the interpreter, and ONNX Runtime when testenv.ORT says the
// test compares against it.
func All(t testing.TB) []Oracle {
	t.Helper()
	if testenv.ORT(t) {
		return []Oracle{Interpreter, ORT}
	}
	return []Oracle{Interpreter}
}

// Reference is one oracle's outputs for the original model, which a
// rewritten model's outputs are compared with.
type Reference struct {
	Oracle Oracle
	Want   map[string]*tensor.Dense
}

// Originals runs the original model in every oracle of All. The interpreter
// is left out (with a log line) when it cannot run the original, which is a
// gap in the reference, not in the code under test; ONNX Runtime failing the
// original fails the test.
func Originals(t testing.TB, m *onnxpb.ModelProto, inputs map[string]*tensor.Dense) []Reference {
	t.Helper()
	var refs []Reference
	for _, o := range All(t) {
		want, err := o.Run(m, inputs)
		if err != nil {
			if o.Name == Interpreter.Name {
				t.Logf("interpreter comparison left out: it cannot run the original: %v", err)
				continue
			}
			t.Fatalf("original model in %s: %v", o.Name, err)
		}
		refs = append(refs, Reference{o, want})
	}
	return refs
}

// Got runs m, the rewritten model, in r's oracle and fails the test when it
// cannot: the oracle ran the original.
func (r Reference) Got(t testing.TB, m *onnxpb.ModelProto, inputs map[string]*tensor.Dense) map[string]*tensor.Dense {
	t.Helper()
	got, err := r.Oracle.Run(m, inputs)
	if err != nil {
		t.Fatalf("%s runs the original but not the rewritten model: %v", r.Oracle.Name, err)
	}
	return got
}

func runInterpreter(m *onnxpb.ModelProto, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	// Lowering takes ownership of the proto; the caller keeps theirs.
	gm, err := lower.Lower(proto.Clone(m).(*onnxpb.ModelProto), "")
	if err != nil {
		return nil, fmt.Errorf("lower: %w", err)
	}
	it, err := interp.New(gm, interp.Options{Workers: 1})
	if err != nil {
		return nil, err
	}
	return it.Run(context.Background(), inputs, nil)
}

func runORT(m *onnxpb.ModelProto, inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return ortoracle.RunBytes(b, inputs)
}
