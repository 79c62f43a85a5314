package onnxio_test

import (
	"errors"
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnxio"
)

func TestElemCountRefusesNegativeAndOverflowingShapes(t *testing.T) {
	for _, dims := range [][]int64{{1, -4}, {1 << 32, 1 << 32, 4}, {1 << 32, 1 << 32, 1 << 32, 1 << 32, 3}} {
		if _, err := onnxio.ElemCount(dims); !errors.Is(err, onnxio.ErrLimit) {
			t.Errorf("ElemCount(%v) = %v, want a limit error", dims, err)
		}
	}
	// A zero dimension makes the count zero; the other sizes must still
	// multiply without overflow (strides are computed from them).
	if n, err := onnxio.ElemCount([]int64{0, 1 << 20, 1 << 20}); n != 0 || err != nil {
		t.Errorf("ElemCount with a zero dim = %d, %v", n, err)
	}
	if _, err := onnxio.ElemCount([]int64{0, 1 << 40, 1 << 40}); !errors.Is(err, onnxio.ErrLimit) {
		t.Errorf("zero dim beside sizes whose product overflows: %v", err)
	}
	if err := (onnxio.Limits{MaxTensorBytes: 1024}).CheckTensor([]int64{16, 17}, 4); !errors.Is(err, onnxio.ErrLimit) {
		t.Errorf("1088 bytes under a 1024-byte budget: %v", err)
	}
	if err := (onnxio.Limits{MaxTensorBytes: 1024}).CheckTensor([]int64{16, 16}, 4); err != nil {
		t.Errorf("1024 bytes under a 1024-byte budget: %v", err)
	}
}

func TestRangeLenIsExactAtTheEndsOfInt64(t *testing.T) {
	cases := []struct{ s, l, d, want int64 }{
		{0, 10, 3, 4}, {10, 0, -3, 4}, {0, 0, 1, 0}, {5, 0, 1, 0},
		{math.MinInt64, math.MaxInt64, math.MaxInt64, 3},
		{math.MaxInt64, math.MinInt64, math.MinInt64, 2},
	}
	for _, c := range cases {
		if n, ok := onnxio.RangeLen(c.s, c.l, c.d); !ok || n != c.want {
			t.Errorf("RangeLen(%d, %d, %d) = %d, %v; want %d", c.s, c.l, c.d, n, ok, c.want)
		}
	}
	if _, ok := onnxio.RangeLen(math.MinInt64, math.MaxInt64, 1); ok {
		t.Error("RangeLen over the whole int64 range fits in int64?")
	}
}
