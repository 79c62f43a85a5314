package evaluate

import (
	"math"

	"github.com/onnxquant/onnxquant/internal/metrics"
	"github.com/onnxquant/onnxquant/lower"
)

// grid is the per-tensor integer grid a DequantizeLinear reads.
type grid struct {
	scale      float64
	zp         int64
	qmin, qmax int64
}

// gridOf reads a DequantizeLinear's constant per-tensor scale and zero
// point; nil for per-channel or computed qparams.
func gridOf(dq *lower.Node, bits int) *grid {
	if len(dq.Inputs) < 2 || dq.Inputs[1] == nil {
		return nil
	}
	s, _, ok := dq.Inputs[1].ConstantFloats()
	if !ok || len(s) != 1 || !(s[0] > 0) {
		return nil
	}
	g := &grid{scale: float64(s[0])}
	if len(dq.Inputs) > 2 && dq.Inputs[2] != nil {
		zp, ok := dq.Inputs[2].ConstantInts()
		if !ok || len(zp) != 1 {
			return nil
		}
		g.zp = zp[0]
	}
	signed := true
	if len(dq.Inputs) > 2 && dq.Inputs[2] != nil {
		if t, _, ok := dq.Inputs[2].Constant(); ok {
			dt := t.GetDataType()
			signed = dt != 2 && dt != 4 // UINT8, UINT16
		}
	}
	switch {
	case bits <= 0 || bits > 16:
		return nil
	case signed:
		g.qmin, g.qmax = -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
	default:
		g.qmin, g.qmax = 0, int64(1)<<bits-1
	}
	return g
}

// lo and hi are the ends of the grid's range.
func (g *grid) lo() float64 { return float64(g.qmin-g.zp) * g.scale }
func (g *grid) hi() float64 { return float64(g.qmax-g.zp) * g.scale }

// localStats is what one tensor's own quantization does to the float
// values: the local error (the float tensor rounded and saturated on its
// grid, the error this point adds when fed exact inputs, as ONNX Runtime's
// qdq_loss_debug pairs tensors) and how far the data goes outside the
// calibrated range.
type localStats struct {
	acc metrics.Accumulator
	// outside counts values beyond the grid's range (saturated).
	outside, total int
	// excess is the largest distance beyond the range, in units of the
	// range's width.
	excess float64
}

func (l *localStats) add(f []float32, g *grid) {
	q := make([]float32, len(f))
	lo, hi := g.lo(), g.hi()
	width := hi - lo
	for i, v := range f {
		x := float64(v)
		k := math.Round(x/g.scale) + float64(g.zp)
		k = math.Min(math.Max(k, float64(g.qmin)), float64(g.qmax))
		q[i] = float32((k - float64(g.zp)) * g.scale)
		over := math.Max(lo-x, x-hi)
		if over > g.scale/2 {
			l.outside++
			if width > 0 {
				l.excess = math.Max(l.excess, over/width)
			}
		}
	}
	l.total += len(f)
	l.acc.Add(f, q)
}

func (l *localStats) merge(o localStats) {
	merge(&l.acc, o.acc)
	l.outside += o.outside
	l.total += o.total
	l.excess = math.Max(l.excess, o.excess)
}
