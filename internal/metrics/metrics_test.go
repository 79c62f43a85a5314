package metrics

import (
	"math"
	"testing"
)

func TestSQNRByHand(t *testing.T) {
	// Σref² = 1+4+9+16 = 30, Σnoise² = 0.01·4 = 0.04 → 10·log10(750).
	ref := []float32{1, 2, 3, 4}
	got := []float32{1.1, 1.9, 3.1, 3.9}
	want := 10 * math.Log10(750)
	if s := SQNR(ref, got); math.Abs(s-want) > 1e-4 {
		t.Fatalf("SQNR = %v, want %v", s, want)
	}
	if !math.IsInf(SQNR(ref, ref), 1) {
		t.Fatal("identical tensors must give +Inf")
	}
	if m := MaxAbsError(ref, got); math.Abs(m-0.1) > 1e-6 {
		t.Fatalf("MaxAbsError = %v", m)
	}
	var acc Accumulator
	acc.Add(ref[:2], got[:2])
	acc.Add(ref[2:], got[2:])
	if math.Abs(acc.SQNR()-want) > 1e-4 {
		t.Fatalf("accumulated SQNR = %v, want %v", acc.SQNR(), want)
	}
}

func TestArgmaxAndAgreement(t *testing.T) {
	a := Argmax([]float32{0, 5, 1, 9, 2, 3}, 3)
	if len(a) != 2 || a[0] != 1 || a[1] != 0 {
		t.Fatalf("Argmax = %v, want [1 0]", a)
	}
	if g := Agreement([]int{1, 0, 2, 2}, []int{1, 1, 2, 0}); g != 0.5 {
		t.Fatalf("Agreement = %v", g)
	}
	th := Threshold([]float32{0.2, 0.5, 0.9}, 0.5)
	if th[0] != 0 || th[1] != 1 || th[2] != 1 {
		t.Fatalf("Threshold = %v", th)
	}
}
