package dataset

import "fmt"

// Subset returns the set of the samples at the given indices of s, in
// that order, with s's input specs. Accuracy methods that fit on some
// calibration samples and judge on the others split a set this way.
func (s *Set) Subset(indices []int) (*Set, error) {
	out := &Set{specs: s.specs}
	for _, i := range indices {
		if i < 0 || i >= len(s.samples) {
			return nil, fmt.Errorf("sample index %d out of range [0, %d)", i, len(s.samples))
		}
		out.samples = append(out.samples, s.samples[i])
	}
	return out, nil
}
