package ethosu_test

import (
	"math"
	"testing"
)

// Unit tests of the decision metrics of decisions_test.go (the "decisions
// agreeing" column of docs/accuracy.md). Every expected value is worked
// out by hand in the comments.

func TestF1OfMatchedDetections(t *testing.T) {
	// Nothing on either side: both models agree that there is nothing.
	if n, d := f1(0, 0, 0); n != 1 || d != 1 {
		t.Errorf("f1(0, 0, 0) = %d/%d, want 1/1", n, d)
	}
	// 1 matched of 2 reference and 1 quantized boxes: 2·1 / (2 + 1).
	if n, d := f1(1, 2, 1); n != 2 || d != 3 {
		t.Errorf("f1(1, 2, 1) = %d/%d, want 2/3", n, d)
	}
	// Boxes on one side only: 0 / (1 + 0).
	if n, d := f1(0, 1, 0); n != 0 || d != 1 {
		t.Errorf("f1(0, 1, 0) = %d/%d, want 0/1", n, d)
	}
}

func TestBoxIoU(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b yoloxBox
		want float64
	}{
		// Overlap 1×2 = 2, union 4 + 4 − 2 = 6.
		{"half-shifted squares", yoloxBox{x0: 0, y0: 0, x1: 2, y1: 2}, yoloxBox{x0: 1, y0: 0, x1: 3, y1: 2}, 2.0 / 6},
		// b (area 1) inside a (area 2): 1 / 2, exactly the match threshold.
		{"exactly one half", yoloxBox{x0: 0, y0: 0, x1: 2, y1: 1}, yoloxBox{x0: 0, y0: 0, x1: 1, y1: 1}, 0.5},
		{"identical", yoloxBox{x0: 1, y0: 1, x1: 3, y1: 4}, yoloxBox{x0: 1, y0: 1, x1: 3, y1: 4}, 1},
		// Touching edges share no area.
		{"touching", yoloxBox{x0: 0, y0: 0, x1: 1, y1: 1}, yoloxBox{x0: 1, y0: 0, x1: 2, y1: 1}, 0},
		{"disjoint", yoloxBox{x0: 0, y0: 0, x1: 1, y1: 1}, yoloxBox{x0: 5, y0: 5, x1: 6, y1: 6}, 0},
		// Two empty boxes: the union is 0, which must not divide.
		{"empty boxes", yoloxBox{x0: 1, y0: 1, x1: 1, y1: 1}, yoloxBox{x0: 1, y0: 1, x1: 1, y1: 1}, 0},
	} {
		if got := iou(c.a, c.b); got != c.want {
			t.Errorf("%s: iou = %v, want %v", c.name, got, c.want)
		}
		if got := iou(c.b, c.a); got != c.want {
			t.Errorf("%s: iou is not symmetric: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMatchBoxes(t *testing.T) {
	box := func(x0, y0, x1, y1 float64, class int) yoloxBox {
		return yoloxBox{x0: x0, y0: y0, x1: x1, y1: y1, score: 0.9, class: class}
	}
	for _, c := range []struct {
		name     string
		ref, got []yoloxBox
		want     int
	}{
		{"no boxes either side", nil, nil, 0},
		{"no quantized box", []yoloxBox{box(0, 0, 2, 1, 1)}, nil, 0},
		// IoU exactly 0.5 (area 1 inside area 2) matches: the rule is ≥ 0.5.
		{"IoU exactly 0.5", []yoloxBox{box(0, 0, 2, 1, 1)}, []yoloxBox{box(0, 0, 1, 1, 1)}, 1},
		// Overlap 0.99, union 2: IoU 0.495, under the threshold.
		{"IoU just under 0.5", []yoloxBox{box(0, 0, 2, 1, 1)}, []yoloxBox{box(0, 0, 0.99, 1, 1)}, 0},
		{"class mismatch", []yoloxBox{box(0, 0, 2, 2, 1)}, []yoloxBox{box(0, 0, 2, 2, 2)}, 0},
		// Two reference boxes on the one quantized box: it is used once.
		{"a box is used once", []yoloxBox{box(0, 0, 2, 2, 1), box(0, 0, 2, 2, 1)}, []yoloxBox{box(0, 0, 2, 2, 1)}, 1},
		// A = (0,0,4,4) overlaps G1 = (0,0,4,2) at 8/16 = 0.5 and
		// G2 = (0,0,4,3) at 12/16 = 0.75, so it takes G2, the better one;
		// B = (0,1,4,4), next in score order, then finds only G1, at
		// 4/(12+8−4) = 0.25: one match (the greedy match in score order,
		// not the best assignment, which would pair A–G1 and B–G2).
		{"best IoU first, in score order", []yoloxBox{box(0, 0, 4, 4, 1), box(0, 1, 4, 4, 1)},
			[]yoloxBox{box(0, 0, 4, 2, 1), box(0, 0, 4, 3, 1)}, 1},
		// Same boxes, B first: B takes G2 (8/16 = 0.5), A then G1 (0.5).
		{"score order decides", []yoloxBox{box(0, 1, 4, 4, 1), box(0, 0, 4, 4, 1)},
			[]yoloxBox{box(0, 0, 4, 2, 1), box(0, 0, 4, 3, 1)}, 2},
	} {
		if got := matchBoxes(c.ref, c.got); got != c.want {
			t.Errorf("%s: %d matched, want %d", c.name, got, c.want)
		}
	}
}

// yoloxCell is one row of a YOLOX output to set: the grid cell of a stride
// and the row's values.
type yoloxCell struct {
	stride, gx, gy int
	dx, dy         float64 // box centre regressions (offsets in cells)
	objectness     float64
	class          int
	classScore     float64
}

// yoloxOutput is a flat [3549, 85] YOLOX output at 416×416, zero but for
// the given cells (zero objectness: no box). Rows run over the 52×52 grid
// of stride 8, then 26×26 (stride 16, from row 2704), then 13×13 (stride
// 32, from row 3380). Width and height regressions stay 0, so every box is
// exp(0)·stride = stride pixels square.
func yoloxOutput(cells ...yoloxCell) []float64 {
	out := make([]float64, 3549*85)
	first := map[int]int{8: 0, 16: 52 * 52, 32: 52*52 + 26*26}
	for _, c := range cells {
		row := out[(first[c.stride]+c.gy*(416/c.stride)+c.gx)*85:][:85]
		row[0], row[1], row[4], row[5+c.class] = c.dx, c.dy, c.objectness, c.classScore
	}
	return out
}

func TestYoloxDetectionsDecodesThresholdsAndSuppresses(t *testing.T) {
	if got := yoloxDetections(yoloxOutput()); len(got) != 0 {
		t.Fatalf("an all-zero output decodes to %d boxes, want none", len(got))
	}
	// Stride 8, cell (10, 5), centre offsets 0.5: centre ((0.5+10)·8,
	// (0.5+5)·8) = (84, 44), 8 pixels square: (80, 40)–(88, 48). Score
	// 0.8 × 0.5 = 0.4, class 3.
	got := yoloxDetections(yoloxOutput(yoloxCell{8, 10, 5, 0.5, 0.5, 0.8, 3, 0.5}))
	want := yoloxBox{x0: 80, y0: 40, x1: 88, y1: 48, score: 0.4, class: 3}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("decoded %+v, want [%+v]", got, want)
	}
	// Stride 32, cell (12, 12), the last row (3548): centre (400, 400),
	// 32 square: (384, 384)–(416, 416).
	got = yoloxDetections(yoloxOutput(yoloxCell{32, 12, 12, 0.5, 0.5, 0.9, 79, 1}))
	want = yoloxBox{x0: 384, y0: 384, x1: 416, y1: 416, score: 0.9, class: 79}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("decoded %+v, want [%+v]", got, want)
	}
	// Score exactly 0.3 (0.6 × 0.5; both are exact halvings of one
	// another in binary) is kept; 0.58 × 0.5 = 0.29 is not.
	if got := yoloxDetections(yoloxOutput(yoloxCell{8, 1, 1, 0, 0, 0.6, 0, 0.5})); len(got) != 1 || got[0].score != 0.3 {
		t.Errorf("a box scoring exactly 0.3: decoded %+v, want it kept", got)
	}
	if got := yoloxDetections(yoloxOutput(yoloxCell{8, 1, 1, 0, 0, 0.58, 0, 0.5})); len(got) != 0 {
		t.Errorf("a box scoring 0.29: decoded %+v, want none", got)
	}
	// Cells (10, 5) with offset 0.5 and (11, 5) with offset −0.5 decode to
	// the same box (84 = (−0.5+11)·8): same class, IoU 1 > 0.45, so the
	// lower score (0.4 against 0.45) is suppressed; in another class both
	// stay, the higher score first.
	a := yoloxCell{8, 10, 5, 0.5, 0.5, 0.8, 3, 0.5}
	b := yoloxCell{8, 11, 5, -0.5, 0.5, 0.9, 3, 0.5}
	if got := yoloxDetections(yoloxOutput(a, b)); len(got) != 1 || got[0].score != 0.45 {
		t.Errorf("same class, same box: kept %+v, want only the 0.45 box", got)
	}
	b.class = 4
	if got := yoloxDetections(yoloxOutput(a, b)); len(got) != 2 || got[0].score != 0.45 || got[1].score != 0.4 {
		t.Errorf("two classes, same box: kept %+v, want both, 0.45 first", got)
	}
}

