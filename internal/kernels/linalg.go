package kernels

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gorgonia.org/tensor"
)

// Einsum and Det compute in float64 with simple loops: they appear in node
// tests and the odd model, never on a calibration hot path.

// float64s returns t's elements converted to float64.
func float64s(t *tensor.Dense) ([]float64, error) {
	c, err := Cast(t, tensor.Float64)
	if err != nil {
		return nil, err
	}
	return Flat(c).([]float64), nil
}

// Einsum evaluates an Einstein summation by visiting every combination of
// index values once.
func Einsum(eq string, in []*tensor.Dense) (*tensor.Dense, error) {
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
		sh := Dims(in[i])
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
		d, err := float64s(t)
		if err != nil {
			return nil, err
		}
		data[i] = d
		sh := Dims(t)
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
	r, err := New(outShape, res)
	if err != nil {
		return nil, err
	}
	return Cast(r, in[0].Dtype())
}

func ellipsisLetters(k int) string {
	b := make([]byte, k)
	for i := range b {
		b[i] = byte('A' + i)
	}
	return string(b)
}

func isEllipsisLetter(l byte) bool { return l >= 'A' && l <= 'Z' }

// Det is the determinant of the trailing square matrices, by LU
// decomposition with partial pivoting.
func Det(x *tensor.Dense) (*tensor.Dense, error) {
	sh := Dims(x)
	if len(sh) < 2 || sh[len(sh)-1] != sh[len(sh)-2] {
		return nil, fmt.Errorf("Det needs [..., M, M], got %v", sh)
	}
	xs, err := float64s(x)
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
	r, err := New(sh[:len(sh)-2], out)
	if err != nil {
		return nil, err
	}
	return Cast(r, x.Dtype())
}
