package gemm_test

import (
	"fmt"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// A 2x3 matrix times a 3x2 matrix, both row-major with no padding.
func ExampleSgemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		7, 8,
		9, 10,
		11, 12,
	}
	c := make([]float32, 2*2)
	gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [58 64 139 154]
}

// With transB, b holds B transposed: a fully connected layer y = x*W^T + y
// for weights W stored as [out][in], here accumulating onto y (beta = 1).
func ExampleSgemmParallel() {
	x := []float32{1, 2}             // 1 x 2 input
	w := []float32{1, 0, 0, 1, 1, 1} // 3 x 2 weights
	y := []float32{10, 20, 30}       // 1 x 3 output, accumulated into
	gemm.SgemmParallel(2, false, true, 1, 3, 2, 1, x, 2, w, 2, 1, y, 3)
	fmt.Println(y)
	// Output: [11 22 33]
}
