package kernels

import (
	"fmt"
	"sort"

	"gorgonia.org/tensor"
)

// NonMaxSuppression is ONNX NonMaxSuppression: greedy selection per batch
// and class by descending score (only scores above scoreTh), dropping boxes
// whose IoU with a selected box exceeds iouTh, at most maxOut per class.
// It returns the selected [batch, class, box] triples.
func NonMaxSuppression(boxesT, scoresT *tensor.Dense, maxOut int, iouTh, scoreTh float64, centerBox bool) (*tensor.Dense, error) {
	boxes, err := float64s(boxesT)
	if err != nil {
		return nil, err
	}
	scores, err := float64s(scoresT)
	if err != nil {
		return nil, err
	}
	ssh := Dims(scoresT)
	if len(ssh) != 3 {
		return nil, fmt.Errorf("scores %v must be [batch, classes, boxes]", ssh)
	}
	nb, nc, nbox := ssh[0], ssh[1], ssh[2]
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
	return New([]int{len(sel) / 3, 3}, sel)
}
