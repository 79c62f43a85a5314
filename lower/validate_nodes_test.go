package lower_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/lower"
)

// Nodes a fuzzed model had, which passes indexed without checking (a
// crasher of FuzzCheckQuantize): a node without an op_type, and a
// GroupNormalization without its inputs, are load errors naming the node.
func TestNodesWithoutOpTypeOrInputsAreRefusedAtLoad(t *testing.T) {
	for _, c := range []struct {
		op, want string
		in       []string
	}{
		{"", `node "n1" (): invalid node: the node has no op_type`, nil},
		{"GroupNormalization", "GroupNormalization needs at least 3 input(s), input 0 is missing", nil},
		{"GroupNormalization", "input 2 is missing", []string{"x", "x"}},
	} {
		b := testmodel.New(21).Input("x", 1, 4).Output("y", 1, 4)
		b.NamedNode("n1", c.op, c.in, []string{"v"})
		b.Node("Add", []string{"x", "v"}, []string{"y"})
		_, err := lower.Lower(b.Model(), "")
		if !errors.Is(err, lower.ErrInvalidNode) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("op %q with inputs %v: Lower = %v, want an invalid-node error saying %q", c.op, c.in, err, c.want)
		}
	}
}
