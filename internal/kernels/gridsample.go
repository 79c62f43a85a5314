package kernels

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// GridSampler is 2-D GridSample: X [N,C,H,W] sampled at grid [N,Ho,Wo,2]
// of normalized (x, y) positions.
type GridSampler struct {
	Mode    string // "bilinear", "nearest" or "bicubic"
	Padding string // "zeros", "border" or "reflection"
	Align   bool   // align_corners
}

func (g GridSampler) denorm(v float64, n int) float64 {
	if g.Align {
		return (v + 1) / 2 * float64(n-1)
	}
	return ((v+1)*float64(n) - 1) / 2
}

// bounds are the limits reflection folds coordinates into.
func (g GridSampler) bounds(n int) (float64, float64) {
	if g.Align {
		return 0, float64(n - 1)
	}
	return -0.5, float64(n) - 0.5
}

func reflect(x, lo, hi float64) float64 {
	rng := hi - lo
	switch {
	case x < lo:
		d := lo - x
		k := int(d / rng)
		r := d - float64(k)*rng
		if k%2 == 0 {
			return lo + r
		}
		return hi - r
	case x > hi:
		d := x - hi
		k := int(d / rng)
		r := d - float64(k)*rng
		if k%2 == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}

// pixel reads img[r][c] applying the padding mode to out-of-range indices.
func (g GridSampler) pixel(img []float64, h, w, r, c int) float64 {
	switch g.Padding {
	case "border":
		r, c = min(max(r, 0), h-1), min(max(c, 0), w-1)
	case "reflection":
		lo, hi := g.bounds(h)
		r = int(reflect(float64(r), lo, hi))
		lo, hi = g.bounds(w)
		c = int(reflect(float64(c), lo, hi))
	}
	if r < 0 || r >= h || c < 0 || c >= w {
		return 0
	}
	return img[r*w+c]
}

// Run samples x at grid.
func (g GridSampler) Run(x, grid *tensor.Dense) (*tensor.Dense, error) {
	xsh, gsh := Dims(x), Dims(grid)
	if len(xsh) != 4 || len(gsh) != 4 || gsh[3] != 2 || gsh[0] != xsh[0] {
		return nil, fmt.Errorf("GridSample supports X [N,C,H,W] with grid [N,Ho,Wo,2], got %v and %v", xsh, gsh)
	}
	xs, err := float64s(x)
	if err != nil {
		return nil, err
	}
	gs, err := float64s(grid)
	if err != nil {
		return nil, err
	}
	n, ch, h, w := xsh[0], xsh[1], xsh[2], xsh[3]
	ho, wo := gsh[1], gsh[2]
	out := make([]float64, n*ch*ho*wo)
	for b := 0; b < n; b++ {
		for i := 0; i < ho; i++ {
			for j := 0; j < wo; j++ {
				gp := ((b*ho+i)*wo + j) * 2
				px, py := g.denorm(gs[gp], w), g.denorm(gs[gp+1], h)
				if g.Mode == "nearest" {
					px, py = math.RoundToEven(px), math.RoundToEven(py)
				}
				switch g.Padding {
				case "border":
					px, py = min(max(px, 0), float64(w-1)), min(max(py, 0), float64(h-1))
				case "reflection":
					lo, hi := g.bounds(w)
					px = reflect(px, lo, hi)
					lo, hi = g.bounds(h)
					py = reflect(py, lo, hi)
				}
				for c := 0; c < ch; c++ {
					img := xs[(b*ch+c)*h*w : (b*ch+c+1)*h*w]
					out[((b*ch+c)*ho+i)*wo+j] = g.sample(img, h, w, px, py)
				}
			}
		}
	}
	r, err := New([]int{n, ch, ho, wo}, out)
	if err != nil {
		return nil, err
	}
	return castToTypeOf(r, x)
}

func (g GridSampler) sample(img []float64, h, w int, px, py float64) float64 {
	switch g.Mode {
	case "nearest":
		return g.pixel(img, h, w, int(py), int(px))
	case "bicubic":
		x0, y0 := math.Floor(px)-1, math.Floor(py)-1
		cx, cy := cubicCoeffs(px-math.Floor(px), -0.75), cubicCoeffs(py-math.Floor(py), -0.75)
		var v float64
		for a := 0; a < 4; a++ {
			var row float64
			for b := 0; b < 4; b++ {
				row += cx[b] * g.pixel(img, h, w, int(y0)+a, int(x0)+b)
			}
			v += cy[a] * row
		}
		return v
	}
	x1, y1 := math.Floor(px), math.Floor(py)
	dx, dy := px-x1, py-y1
	r, c := int(y1), int(x1)
	return (1-dy)*((1-dx)*g.pixel(img, h, w, r, c)+dx*g.pixel(img, h, w, r, c+1)) +
		dy*((1-dx)*g.pixel(img, h, w, r+1, c)+dx*g.pixel(img, h, w, r+1, c+1))
}

// castToTypeOf converts a float64 result back to like's element type.
func castToTypeOf(r, like *tensor.Dense) (*tensor.Dense, error) {
	if like.Dtype() == r.Dtype() {
		return r, nil
	}
	return Cast(r, like.Dtype())
}
