package kernels

import (
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

func TestEmptyKeepsShapeAndType(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Int64, tensor.Bool, tensor.Uint8} {
		e := Empty([]int{2, 0, 3}, dt)
		if sh, ok := EmptyShape(e); !ok || !slices.Equal(sh, []int{2, 0, 3}) {
			t.Fatalf("%v: EmptyShape = %v, %v", dt, sh, ok)
		}
		if !slices.Equal(Dims(e), []int{2, 0, 3}) || NumElems(e) != 0 || e.Dtype() != dt {
			t.Fatalf("%v: Dims %v, NumElems %d, dtype %v", dt, Dims(e), NumElems(e), e.Dtype())
		}
		if n, err := sliceLen(Flat(e)); err != nil || n != 0 {
			t.Fatalf("%v: Flat has %d elements (%v)", dt, n, err)
		}
	}
	x, err := New([]int{0, 4}, []int64{})
	if err != nil || !IsEmpty(x) || x.Dtype() != tensor.Int64 {
		t.Fatalf("New of zero elements: %v, %v", x, err)
	}
	if v, err := Ints(x); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Ints of empty = %v, %v; want an empty non-nil list", v, err)
	}
	// gorgonia's own arithmetic must refuse the placeholder element.
	if _, err := tensor.Add(Empty([]int{0}, tensor.Float32), Empty([]int{0}, tensor.Float32)); err == nil {
		t.Fatal("gorgonia Add on empty tensors succeeded")
	}
}
