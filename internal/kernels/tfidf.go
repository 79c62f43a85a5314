package kernels

import (
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// TfIdfParams are TfIdfVectorizer's attributes (integer pool only).
type TfIdfParams struct {
	Mode                      string // "TF", "IDF" or "TFIDF"
	MinGram, MaxGram, MaxSkip int
	NgramCounts, NgramIndexes []int
	Pool                      []int64
	Weights                   []float32
}

// TfIdfVectorizer is ONNX TfIdfVectorizer over integer tokens: it counts,
// in each row of x ([C] or [N, C]), the n-grams of the pool (lengths
// MinGram..MaxGram, items up to MaxSkip apart, each skip counted once and
// unigrams once), into output slot NgramIndexes of the n-gram, then
// applies the mode's weighting. Output [max index + 1] or [N, that].
func TfIdfVectorizer(x *tensor.Dense, p TfIdfParams) (*tensor.Dense, error) {
	const op = "TfIdfVectorizer"
	toks, err := Ints(x)
	if err != nil {
		return nil, shapeErr(op, "input: %v", err)
	}
	sh := Dims(x)
	if len(sh) != 1 && len(sh) != 2 {
		return nil, shapeErr(op, "input %v must have rank 1 or 2", sh)
	}
	if p.MinGram < 1 || p.MaxGram < p.MinGram || p.MaxSkip < 0 || len(p.NgramCounts) == 0 {
		return nil, shapeErr(op, "gram lengths %d..%d, skip %d, %d ngram_counts", p.MinGram, p.MaxGram, p.MaxSkip, len(p.NgramCounts))
	}
	// Every pool n-gram keyed by its items, with its output slot; every
	// prefix of one, so a walk stops where no n-gram can continue.
	slot := map[string]int{}
	prefix := map[string]bool{}
	width := 0
	gram := 0
	for k, start := range p.NgramCounts {
		end := len(p.Pool)
		if k+1 < len(p.NgramCounts) {
			end = p.NgramCounts[k+1]
		}
		n := k + 1
		if start < 0 || end > len(p.Pool) || start > end || (end-start)%n != 0 {
			return nil, shapeErr(op, "ngram_counts %v do not split a pool of %d", p.NgramCounts, len(p.Pool))
		}
		for i := start; i < end; i += n {
			if gram >= len(p.NgramIndexes) {
				return nil, shapeErr(op, "%d ngram_indexes for more n-grams", len(p.NgramIndexes))
			}
			var b strings.Builder
			for j := 0; j < n; j++ {
				b.WriteString(strconv.FormatInt(p.Pool[i+j], 10))
				b.WriteByte(',')
				prefix[b.String()] = true
			}
			idx := p.NgramIndexes[gram]
			if idx < 0 {
				return nil, shapeErr(op, "ngram_indexes holds %d: indexes are at least 0", idx)
			}
			slot[b.String()] = idx
			width = max(width, idx+1)
			gram++
		}
	}
	rows, cols := 1, sh[0]
	if len(sh) == 2 {
		rows, cols = sh[0], sh[1]
	}
	out := make([]float32, rows*width)
	for r := 0; r < rows; r++ {
		row := toks[r*cols : (r+1)*cols]
		counts := out[r*width : (r+1)*width]
		minGram := p.MinGram
		for skip := 1; skip <= p.MaxSkip+1; skip++ {
			for start := 0; start+skip*(minGram-1) < len(row); start++ {
				var b strings.Builder
				for n, i := 1, start; n <= p.MaxGram && i < len(row); n, i = n+1, i+skip {
					b.WriteString(strconv.Itoa(row[i]))
					b.WriteByte(',')
					key := b.String()
					if !prefix[key] {
						break
					}
					if s, ok := slot[key]; ok && n >= minGram {
						counts[s]++
					}
				}
			}
			// Unigrams do not depend on the skip: count them once.
			if minGram == 1 {
				minGram = 2
				if minGram > p.MaxGram {
					break
				}
			}
		}
		for i, c := range counts {
			w := float32(1)
			if i < len(p.Weights) {
				w = p.Weights[i]
			}
			switch p.Mode {
			case "IDF":
				if c > 0 {
					counts[i] = w
				}
			case "TFIDF":
				counts[i] = c * w
			}
		}
	}
	if len(sh) == 1 {
		return New([]int{width}, out)
	}
	return New([]int{rows, width}, out)
}
