package dataset

import "fmt"

// Subset returns the set of the samples at the given indices of s, in
// that order, with s's input specs. Accuracy methods that fit on some
// calibration samples and judge on the others split a set this way.
func (s *Set) Subset(indices []int) (*Set, error) {
	// In-memory samples keep their source (their entries hold the
	// source's indices); probed shapes follow their samples.
	out := &Set{specs: s.specs, load: s.load, stacks: s.stacks}
	for _, i := range indices {
		if i < 0 || i >= len(s.samples) {
			return nil, fmt.Errorf("sample index %d out of range [0, %d)", i, len(s.samples))
		}
		out.samples = append(out.samples, s.samples[i])
		if s.shapes != nil {
			out.shapes = append(out.shapes, s.shapes[i])
		}
	}
	return out, nil
}
