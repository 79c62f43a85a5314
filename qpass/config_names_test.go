package qpass_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/qpass"
)

func TestNodeNameWinsOverModuleNameAndExactOverGlob(t *testing.T) {
	m := testmodel.New(13).Input("x", 1, 2).Output("y", 1, 2).
		Node("Relu", []string{"x"}, []string{"y"}).Model()
	m.Graph.Node[0].Name = strPtr("/layer1/layer1.0/act/Relu")
	gm := lowerInferred(t, m)
	relu := nodeOf(t, gm, "Relu")
	byModule, byGlob, byExact := qpass.SymmetricInt8(false, false), qpass.SymmetricA16W8(true, false), qpass.SymmetricInt8(true, false)
	cs := &qpass.ConfigSet{Global: qpass.SymmetricInt8(true, false), ModuleName: map[string]*qpass.Config{"layer1": byModule}}
	cs.NodeName = map[string]*qpass.Config{"/layer1/*": byGlob}
	if got, rule := cs.Explain(relu); got != byGlob || rule != "node_name /layer1/*" {
		t.Errorf("glob across slashes: %v by %q", got.Name, rule)
	}
	cs.NodeName["/layer1/layer1.0/act/Relu"] = byExact
	if got, rule := cs.Explain(relu); got != byExact || rule != "node_name /layer1/layer1.0/act/Relu" {
		t.Errorf("exact name: %v by %q", got.Name, rule)
	}
	cs.NodeName = map[string]*qpass.Config{"/layer2/*": byGlob}
	if got, rule := cs.Explain(relu); got != byModule || rule != "module_name layer1" {
		t.Errorf("a glob that does not match: %v by %q", got.Name, rule)
	}
}

func TestConfigNamesThatMatchNothingAreErrorsWithNearMatches(t *testing.T) {
	m := testmodel.New(13).Input("x", 1, 2).Output("y", 1, 2).
		Node("Relu", []string{"x"}, []string{"y"}).Model()
	m.Graph.Node[0].Name = strPtr("/layer1/layer1.0/act/Relu")
	gm := lowerInferred(t, m)
	int8 := qpass.SymmetricInt8(true, false)
	ok := &qpass.ConfigSet{Global: int8,
		NodeName:   map[string]*qpass.Config{"/layer1/*": int8, "/layer1/layer1.0/act/Relu": int8},
		ModuleName: map[string]*qpass.Config{"layer1.0": int8},
		ModuleType: map[string]*qpass.Config{"Relu": int8}}
	if err := ok.CheckNames(gm); err != nil {
		t.Fatalf("names that match: %v", err)
	}
	bad := &qpass.ConfigSet{Global: int8,
		NodeName:   map[string]*qpass.Config{"/layer2/*": int8},
		ModuleName: map[string]*qpass.Config{"layer1.1": int8},
		ModuleType: map[string]*qpass.Config{"Rleu": int8}}
	err := bad.CheckNames(gm)
	if !errors.Is(err, qpass.ErrConfigName) {
		t.Fatalf("error %v, want ErrConfigName", err)
	}
	for _, want := range []string{
		`node_name "/layer2/*" matches no node of the model`,
		`module_name "layer1.1" matches no module of the model (did you mean "layer1.0"?)`,
		`module_type "Rleu" matches no module type or op type of the model (did you mean "Relu"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
