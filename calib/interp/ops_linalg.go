package interp

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/kernels"
)

// Einsum, Det, NonMaxSuppression and Unique: computed directly in float64
// with simple loops; they appear in node tests and the odd model, never on a
// calibration hot path.
func linalgOps(t map[string]opBuilder) {
	t["Einsum"] = func(c *buildCtx) (kernel, error) {
		eq := strings.ReplaceAll(c.n.AttrString("equation", ""), " ", "")
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(einsum(eq, in))
		}, nil
	}
	t["Det"] = unary(det)
	t["NonMaxSuppression"] = func(c *buildCtx) (kernel, error) {
		center := c.n.AttrInt("center_point_box", 0) != 0
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(nonMaxSuppression(in, center))
		}, nil
	}
}

func asF64(t *tensor.Dense) ([]float64, error) {
	c, err := kernels.Cast(t, tensor.Float64)
	if err != nil {
		return nil, err
	}
	return flat(c).([]float64), nil
}

// einsum evaluates an Einstein summation by visiting every combination of
// index values once.
func einsum(eq string, in []*tensor.Dense) (*tensor.Dense, error) {
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(in) {
		return nil, fmt.Errorf("equation %q has %d operands, got %d", eq, len(terms), len(in))
	}
	size := map[byte]int{}
	count := map[byte]int{}
	ellRank := 0
	expanded := make([]string, len(terms))
	for i, term := range terms {
		sh := dims(in[i])
		if strings.Contains(term, "...") {
			k := len(sh) - (len(term) - 3)
			ellRank = max(ellRank, k)
			term = strings.Replace(term, "...", ellipsisLetters(k), 1)
		}
		if len(term) != len(sh) {
			return nil, fmt.Errorf("term %q does not match operand shape %v", terms[i], sh)
		}
		for j := 0; j < len(term); j++ {
			l := term[j]
			if s, ok := size[l]; ok && s != sh[j] && s != 1 && sh[j] != 1 {
				return nil, fmt.Errorf("index %c has sizes %d and %d", l, s, sh[j])
			}
			size[l] = max(size[l], sh[j])
			count[l]++
		}
		expanded[i] = term
	}
	var out string
	if explicit {
		out = strings.Replace(rhs, "...", ellipsisLetters(ellRank), 1)
	} else {
		var once []string
		for l, n := range count {
			if n == 1 && !isEllipsisLetter(l) {
				once = append(once, string(l))
			}
		}
		sort.Strings(once)
		out = ellipsisLetters(ellRank) + strings.Join(once, "")
	}
	letters := make([]byte, 0, len(size))
	for l := range size {
		letters = append(letters, l)
	}
	sort.Slice(letters, func(a, b int) bool { return letters[a] < letters[b] })
	pos := map[byte]int{}
	for i, l := range letters {
		pos[l] = i
	}
	data := make([][]float64, len(in))
	strideOf := make([][]int, len(in)) // per operand, per letter position
	for i, t := range in {
		d, err := asF64(t)
		if err != nil {
			return nil, err
		}
		data[i] = d
		sh := dims(t)
		st := make([]int, len(letters))
		acc := 1
		for j := len(sh) - 1; j >= 0; j-- {
			if sh[j] != 1 {
				st[pos[expanded[i][j]]] += acc
			}
			acc *= sh[j]
		}
		strideOf[i] = st
	}
	outShape := make([]int, len(out))
	ost := make([]int, len(letters))
	acc := 1
	for j := len(out) - 1; j >= 0; j-- {
		outShape[j] = size[out[j]]
		ost[pos[out[j]]] += acc
		acc *= outShape[j]
	}
	res := make([]float64, acc)
	idx := make([]int, len(letters))
	total := 1
	for _, l := range letters {
		total *= size[l]
	}
	for n := 0; n < total; n++ {
		p := 1.0
		for i := range in {
			off := 0
			for k, v := range idx {
				off += v * strideOf[i][k]
			}
			p *= data[i][off]
		}
		o := 0
		for k, v := range idx {
			o += v * ost[k]
		}
		res[o] += p
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < size[letters[k]] {
				break
			}
			idx[k] = 0
		}
	}
	r, err := newDense(outShape, res)
	if err != nil {
		return nil, err
	}
	return kernels.Cast(r, in[0].Dtype())
}

func ellipsisLetters(k int) string {
	b := make([]byte, k)
	for i := range b {
		b[i] = byte('A' + i)
	}
	return string(b)
}

func isEllipsisLetter(l byte) bool { return l >= 'A' && l <= 'Z' }

