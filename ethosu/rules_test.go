package ethosu_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/qpass"
)

func TestRulesHaveUniqueNamesAndDocs(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range ethosu.Rules() {
		if r.Name == "" || r.Doc == "" || r.Check == nil {
			t.Errorf("rule %+v lacks a name, a doc or a check", r.Name)
		}
		if seen[r.Name] {
			t.Errorf("rule %q appears twice", r.Name)
		}
		seen[r.Name] = true
	}
}

func TestLimitsDifferOnlyWhereTheFamiliesDo(t *testing.T) {
	u55 := ethosu.MustCompileSpec("ethos-u55-128").Limits()
	u65 := ethosu.MustCompileSpec("ethos-u65-256").Limits()
	u85 := ethosu.MustCompileSpec("ethos-u85-256").Limits()
	if u55 != u65 {
		t.Errorf("U55 and U65 share TOSA's +u55 subset, got %+v and %+v", u55, u65)
	}
	if u55.PoolStride != 3 || u85.PoolStride != 0 {
		t.Errorf("pool stride bound: U55 %d (want 3), U85 %d (want none)", u55.PoolStride, u85.PoolStride)
	}
	if u55.Int16Tables || !u85.Int16Tables || u55.ComparisonOps || !u85.ComparisonOps {
		t.Errorf("int16 TABLE and comparisons are U85 only: U55 %+v, U85 %+v", u55, u85)
	}
	if u55.MaxRank != 6 || u85.MaxRank != 6 || u55.ConvKernelY != 64 || u85.ConvKernelArea != 4096 {
		t.Errorf("shared limits: U55 %+v, U85 %+v", u55, u85)
	}
}

// lowerModel lowers a hand-built model without running any pass, so the
// legality rules see its Constant nodes as the exporter wrote them.
func lowerModel(t *testing.T, b *testmodel.Builder) *lower.GraphModule {
	t.Helper()
	gm, err := lower.Lower(b.Model(), "")
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

func intsConstant(name string, v ...int64) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String("Constant"), Output: []string{name},
		Attribute: []*onnxpb.AttributeProto{lower.IntsAttr("value_ints", v...)}}
}

// Before the graph-value readers were merged, the legality check read only
// a Constant's `value` attribute, so a Slice whose steps came from a
// Constant written with `value_ints` was "not constant" and refused on
// U55 even along W. The merged reader sees every attribute form.
func TestReverseRuleReadsStepsFromEveryConstantForm(t *testing.T) {
	for _, c := range []struct {
		axis int64
		rule string
	}{{3, ""}, {1, "reverse-axes"}} {
		b := testmodel.New(13).Input("x", 1, 2, 4, 6).Output("y")
		g := b.Graph()
		g.Node = append(g.Node, intsConstant("starts", -1), intsConstant("ends", -7), intsConstant("axes", c.axis), intsConstant("steps", -1))
		b.NamedNode("rev", "Slice", []string{"x", "starts", "ends", "axes", "steps"}, []string{"y"})
		rep := ethosu.CheckOperators(lowerModel(t, b), ethosu.MustCompileSpec("ethos-u55-128"))
		var got string
		for _, v := range rep.Violations() {
			got = v.RuleName + ": " + v.Rule
		}
		if c.rule == "" && got != "" {
			t.Errorf("axis %d: want legal, got %s", c.axis, got)
		}
		if c.rule != "" && !strings.HasPrefix(got, c.rule+": ") {
			t.Errorf("axis %d: want rule %s, got %q", c.axis, c.rule, got)
		}
	}
}

func TestViolationsCiteTheirRule(t *testing.T) {
	b := testmodel.New(13).Input("x", 1, 2, 16, 16).Output("y").
		NamedNode("pool", "MaxPool", []string{"x"}, []string{"y"}, lower.IntsAttr("kernel_shape", 4, 4), lower.IntsAttr("strides", 4, 4))
	gm := lowerModel(t, b)
	rep := ethosu.CheckOperators(gm, ethosu.MustCompileSpec("ethos-u55-128"))
	err := rep.Err()
	var ill *ethosu.IllegalModelError
	if !errors.As(err, &ill) || len(ill.Violations) != 1 || ill.Violations[0].RuleName != "pool-stride" {
		t.Fatalf("want one pool-stride violation on U55, got %v", err)
	}
	if want := `node "pool" (MaxPool): pooling stride 4 exceeds 3 [pool-stride]`; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not contain %q", err, want)
	}
	if err := ethosu.CheckOperators(gm, ethosu.MustCompileSpec("ethos-u85-256")).Err(); err != nil {
		t.Errorf("U85 pools with any stride: %v", err)
	}
}

// Every scheme in every config role: the IO-only uint8 scheme is refused
// wherever a config must quantize weights, as a configuration error (the
// CLI's exit 2), never a crash in the annotator.
func TestSchemesByRole(t *testing.T) {
	valid := map[qpass.Role][]string{
		qpass.RoleGlobal:     {"int8", "int8-per-tensor", "a16w8", "none"},
		qpass.RoleModuleName: {"int8", "int8-per-tensor", "a16w8", "none"},
		qpass.RoleModuleType: {"int8", "int8-per-tensor", "a16w8", "none"},
		qpass.RoleIO:         {"int8", "int8-per-tensor", "a16w8", "uint8", "none"},
	}
	for role, ok := range valid {
		for _, scheme := range ethosu.Schemes() {
			_, err := ethosu.RoleConfig(scheme, role, false)
			want := false
			for _, s := range ok {
				want = want || s == scheme
			}
			if want && err != nil {
				t.Errorf("%s as %s: %v", scheme, role, err)
			}
			if !want && !errors.Is(err, ethosu.ErrConfig) {
				t.Errorf("%s as %s: want ErrConfig, got %v", scheme, role, err)
			}
		}
	}
}

func TestLibraryRefusesAnIOConfigAsGlobal(t *testing.T) {
	b, _ := convReluModel(13)
	dir := writeSamples(t, b, 2)
	for _, set := range []func(q *ethosu.Quantizer){
		func(q *ethosu.Quantizer) { q.SetGlobal(qpass.Uint8IO(false)) },
		func(q *ethosu.Quantizer) { q.SetModuleType("Conv", qpass.Uint8IO(false)) },
	} {
		q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
		set(q)
		gm, err := lower.Lower(b.Model(), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.QuantizeWithSubmodules(context.Background(), gm, openSet(t, gm, []string{dir}), false)
		if !errors.Is(err, qpass.ErrConfigRole) {
			t.Errorf("want ErrConfigRole, got %v", err)
		}
	}
}
