// Package nearest proposes the names closest to a mistyped one, for
// "did you mean" in errors about commands, flags and config keys.
package nearest

import "strings"

// Names returns the candidates closest to word by edit distance (case
// folded; a candidate that word starts counts as one edit away), among
// those close enough to be a likely typo: a third of the word's length,
// at least 2 edits. Ties come in the candidates' order.
func Names(word string, candidates []string) []string {
	limit := max(2, len(word)/3)
	best := limit + 1
	var out []string
	lw := strings.ToLower(word)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := distance(lw, lc)
		if len(word) >= 3 && strings.HasPrefix(lc, lw) {
			d = min(d, 1)
		}
		switch {
		case d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	if best > limit {
		return nil
	}
	return out
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
