package ethosu_test

import (
	"math"
	"sort"
)

// The decisions a user of each pretrained model acts on, compared between
// the float and the quantized model (docs/accuracy.md's "decisions
// agreeing" column). ref and got hold, per output, per sample, the flat
// output tensor.

// decisionsOf returns the fraction of the float model's decisions the
// quantized model agrees with, and what was compared: YOLOX boxes, text
// map IoU, face scores, or the argmax / 0.5 threshold of the first output.
func decisionsOf(model string, ref, got [][][]float64, threshold bool) (float64, string) {
	switch model {
	case "yolox_nano":
		return yoloxAgreement(ref[0], got[0]), "boxes F1"
	case "ppocr_v3_det":
		return mapIoU(ref[0], got[0], 0.3), "text-map IoU"
	case "blazeface_front":
		// Identity:0 and Identity_1:0 are the score logits of the two
		// anchor scales.
		return faceAgreement(ref[:2], got[:2], 0.75), "faces F1"
	}
	return agreement(ref[0], got[0], threshold)
}

// f1 is the agreement of two detection sets with matched pairs in common:
// 2·matched / (|ref| + |got|), 1 when both are empty.
func f1(matched, nref, ngot int) (int, int) {
	if nref+ngot == 0 {
		return 1, 1
	}
	return 2 * matched, nref + ngot
}

// yoloxBox is one decoded YOLOX detection.
type yoloxBox struct {
	x0, y0, x1, y1, score float64
	class                 int
}

// yoloxDetections decodes YOLOX's raw [3549, 85] output at 416×416 (box
// regressions on the 52², 26² and 13² grids of strides 8, 16, 32; objectness
// and class scores already through their sigmoid), keeps boxes scoring at
// least 0.3 (objectness × class score, YOLOX's demo threshold) and applies
// per-class non-maximum suppression at IoU 0.45 as the demo does.
func yoloxDetections(out []float64) []yoloxBox {
	const classes = 80
	var boxes []yoloxBox
	i := 0
	for _, stride := range []int{8, 16, 32} {
		side := 416 / stride
		for gy := 0; gy < side; gy++ {
			for gx := 0; gx < side; gx++ {
				row := out[i*(5+classes) : (i+1)*(5+classes)]
				i++
				best, cls := 0.0, 0
				for c := 0; c < classes; c++ {
					if row[5+c] > best {
						best, cls = row[5+c], c
					}
				}
				score := row[4] * best
				if score < 0.3 {
					continue
				}
				s := float64(stride)
				cx, cy := (row[0]+float64(gx))*s, (row[1]+float64(gy))*s
				w, h := math.Exp(row[2])*s, math.Exp(row[3])*s
				boxes = append(boxes, yoloxBox{cx - w/2, cy - h/2, cx + w/2, cy + h/2, score, cls})
			}
		}
	}
	sort.SliceStable(boxes, func(a, b int) bool { return boxes[a].score > boxes[b].score })
	var kept []yoloxBox
	for _, b := range boxes {
		keep := true
		for _, k := range kept {
			if k.class == b.class && iou(k, b) > 0.45 {
				keep = false
				break
			}
		}
		if keep {
			kept = append(kept, b)
		}
	}
	return kept
}

func iou(a, b yoloxBox) float64 {
	ix := math.Max(0, math.Min(a.x1, b.x1)-math.Max(a.x0, b.x0))
	iy := math.Max(0, math.Min(a.y1, b.y1)-math.Max(a.y0, b.y0))
	inter := ix * iy
	union := (a.x1-a.x0)*(a.y1-a.y0) + (b.x1-b.x0)*(b.y1-b.y0) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// yoloxAgreement matches the quantized model's boxes to the float model's
// (matchBoxes) over every sample and returns the F1 of the match.
func yoloxAgreement(ref, got [][]float64) float64 {
	num, den := 0, 0
	for s := range ref {
		r, g := yoloxDetections(ref[s]), yoloxDetections(got[s])
		n, d := f1(matchBoxes(r, g), len(r), len(g))
		num, den = num+n, den+d
	}
	return float64(num) / float64(den)
}

// matchBoxes counts the float model's boxes (ref, in score order) that
// find a quantized one of the same class at IoU ≥ 0.5, each taking the
// unused box it overlaps most; a box is used once.
func matchBoxes(ref, got []yoloxBox) int {
	used := make([]bool, len(got))
	matched := 0
	for _, rb := range ref {
		best, bi := 0.5, -1
		for j, gb := range got {
			if !used[j] && gb.class == rb.class {
				if v := iou(rb, gb); v >= best {
					best, bi = v, j
				}
			}
		}
		if bi >= 0 {
			used[bi] = true
			matched++
		}
	}
	return matched
}

// mapIoU thresholds two probability maps at thr and returns the IoU of the
// text regions over every sample (1 when neither has any).
func mapIoU(ref, got [][]float64, thr float64) float64 {
	inter, union := 0, 0
	for s := range ref {
		for i := range ref[s] {
			a, b := ref[s][i] >= thr, got[s][i] >= thr
			if a && b {
				inter++
			}
			if a || b {
				union++
			}
		}
	}
	if union == 0 {
		return 1
	}
	return float64(inter) / float64(union)
}

// faceAgreement compares the anchors whose face score (the sigmoid of the
// logit) reaches thr, over every score output and sample: the F1 of the
// anchors both models detect.
func faceAgreement(ref, got [][][]float64, thr float64) float64 {
	logit := math.Log(thr / (1 - thr))
	num, den := 0, 0
	for s := range ref[0] {
		matched, nr, ng := 0, 0, 0
		for o := range ref {
			for i := range ref[o][s] {
				a, b := ref[o][s][i] >= logit, got[o][s][i] >= logit
				if a {
					nr++
				}
				if b {
					ng++
				}
				if a && b {
					matched++
				}
			}
		}
		n, d := f1(matched, nr, ng)
		num, den = num+n, den+d
	}
	return float64(num) / float64(den)
}