// det is the determinant of the trailing square matrices, by LU
// decomposition with partial pivoting.
func det(x *tensor.Dense) (*tensor.Dense, error) {
	sh := dims(x)
	if len(sh) < 2 || sh[len(sh)-1] != sh[len(sh)-2] {
		return nil, fmt.Errorf("Det needs [..., M, M], got %v", sh)
	}
	xs, err := asF64(x)
	if err != nil {
		return nil, err
	}
	m := sh[len(sh)-1]
	n := prod(sh[:len(sh)-2])
	out := make([]float64, n)
	a := make([]float64, m*m)
	for b := 0; b < n; b++ {
		copy(a, xs[b*m*m:(b+1)*m*m])
		d := 1.0
		for col := 0; col < m; col++ {
			p := col
			for r := col + 1; r < m; r++ {
				if math.Abs(a[r*m+col]) > math.Abs(a[p*m+col]) {
					p = r
				}
			}
			if a[p*m+col] == 0 {
				d = 0
				break
			}
			if p != col {
				for k := 0; k < m; k++ {
					a[p*m+k], a[col*m+k] = a[col*m+k], a[p*m+k]
				}
				d = -d
			}
			d *= a[col*m+col]
			for r := col + 1; r < m; r++ {
				f := a[r*m+col] / a[col*m+col]
				for k := col; k < m; k++ {
					a[r*m+k] -= f * a[col*m+k]
				}
			}
		}
		out[b] = d
	}
	r, err := newDense(sh[:len(sh)-2], out)
	if err != nil {
		return nil, err
	}
	return kernels.Cast(r, x.Dtype())
}

// nonMaxSuppression is ONNX NonMaxSuppression: greedy selection per batch
// and class by descending score, dropping boxes whose IoU with a selected
// box exceeds the threshold.
func nonMaxSuppression(in []*tensor.Dense, centerBox bool) (*tensor.Dense, error) {
	boxes, err := asF64(in[0])
	if err != nil {
		return nil, err
	}
	scores, err := asF64(in[1])
	if err != nil {
		return nil, err
	}
	ssh := dims(in[1])
	if len(ssh) != 3 {
		return nil, fmt.Errorf("scores %v must be [batch, classes, boxes]", ssh)
	}
	nb, nc, nbox := ssh[0], ssh[1], ssh[2]
	maxOut, iouTh, scoreTh := 0, 0.0, math.Inf(-1)
	if t := optIn(in, 2); t != nil {
		v, err := scalarFloat(t)
		if err != nil {
			return nil, err
		}
		maxOut = int(v)
	}
	if t := optIn(in, 3); t != nil {
		if iouTh, err = scalarFloat(t); err != nil {
			return nil, err
		}
	}
	if t := optIn(in, 4); t != nil {
		if scoreTh, err = scalarFloat(t); err != nil {
			return nil, err
		}
	}
	corners := func(b, i int) (y1, x1, y2, x2 float64) {
		v := boxes[(b*nbox+i)*4 : (b*nbox+i)*4+4]
		if centerBox {
			return v[1] - v[3]/2, v[0] - v[2]/2, v[1] + v[3]/2, v[0] + v[2]/2
		}
		return min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])
	}
	iou := func(b, i, j int) float64 {
		ay1, ax1, ay2, ax2 := corners(b, i)
		by1, bx1, by2, bx2 := corners(b, j)
		ih := max(0, min(ay2, by2)-max(ay1, by1))
		iw := max(0, min(ax2, bx2)-max(ax1, bx1))
		inter := ih * iw
		union := (ay2-ay1)*(ax2-ax1) + (by2-by1)*(bx2-bx1) - inter
		if union <= 0 {
			return 0
		}
		return inter / union
	}
	var sel []int64
	for b := 0; b < nb; b++ {
		for c := 0; c < nc; c++ {
			sc := scores[(b*nc+c)*nbox : (b*nc+c+1)*nbox]
			var cand []int
			for i, s := range sc {
				if s > scoreTh {
					cand = append(cand, i)
				}
			}
			sort.SliceStable(cand, func(p, q int) bool { return sc[cand[p]] > sc[cand[q]] })
			var kept []int
			for _, i := range cand {
				if len(kept) >= maxOut {
					break
				}
				ok := true
				for _, j := range kept {
					if iou(b, i, j) > iouTh {
						ok = false
						break
					}
				}
				if ok {
					kept = append(kept, i)
					sel = append(sel, int64(b), int64(c), int64(i))
				}
			}
		}
	}
	return newDense([]int{len(sel) / 3, 3}, sel)
}
