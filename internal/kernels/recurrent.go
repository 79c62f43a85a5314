package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// This file holds the recurrent kernels (LSTM, GRU, RNN), written by the
// interpreter's author because the interpreter needed them first.

// RNNActivation is one activation function of a recurrent op with its
// optional alpha/beta (as in the activation_alpha/activation_beta attributes).
type RNNActivation struct {
	Name        string
	Alpha, Beta float32
}

// RecurrentParams are the attributes LSTM, GRU and RNN share.
type RecurrentParams struct {
	Hidden    int
	Direction string // "forward" (default), "reverse" or "bidirectional"
	// Activations lists the functions per direction (LSTM f,g,h; GRU f,g;
	// RNN f), forward first; nil takes the ONNX defaults.
	Activations       []RNNActivation
	Clip              float32 // cell clip threshold, 0 for none
	Layout            int     // 0: [seq, batch, ...]; 1: [batch, seq, ...]
	InputForget       bool    // LSTM: couple the input and forget gates
	LinearBeforeReset bool    // GRU: apply the reset gate after the recurrent product
}

type rnnKind int

const (
	kindLSTM rnnKind = iota
	kindGRU
	kindRNN
)

func (k rnnKind) String() string { return [...]string{"LSTM", "GRU", "RNN"}[k] }
func (k rnnKind) gates() int     { return [...]int{4, 3, 1}[k] }
func (k rnnKind) nAct() int      { return [...]int{3, 2, 1}[k] }

func (k rnnKind) defaultActs() []RNNActivation {
	switch k {
	case kindLSTM:
		return []RNNActivation{{Name: "Sigmoid"}, {Name: "Tanh"}, {Name: "Tanh"}}
	case kindGRU:
		return []RNNActivation{{Name: "Sigmoid"}, {Name: "Tanh"}}
	}
	return []RNNActivation{{Name: "Tanh"}}
}

// activation resolves a named activation into a function.
func activation(a RNNActivation) (func(float32) float32, error) {
	al, be := a.Alpha, a.Beta
	switch a.Name {
	case "Sigmoid":
		return func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }, nil
	case "Tanh":
		return func(x float32) float32 { return float32(math.Tanh(float64(x))) }, nil
	case "Relu":
		return func(x float32) float32 { return max(x, 0) }, nil
	case "HardSigmoid":
		return func(x float32) float32 { return min(max(al*x+be, 0), 1) }, nil
	case "LeakyRelu":
		return func(x float32) float32 {
			if x < 0 {
				return al * x
			}
			return x
		}, nil
	case "ThresholdedRelu":
		return func(x float32) float32 {
			if x > al {
				return x
			}
			return 0
		}, nil
	case "ScaledTanh":
		return func(x float32) float32 { return al * float32(math.Tanh(float64(be*x))) }, nil
	case "Affine":
		return func(x float32) float32 { return al*x + be }, nil
	case "Elu":
		return func(x float32) float32 {
			if x < 0 {
				return al * float32(math.Expm1(float64(x)))
			}
			return x
		}, nil
	case "Softsign":
		return func(x float32) float32 { return x / (1 + float32(math.Abs(float64(x)))) }, nil
	case "Softplus":
		return func(x float32) float32 { return float32(math.Log1p(math.Exp(float64(x)))) }, nil
	}
	return nil, fmt.Errorf("activation %q: %w", a.Name, ErrDtype)
}

// LSTM is ONNX LSTM (gate order i, o, f, c; peepholes i, o, f). b, seqLens,
// initH, initC and p may be nil. It returns Y, Y_h and Y_c.
func LSTM(x, w, r, b, seqLens, initH, initC, p *tensor.Dense, rp RecurrentParams) (y, yh, yc *tensor.Dense, err error) {
	outs, err := recurrent(kindLSTM, x, w, r, b, seqLens, initH, initC, p, rp)
	if err != nil {
		return nil, nil, nil, err
	}
	return outs[0], outs[1], outs[2], nil
}

