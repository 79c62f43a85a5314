package kernels

import (
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// ConvPlan is a Conv whose weight is known before the first call (an
// initializer), with each group's weight matrix packed once for the GEMM
// instead of on every call. Packing copies the whole weight, so for a model
// dominated by convolutions it is a sizeable share of the work saved.
//
// Results are bit-identical to ConvWith with the same weight, except for
// 3x3 stride-1 layers where Winograd's F(2x2, 3x3) is cheaper than im2col +
// GEMM (see winograd3x3): those differ in the last bits. A ConvPlan is
// read-only after NewConvPlan and may be used by concurrent calls; the weight
// tensor must not change while the plan is in use.
type ConvPlan struct {
	w    *tensor.Dense
	p    ConvParams
	wino *winograd3x3 // nil unless the weight is 3x3 and the Conv ungrouped, stride 1, undilated

	// gemmPath is false when Conv never takes the GEMM path (depthwise).
	// The packed weights are built on the first call that takes it: a
	// layer Winograd computes never needs them.
	gemmPath   bool
	packedOnce sync.Once
	packed     []*gemm.PackedA // one per group
}

// NewConvPlan prepares Conv with weight w [M, C/group, k...] and attributes p.
// It checks only what the weight alone decides (element type, rank, groups);
// the rest is checked against each input at Run, as ConvWith does.
func NewConvPlan(w *tensor.Dense, p ConvParams) (*ConvPlan, error) {
	const op = "Conv"
	ws, wsh, err := f32in(op, w)
	if err != nil {
		return nil, err
	}
	if len(wsh) < 3 || len(wsh) > 5 {
		return nil, shapeErr(op, "weight %v must be rank 3 to 5", wsh)
	}
	group := max(p.Group, 1)
	if wsh[0]%group != 0 {
		return nil, shapeErr(op, "weight %v does not split into %d groups", wsh, group)
	}
	// ConvWith takes the direct depthwise loop when each group has one input
	// channel and the kernel has no depth extent; only the rest reaches GEMM.
	depthwise := wsh[1] == 1 && (len(wsh) < 5 || wsh[2] == 1)
	return &ConvPlan{w: w, p: p, wino: newWinograd3x3(ws, wsh, p), gemmPath: !depthwise}, nil
}

// packedWeights returns each group's weight matrix packed for the GEMM
// (nil for a depthwise Conv), packing it on the first call.
func (cp *ConvPlan) packedWeights() []*gemm.PackedA {
	if !cp.gemmPath {
		return nil
	}
	cp.packedOnce.Do(func() {
		ws, wsh := cp.w.Data().([]float32), cp.w.Shape()
		group := max(cp.p.Group, 1)
		Mg, rows := wsh[0]/group, 1
		for _, d := range wsh[1:] {
			rows *= d
		}
		cp.packed = make([]*gemm.PackedA, group)
		for gi := range cp.packed {
			cp.packed[gi] = gemm.PackA(false, Mg, rows, ws[gi*Mg*rows:(gi+1)*Mg*rows], rows)
		}
	})
	return cp.packed
}

// ConvWith runs the planned Conv on x with optional bias b, writing its
// result into a buffer from alloc.
func (cp *ConvPlan) ConvWith(alloc Alloc, x, b *tensor.Dense, workers int) (*tensor.Dense, error) {
	return convWith(alloc, x, cp.w, b, cp.p, workers, cp)
}
