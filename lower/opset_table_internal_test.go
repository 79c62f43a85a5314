package lower

import (
	"slices"
	"testing"
)

// Every down adapter belongs to a version step the upgrade table lists, so
// a typo in either table cannot leave a step silently unhandled.
func TestDownHistoryStepsExistInOpHistory(t *testing.T) {
	for op, down := range downHistory {
		hist, ok := opHistory[op]
		if !ok {
			t.Errorf("%s: down adapters for an operator opHistory does not know", op)
			continue
		}
		for _, s := range down {
			if s.adapt == nil {
				t.Errorf("%s-%d: nil down adapter", op, s.version)
			}
			if !slices.ContainsFunc(hist, func(h opStep) bool { return h.version == s.version }) {
				t.Errorf("%s-%d: no such step in opHistory %v", op, s.version, hist)
			}
		}
	}
}

// The type-only steps of 22 and 23 extend operators the table already
// knows: appending to an unknown operator would make it look new at 22.
func TestTypeOnlyStepsExtendKnownOperators(t *testing.T) {
	for _, list := range [][]string{typeOnly22, typeOnly23} {
		for _, op := range list {
			hist := opHistory[op]
			if len(hist) < 2 || hist[0].version >= 22 {
				t.Errorf("%s: history %v has no version before the type-only step", op, hist)
			}
		}
	}
}