// GRU is ONNX GRU (gate order z, r, h). It returns Y and Y_h.
func GRU(x, w, r, b, seqLens, initH *tensor.Dense, rp RecurrentParams) (y, yh *tensor.Dense, err error) {
	outs, err := recurrent(kindGRU, x, w, r, b, seqLens, initH, nil, nil, rp)
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

// RNN is the ONNX simple RNN. It returns Y and Y_h.
func RNN(x, w, r, b, seqLens, initH *tensor.Dense, rp RecurrentParams) (y, yh *tensor.Dense, err error) {
	outs, err := recurrent(kindRNN, x, w, r, b, seqLens, initH, nil, nil, rp)
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

func optF32(op string, d *tensor.Dense, n int, what string) ([]float32, error) {
	if d == nil {
		return nil, nil
	}
	s, _, err := f32in(op, d)
	if err != nil {
		return nil, err
	}
	if len(s) != n {
		return nil, shapeErr(op, "%s has %d elements, want %d", what, len(s), n)
	}
	return s, nil
}

func recurrent(kind rnnKind, x, w, r, b, seqLens, initH, initC, p *tensor.Dense, rp RecurrentParams) ([]*tensor.Dense, error) {
	op := kind.String()
	xs, xsh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	ws, wsh, err := f32in(op, w)
	if err != nil {
		return nil, err
	}
	rs, _, err := f32in(op, r)
	if err != nil {
		return nil, err
	}
	if len(xsh) != 3 || len(wsh) != 3 {
		return nil, shapeErr(op, "X %v and W %v must be rank 3", xsh, wsh)
	}
	seq, batch, in := xsh[0], xsh[1], xsh[2]
	if rp.Layout == 1 {
		seq, batch = xsh[1], xsh[0]
	}
	dirs := 1
	switch rp.Direction {
	case "", "forward", "reverse":
	case "bidirectional":
		dirs = 2
	default:
		return nil, shapeErr(op, "direction %q", rp.Direction)
	}
	G := kind.gates()
	H := rp.Hidden
	if H <= 0 {
		H = wsh[1] / G
	}
	if wsh[0] != dirs || wsh[1] != G*H || wsh[2] != in {
		return nil, shapeErr(op, "W %v does not fit %d directions, hidden %d, input %d", wsh, dirs, H, in)
	}
	if len(rs) != dirs*G*H*H {
		return nil, shapeErr(op, "R has %d elements, want %d", len(rs), dirs*G*H*H)
	}
	bs, err := optF32(op, b, dirs*2*G*H, "B")
	if err != nil {
		return nil, err
	}
	h0, err := optF32(op, initH, dirs*batch*H, "initial_h")
	if err != nil {
		return nil, err
	}
	c0, err := optF32(op, initC, dirs*batch*H, "initial_c")
	if err != nil {
		return nil, err
	}
	ps, err := optF32(op, p, dirs*3*H, "P")
	if err != nil {
		return nil, err
	}
	lens := make([]int, batch)
	for i := range lens {
		lens[i] = seq
	}
	if seqLens != nil {
		l, err := Ints(seqLens)
		if err != nil {
			return nil, err
		}
		if len(l) != batch {
			return nil, shapeErr(op, "sequence_lens has %d entries for batch %d", len(l), batch)
		}
		for i, v := range l {
			lens[i] = min(max(v, 0), seq)
		}
	}
	acts := rp.Activations
	if acts == nil {
		acts = kind.defaultActs()
		if dirs == 2 {
			acts = append(acts, kind.defaultActs()...)
		}
	}
	if len(acts) != kind.nAct()*dirs {
		return nil, shapeErr(op, "%d activations for %d directions, want %d", len(acts), dirs, kind.nAct()*dirs)
	}
	fns := make([]func(float32) float32, len(acts))
	for i, a := range acts {
		if fns[i], err = activation(a); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}

	xAt := func(t, bi int) []float32 {
		off := (t*batch + bi) * in
		if rp.Layout == 1 {
			off = (bi*seq + t) * in
		}
		return xs[off : off+in]
	}
	Y := make([]float32, seq*dirs*batch*H)
	yAt := func(t, d, bi int) []float32 {
		off := ((t*dirs+d)*batch + bi) * H
		if rp.Layout == 1 {
			off = ((bi*seq+t)*dirs + d) * H
		}
		return Y[off : off+H]
	}
	stAt := func(buf []float32, d, bi int) []float32 {
		off := (d*batch + bi) * H
		if rp.Layout == 1 {
			off = (bi*dirs + d) * H
		}
		return buf[off : off+H]
	}
	Yh := make([]float32, dirs*batch*H)
	Yc := make([]float32, dirs*batch*H)
	gx := make([]float32, G*H)
	gh := make([]float32, G*H)
	tmp := make([]float32, H)
	clip := func(v float32) float32 {
		if rp.Clip > 0 {
			return min(max(v, -rp.Clip), rp.Clip)
		}
		return v
	}
	for d := 0; d < dirs; d++ {
		reverse := rp.Direction == "reverse" || d == 1
		W := ws[d*G*H*in : (d+1)*G*H*in]
		R := rs[d*G*H*H : (d+1)*G*H*H]
		var Wb, Rb, P []float32
		if bs != nil {
			Wb = bs[d*2*G*H : d*2*G*H+G*H]
			Rb = bs[d*2*G*H+G*H : (d+1)*2*G*H]
		}
		if ps != nil {
			P = ps[d*3*H : (d+1)*3*H]
		}
		f := fns[d*kind.nAct():]
		for bi := 0; bi < batch; bi++ {
			h := stAt(Yh, d, bi)
			c := stAt(Yc, d, bi)
			if h0 != nil {
				copy(h, h0[(d*batch+bi)*H:(d*batch+bi+1)*H])
			}
			if c0 != nil {
				copy(c, c0[(d*batch+bi)*H:(d*batch+bi+1)*H])
			}
			n := lens[bi]
			for step := 0; step < n; step++ {
				t := step
				if reverse {
					t = n - 1 - step
				}
				xt := xAt(t, bi)
				matVec(gx, W, xt, G*H, in)
				matVec(gh, R, h, G*H, H)
				if Wb != nil {
					for i := range gx {
						gx[i] += Wb[i]
						gh[i] += Rb[i]
					}
				}
				switch kind {
				case kindLSTM:
					for j := 0; j < H; j++ {
						gi := gx[j] + gh[j]
						go_ := gx[H+j] + gh[H+j]
						gf := gx[2*H+j] + gh[2*H+j]
						gc := gx[3*H+j] + gh[3*H+j]
						if P != nil {
							gi += P[j] * c[j]
							gf += P[2*H+j] * c[j]
						}
						it := f[0](clip(gi))
						var ft float32
						if rp.InputForget {
							ft = 1 - it
						} else {
							ft = f[0](clip(gf))
						}
						ct := f[1](clip(gc))
						c[j] = ft*c[j] + it*ct
						if P != nil {
							go_ += P[H+j] * c[j]
						}
						ot := f[0](clip(go_))
						tmp[j] = ot * f[2](c[j])
					}
					copy(h, tmp)
				case kindGRU:
					// gate rows: z [0,H), r [H,2H), h [2H,3H)
					if !rp.LinearBeforeReset {
						rh := make([]float32, H)
						for j := 0; j < H; j++ {
							rt := f[0](clip(gx[H+j] + gh[H+j]))
							rh[j] = rt * h[j]
						}
						matVec(gh[2*H:], R[2*H*H:], rh, H, H)
						for j := 0; j < H; j++ {
							if Rb != nil {
								gh[2*H+j] += Rb[2*H+j]
							}
						}
						for j := 0; j < H; j++ {
							zt := f[0](clip(gx[j] + gh[j]))
							ht := f[1](clip(gx[2*H+j] + gh[2*H+j]))
							tmp[j] = (1-zt)*ht + zt*h[j]
						}
					} else {
						for j := 0; j < H; j++ {
							zt := f[0](clip(gx[j] + gh[j]))
							rt := f[0](clip(gx[H+j] + gh[H+j]))
							ht := f[1](clip(gx[2*H+j] + rt*gh[2*H+j]))
							tmp[j] = (1-zt)*ht + zt*h[j]
						}
					}
					copy(h, tmp)
				case kindRNN:
					for j := 0; j < H; j++ {
						h[j] = f[0](clip(gx[j] + gh[j]))
					}
				}
				copy(yAt(t, d, bi), h)
			}
		}
	}
	yShape := []int{seq, dirs, batch, H}
	stShape := []int{dirs, batch, H}
	if rp.Layout == 1 {
		yShape = []int{batch, seq, dirs, H}
		stShape = []int{batch, dirs, H}
	}
	yt, err := New(yShape, Y)
	if err != nil {
		return nil, err
	}
	yht, err := New(stShape, Yh)
	if err != nil {
		return nil, err
	}
	out := []*tensor.Dense{yt, yht}
	if kind == kindLSTM {
		yct, err := New(stShape, Yc)
		if err != nil {
			return nil, err
		}
		out = append(out, yct)
	}
	return out, nil
}

// matVec computes out[i] = sum_k m[i*cols+k] * v[k] for rows rows.
func matVec(out, m, v []float32, rows, cols int) {
	for i := 0; i < rows; i++ {
		row := m[i*cols : i*cols+cols]
		var s float32
		for k, mv := range row {
			s += mv * v[k]
		}
		out[i] = s
	}
}
