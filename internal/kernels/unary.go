package kernels

import (
	"math"

	"gorgonia.org/tensor"
)

// mapF32 applies f to every element of a float32 tensor. Transcendental kernels go
// through here: the closure call is small next to the float64 math they do,
// which keeps them within an ulp of correctly rounded results.
func mapF32(op string, x *tensor.Dense, f func(float64) float64) (*tensor.Dense, error) {
	s, sh, err := f32in(op, x)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(f(float64(v)))
	}
	return New(sh, out)
}

// Sqrt returns √x element-wise (NaN for negative x).
func Sqrt(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Sqrt", x, math.Sqrt) }

// Log returns the natural logarithm element-wise.
func Log(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Log", x, math.Log) }

// Exp returns e**x element-wise.
func Exp(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Exp", x, math.Exp) }

// Erf returns the error function element-wise.
func Erf(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Erf", x, math.Erf) }

// Tanh returns the hyperbolic tangent element-wise.
func Tanh(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Tanh", x, math.Tanh) }

// Sin returns the sine element-wise.
func Sin(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Sin", x, math.Sin) }

// Cos returns the cosine element-wise.
func Cos(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Cos", x, math.Cos) }

// Floor rounds down element-wise.
func Floor(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Floor", x, math.Floor) }

// Ceil rounds up element-wise.
func Ceil(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Ceil", x, math.Ceil) }

// Round rounds half to even element-wise, as ONNX Round does.
func Round(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Round", x, math.RoundToEven) }

// Reciprocal returns 1/x element-wise.
func Reciprocal(x *tensor.Dense) (*tensor.Dense, error) {
	return mapF32("Reciprocal", x, func(v float64) float64 { return 1 / v })
}

// Sigmoid returns 1/(1+e**-x) element-wise.
func Sigmoid(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Sigmoid", x, sigmoid) }

func sigmoid(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

// Softplus returns ln(e**x + 1) element-wise, computed without overflow.
func Softplus(x *tensor.Dense) (*tensor.Dense, error) { return mapF32("Softplus", x, softplus) }

func softplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

// Softsign returns x/(1+|x|) element-wise.
func Softsign(x *tensor.Dense) (*tensor.Dense, error) {
	return mapF32("Softsign", x, func(v float64) float64 { return v / (1 + math.Abs(v)) })
}

// HardSigmoid returns max(0, min(1, alpha*x+beta)) (ONNX defaults alpha=0.2, beta=0.5).
func HardSigmoid(x *tensor.Dense, alpha, beta float32) (*tensor.Dense, error) {
	return HardSigmoidWith(nil, x, alpha, beta)
}

// HardSigmoidWith is HardSigmoid writing into a buffer from alloc.
func HardSigmoidWith(alloc Alloc, x *tensor.Dense, alpha, beta float32) (*tensor.Dense, error) {
	s, sh, err := f32in("HardSigmoid", x)
	if err != nil {
		return nil, err
	}
	out := alloc.f32(len(s))
	for i, v := range s {
		out[i] = max(0, min(1, alpha*v+beta))
	}
	return New(sh, out)
}

// HardSwish returns x*max(0, min(1, x/6+0.5)).
func HardSwish(x *tensor.Dense) (*tensor.Dense, error) { return HardSwishWith(nil, x) }

// HardSwishWith is HardSwish writing into a buffer from alloc.
func HardSwishWith(alloc Alloc, x *tensor.Dense) (*tensor.Dense, error) {
	s, sh, err := f32in("HardSwish", x)
	if err != nil {
		return nil, err
	}
	out := alloc.f32(len(s))
	for i, v := range s {
		out[i] = v * max(0, min(1, v/6+0.5))
	}
	return New(sh, out)
}

// LeakyRelu returns x for x >= 0 and alpha*x otherwise (ONNX default alpha=0.01).
func LeakyRelu(x *tensor.Dense, alpha float32) (*tensor.Dense, error) {
	s, sh, err := f32in("LeakyRelu", x)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(s))
	for i, v := range s {
		if v < 0 {
			v *= alpha
		}
		out[i] = v
	}
	return New(sh, out)
}

// Elu returns x for x >= 0 and alpha*(e**x-1) otherwise (default alpha=1).
func Elu(x *tensor.Dense, alpha float32) (*tensor.Dense, error) {
	a := float64(alpha)
	return mapF32("Elu", x, func(v float64) float64 {
		if v < 0 {
			return a * math.Expm1(v)
		}
		return v
	})
}

// Selu returns gamma*x for x > 0 and gamma*alpha*(e**x-1) otherwise.
func Selu(x *tensor.Dense, alpha, gamma float32) (*tensor.Dense, error) {
	a, g := float64(alpha), float64(gamma)
	return mapF32("Selu", x, func(v float64) float64 {
		if v <= 0 {
			return g * a * math.Expm1(v)
		}
		return g * v
	})
}

// Gelu is ONNX Gelu (opset 20): approximate "none" uses erf, "tanh" the tanh formula.
func Gelu(x *tensor.Dense, approximate string) (*tensor.Dense, error) {
	switch approximate {
	case "", "none":
		return mapF32("Gelu", x, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) })
	case "tanh":
		c := math.Sqrt(2 / math.Pi)
		return mapF32("Gelu", x, func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))) })
	}
	return nil, shapeErr("Gelu", "unknown approximate %q", approximate)
}

// Relu returns max(x, 0) element-wise for any signed numeric type.
func Relu(x *tensor.Dense) (*tensor.Dense, error) { return ReluWith(nil, x) }

// ReluWith is Relu writing a float32 result into a buffer from alloc.
func ReluWith(alloc Alloc, x *tensor.Dense) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Relu", "missing input")
	}
	switch s := Flat(x).(type) {
	case []float32:
		return New(Dims(x), reluF32(alloc.f32(len(s)), s))
	case []float64:
		return New(Dims(x), reluT(s))
	case []int64:
		return New(Dims(x), reluT(s))
	case []int32:
		return New(Dims(x), reluT(s))
	case []int8:
		return New(Dims(x), reluT(s))
	}
	return nil, dtypeErr("Relu", Flat(x))
}

// reluF32 is reluT for float32 without branches (see clipF32): v > 0
// keeps the bits, anything else (negatives, zeros, NaN) gives +0.
func reluF32(out, s []float32) []float32 {
	out = out[:len(s)]
	for i := reluVector(out, s); i < len(s); i++ {
		v := s[i]
		out[i] = math.Float32frombits(math.Float32bits(v) & -b2u(v > 0))
	}
	return out
}

func reluT[T number](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		if v > 0 {
			out[i] = v
		}
	}
	return out
}

// Neg returns -x element-wise.
func Neg(x *tensor.Dense) (*tensor.Dense, error) { return signed("Neg", x, false) }

// Abs returns |x| element-wise.
func Abs(x *tensor.Dense) (*tensor.Dense, error) { return signed("Abs", x, true) }

func signed(op string, x *tensor.Dense, abs bool) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr(op, "missing input")
	}
	var out any
	switch s := Flat(x).(type) {
	case []float32:
		out = negAbs(s, abs)
	case []float64:
		out = negAbs(s, abs)
	case []int64:
		out = negAbs(s, abs)
	case []int32:
		out = negAbs(s, abs)
	case []int16:
		out = negAbs(s, abs)
	case []int8:
		out = negAbs(s, abs)
	case []uint8:
		if !abs {
			return nil, dtypeErr(op, s)
		}
		out = append([]uint8(nil), s...)
	default:
		return nil, dtypeErr(op, s)
	}
	return New(Dims(x), out)
}