func TestYoloxAgreement(t *testing.T) {
	// The reference box: stride 8, cell (10, 5), (80, 40)–(88, 48).
	ref := yoloxCell{8, 10, 5, 0.5, 0.5, 0.8, 3, 0.5}
	shifted := func(px float64) yoloxCell {
		c := ref
		c.dx += px / 8
		return c
	}
	empty := yoloxOutput()
	for _, c := range []struct {
		name     string
		ref, got [][]float64
		want     float64
	}{
		{"no boxes on either side", [][]float64{empty}, [][]float64{empty}, 1},
		{"box lost", [][]float64{yoloxOutput(ref)}, [][]float64{empty}, 0},
		{"box invented", [][]float64{empty}, [][]float64{yoloxOutput(ref)}, 0},
		// 2 pixels right: overlap 6×8 = 48, union 64 + 64 − 48 = 80, IoU 0.6.
		{"shifted 2 px, IoU 0.6", [][]float64{yoloxOutput(ref)}, [][]float64{yoloxOutput(shifted(2))}, 1},
		// 3 pixels right: overlap 5×8 = 40, union 128 − 40 = 88, IoU 0.4545.
		{"shifted 3 px, IoU 0.4545", [][]float64{yoloxOutput(ref)}, [][]float64{yoloxOutput(shifted(3))}, 0},
		{"class changed", [][]float64{yoloxOutput(ref)}, [][]float64{yoloxOutput(yoloxCell{8, 10, 5, 0.5, 0.5, 0.8, 4, 0.5})}, 0},
		// Pooled over samples: matched (2/2), nothing on either side
		// (1/1), lost (0/1): (2 + 1 + 0) / (2 + 1 + 1) = 3/4.
		{"pooled over samples", [][]float64{yoloxOutput(ref), empty, yoloxOutput(ref)},
			[][]float64{yoloxOutput(shifted(2)), empty, empty}, 0.75},
	} {
		if got := yoloxAgreement(c.ref, c.got); got != c.want {
			t.Errorf("%s: F1 %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMapIoU(t *testing.T) {
	for _, c := range []struct {
		name     string
		ref, got [][]float64
		want     float64
	}{
		// Text at ≥ 0.3: ref {1, 2}, got {0, 2} (0.3 itself is text,
		// 0.29 is not): intersection {2}, union {0, 1, 2}: 1/3.
		{"threshold inclusive", [][]float64{{0.1, 0.3, 0.5, 0.2}}, [][]float64{{0.3, 0.29, 0.6, 0}}, 1.0 / 3},
		{"no text on either side", [][]float64{{0.1, 0.2}}, [][]float64{{0, 0.29}}, 1},
		{"empty maps", [][]float64{}, [][]float64{}, 1},
		{"text on one side only", [][]float64{{0}}, [][]float64{{0.9}}, 0},
		// Pooled pixels: sample 1 has intersection 1, union 2; sample 2
		// none: 1/2 (not the mean of per-sample IoUs, 0.5 and 1).
		{"pooled over samples", [][]float64{{1, 1}, {0, 0}}, [][]float64{{1, 0}, {0, 0}}, 0.5},
	} {
		if got := mapIoU(c.ref, c.got, 0.3); got != c.want {
			t.Errorf("%s: IoU %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFaceAgreement(t *testing.T) {
	// A score of 0.75 is the logit ln(0.75/0.25) = ln 3 ≈ 1.0986.
	ln3 := math.Log(3)
	below := math.Nextafter(ln3, 0)
	for _, c := range []struct {
		name     string
		ref, got [][][]float64 // [output][sample][anchor] logits
		want     float64
	}{
		// Sample 0: the reference finds anchor 0 of output 0; the
		// quantized model anchors 0 and 1 (1.2 > ln 3): 2·1/(1 + 2).
		// Sample 1: no face either side: 1/1. Pooled: 3/4.
		{"pooled F1",
			[][][]float64{{{2, 0}, {0, 0}}, {{-5}, {-5}}},
			[][][]float64{{{1.5, 1.2}, {0, 0}}, {{-5}, {-5}}}, 0.75},
		{"no faces", [][][]float64{{{0}}, {{-156}}}, [][][]float64{{{1}}, {{-3}}}, 1},
		{"logit exactly ln 3 is a face", [][][]float64{{{ln3}}, {{0}}}, [][][]float64{{{ln3}}, {{0}}}, 1},
		{"just under ln 3 is not", [][][]float64{{{ln3}}, {{0}}}, [][][]float64{{{below}}, {{0}}}, 0},
		// A face in the second score output counts as well: found on both.
		{"second output", [][][]float64{{{0}}, {{3}}}, [][][]float64{{{0}}, {{2}}}, 1},
	} {
		if got := faceAgreement(c.ref, c.got, 0.75); got != c.want {
			t.Errorf("%s: F1 %v, want %v", c.name, got, c.want)
		}
	}
}

func TestArgmaxAndThresholdAgreement(t *testing.T) {
	// Sample 0: argmax 1 on both. Sample 1: a tie in the reference takes
	// the first index (0); the quantized model says 1. 1/2.
	if got, metric := agreement([][]float64{{0.1, 0.7, 0.2}, {0.5, 0.5}}, [][]float64{{0.3, 0.6, 0.1}, {0.4, 0.6}}, false); got != 0.5 || metric != "argmax" {
		t.Errorf("argmax agreement %v (%s), want 0.5 (argmax)", got, metric)
	}
	// Each value against 0.5, strictly: 0.5 is "no", 0.51 "yes" (differ);
	// 0.9 and 0.2 differ; 0.1 and 0.4 agree: 1/3.
	if got, metric := agreement([][]float64{{0.5, 0.9, 0.1}}, [][]float64{{0.51, 0.2, 0.4}}, true); got != 1.0/3 || metric != "0.5-threshold" {
		t.Errorf("threshold agreement %v (%s), want 1/3 (0.5-threshold)", got, metric)
	}
}

func TestDecisionsOfPicksTheModelsMetric(t *testing.T) {
	// BlazeFace compares its first two outputs (the score logits) only: the
	// third (box regressions) disagrees wildly and must not count.
	ref := [][][]float64{{{2}}, {{0}}, {{100}}}
	got := [][][]float64{{{2}}, {{0}}, {{-100}}}
	if v, metric := decisionsOf("blazeface_front", ref, got, false); v != 1 || metric != "faces F1" {
		t.Errorf("blazeface_front: %v (%s), want 1 (faces F1)", v, metric)
	}
	// PP-OCR detection: text-map IoU at 0.3 of the first output: 0.3 is
	// text on both sides, 0.2 on neither: 1/1.
	if v, metric := decisionsOf("ppocr_v3_det", [][][]float64{{{0.3, 0.2}}}, [][][]float64{{{0.35, 0.1}}}, false); v != 1 || metric != "text-map IoU" {
		t.Errorf("ppocr_v3_det: %v (%s), want 1 (text-map IoU)", v, metric)
	}
	// Any other model: argmax of the first output (the second ignored).
	if v, metric := decisionsOf("ppocr_mobile_v2_cls", [][][]float64{{{0.9, 0.1}}, {{0}}}, [][][]float64{{{0.2, 0.8}}, {{0}}}, false); v != 0 || metric != "argmax" {
		t.Errorf("ppocr_mobile_v2_cls: %v (%s), want 0 (argmax)", v, metric)
	}
	if v, metric := decisionsOf("oww_hey_jarvis", [][][]float64{{{0.7}}}, [][][]float64{{{0.6}}}, true); v != 1 || metric != "0.5-threshold" {
		t.Errorf("oww_hey_jarvis: %v (%s), want 1 (0.5-threshold)", v, metric)
	}
}
