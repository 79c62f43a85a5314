package calib_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/calib"
	"github.com/onnxquant/onnxquant/internal/testenv"
)

func TestWorkerCountDoesNotChangeStats(t *testing.T) {
	cases := []struct {
		model, set string
		n          int
	}{
		{"resnet18", "imagenet224", 4},
		{"branchy_if_loop", "branchy", 16},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			gm := corpusModel(t, c.model)
			it := newInterpreter(t, gm)
			set := openSet(t, gm, testenv.Samples(t, c.set)[:c.n]...)
			one := observeAll(t, it, set, 1)
			two := observeAll(t, it, set, 2)
			if one.Samples != c.n {
				t.Fatalf("%d samples counted, want %d", one.Samples, c.n)
			}
			sameStats(t, "-j 1 against -j 2", one, two)
		})
	}
}

func TestMergedShardsEqualOneRun(t *testing.T) {
	t.Run("branchy_if_loop", func(t *testing.T) {
		gm := corpusModel(t, "branchy_if_loop")
		it := newInterpreter(t, gm)
		all := testenv.Samples(t, "branchy")
		whole := observeAll(t, it, openSet(t, gm, all...), 1)
		a := saveLoad(t, observeAll(t, it, openSet(t, gm, all[:7]...), 1))
		b := saveLoad(t, observeAll(t, it, openSet(t, gm, all[7:]...), 2))
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		sameStats(t, "merge of shards against one run", a, whole)
	})
	t.Run("silero_vad_legacy", func(t *testing.T) {
		gm := corpusModel(t, "silero_vad_legacy")
		it := newInterpreter(t, gm)
		dir := filepath.Dir(testenv.Samples(t, "silero_legacy_16k")[0])
		dir8 := filepath.Join(filepath.Dir(dir), "silero_legacy_8k")
		whole := observeAll(t, it, openSet(t, gm, dir, dir8), 2)
		for _, top := range []string{"If_0.then_branch", "If_0.else_branch"} {
			if whole.Coverage[top] != 20 {
				t.Fatalf("%s reached by %d samples, want the 20 of its rate", top, whole.Coverage[top])
			}
		}
		a := saveLoad(t, observeAll(t, it, openSet(t, gm, dir), 2))
		b := saveLoad(t, observeAll(t, it, openSet(t, gm, dir8), 1))
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		sameStats(t, "merge of 16k and 8k shards against one run", a, whole)
		// The merged file alone (no model) names the same uncovered paths
		// with the same conditions as the model does.
		fromFile, fromModel := a.CheckCoverage(nil), whole.CheckCoverage(gm)
		if (fromFile == nil) != (fromModel == nil) || fromFile != nil && len(uncovered(t, fromFile)) != len(uncovered(t, fromModel)) {
			t.Fatalf("coverage from the merged file:\n%v\nfrom the model:\n%v", fromFile, fromModel)
		}
	})
}

func TestStatsFileRoundTripIsByteIdentical(t *testing.T) {
	gm := corpusModel(t, "branchy_if_loop")
	st := observeAll(t, newInterpreter(t, gm), openSet(t, gm, testenv.Samples(t, "branchy")[:5]...), 1)
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if err := st.Save(p1); err != nil {
		t.Fatal(err)
	}
	back, err := calib.Load(p1)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Save(p2); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if string(b1) != string(b2) {
		t.Fatal("saving a loaded stats file changed it")
	}
	if back.Samples != 5 || len(back.Observers) != len(st.Observers) {
		t.Fatalf("loaded %d samples and %d observers, want 5 and %d", back.Samples, len(back.Observers), len(st.Observers))
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 2 {
		t.Fatalf("the folder holds %d entries, want the two stats files and no temporary file", len(des))
	}
}

func TestLoadRejectsInconsistentStats(t *testing.T) {
	gm := corpusModel(t, "branchy_if_loop")
	st := observeAll(t, newInterpreter(t, gm), openSet(t, gm, testenv.Samples(t, "branchy")[:2]...), 1)
	good := string(statsJSON(t, st))
	for name, edit := range map[string]func(string) string{
		"version":          func(s string) string { return strings.Replace(s, `"version":1,"samples"`, `"version":9,"samples"`, 1) },
		"truncated":        func(s string) string { return s[:len(s)/2] },
		"coverage > total": func(s string) string { return strings.Replace(s, `"Loop_0.body":2`, `"Loop_0.body":3`, 1) },
		"spec mismatch": func(s string) string {
			return strings.Replace(s, `"spec":{"kind":"histogram"}`, `"spec":{"kind":"minmax"}`, 1)
		},
	} {
		bad := edit(good)
		if bad == good {
			t.Fatalf("%s: the edit did not apply", name)
		}
		path := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := calib.Load(path); err == nil {
			t.Errorf("%s: Load accepted a broken stats file", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestMergeRejectsStatsOfAnotherPlan(t *testing.T) {
	gm := corpusModel(t, "branchy_if_loop")
	it := newInterpreter(t, gm)
	set := openSet(t, gm, testenv.Samples(t, "branchy")[:2]...)
	a := observeAll(t, it, set, 1)
	reqs := calib.AllActivations(gm)[:3]
	b, err := calib.Observe(t.Context(), it.Module(), set, reqs, calib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b); err == nil {
		t.Fatal("merging stats of different plans succeeded")
	}
}

// TestMergeRefusesOverflowingCounts: sample counts come from files; a
// negative one or a sum past the int range is an error, not a wrapped
// (negative) count in the merged stats.
func TestMergeRefusesOverflowingCounts(t *testing.T) {
	gm := corpusModel(t, "branchy_if_loop")
	it := newInterpreter(t, gm)
	set := openSet(t, gm, testenv.Samples(t, "branchy")[:2]...)
	for _, c := range []struct{ a, b int }{{math.MaxInt - 1, 2}, {-5, 1}} {
		a, b := observeAll(t, it, set, 1), observeAll(t, it, set, 1)
		a.Samples, b.Samples = c.a, c.b
		err := a.Merge(b)
		if err == nil || !strings.Contains(err.Error(), "sample counts") {
			t.Errorf("merging counts %d and %d: %v", c.a, c.b, err)
		}
	}
}