func negAbs[T float32 | float64 | int64 | int32 | int16 | int8](s []T, abs bool) []T {
	out := make([]T, len(s))
	for i, v := range s {
		if !abs || v < 0 {
			v = -v
		}
		out[i] = v
	}
	if abs {
		// -0 stays -0 above; Abs must clear the sign of zeros too.
		for i, v := range out {
			if v == 0 {
				out[i] = 0
			}
		}
	}
	return out
}

// Sign returns -1, 0 or 1 element-wise (float32).
func Sign(x *tensor.Dense) (*tensor.Dense, error) {
	return mapF32("Sign", x, func(v float64) float64 {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return v
	})
}

// Clip clamps x into [lo, hi]; pass -Inf/+Inf (or the type's limits) for an absent bound.
// Works on float32 and the integer types; NaN inputs pass through.
func Clip(x *tensor.Dense, lo, hi float64) (*tensor.Dense, error) { return ClipWith(nil, x, lo, hi) }

// ClipWith is Clip writing a float32 result into a buffer from alloc.
func ClipWith(alloc Alloc, x *tensor.Dense, lo, hi float64) (*tensor.Dense, error) {
	if x == nil {
		return nil, shapeErr("Clip", "missing input")
	}
	var out any
	switch s := Flat(x).(type) {
	case []float32:
		out = clipF32(alloc.f32(len(s)), s, float32(lo), float32(hi))
	case []float64:
		out = clipT(s, lo, hi)
	case []int64:
		out = clipT(s, int64(max(lo, math.MinInt64)), int64(min(hi, math.MaxInt64)))
	case []int32:
		out = clipT(s, int32(max(lo, math.MinInt32)), int32(min(hi, math.MaxInt32)))
	case []int8:
		out = clipT(s, int8(max(lo, math.MinInt8)), int8(min(hi, math.MaxInt8)))
	case []uint8:
		out = clipT(s, uint8(max(lo, 0)), uint8(min(hi, math.MaxUint8)))
	default:
		return nil, dtypeErr("Clip", s)
	}
	return New(Dims(x), out)
}

// clipF32 is clipT for float32 without branches: ReLU6 inputs fall on
// either side of a bound at random, which a branch predictor cannot follow.
// The bulk goes through SIMD max/min where available (see clipVector); in
// the scalar tail each comparison becomes a mask selecting the bound's
// bits. Both give clipT's result bit for bit (NaN and -0 included).
func clipF32(out, s []float32, lo, hi float32) []float32 {
	out = out[:len(s)]
	k := clipVector(out, s, lo, hi)
	lb, hb := math.Float32bits(lo), math.Float32bits(hi)
	for i := k; i < len(s); i++ {
		v := s[i]
		b := math.Float32bits(v)
		m := -b2u(v < lo)
		b = b&^m | lb&m
		v = math.Float32frombits(b)
		m = -b2u(v > hi)
		out[i] = math.Float32frombits(b&^m | hb&m)
	}
	return out
}

// b2u is 1 for true and 0 for false; it compiles to a flag move.
func b2u(c bool) uint32 {
	var u uint32
	if c {
		u = 1
	}
	return u
}

func clipT[T number](s []T, lo, hi T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		out[i] = v
	}
	return out
}
