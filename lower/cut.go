package lower

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// Cut returns the part of model m between tensors: from become its inputs
// (none: the model's own inputs), to its outputs (none: the model's own
// outputs). It is how Ethos-U users split a feature front end, run on the
// host CPU, from the network the NPU runs. The sub-model keeps every node
// on a path from its inputs to its outputs, with the initializers those
// read; a model input it still needs stays an input. All tensors must be
// values of the main graph. Types and shapes of the new inputs and outputs
// come from the model's value_info or shape inference; a tensor whose
// element type stays unknown is an error. m is not modified; functions are
// inlined first, so tensors inside them can be named too.
func Cut(m *onnxpb.ModelProto, dir string, from, to []string) (*onnxpb.ModelProto, error) {
	gm, err := Lower(m, dir)
	if err != nil {
		return nil, err
	}
	// Types for the new interface; a failure leaves some unknown, which
	// is reported below only for the tensors that need one.
	_ = InferShapes(gm, nil)
	src := gm.Model.Graph
	g := gm.Graph
	producer := map[string]*onnxpb.NodeProto{}
	for _, n := range src.Node {
		for _, o := range n.Output {
			if o != "" {
				producer[o] = n
			}
		}
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range src.Initializer {
		inits[t.GetName()] = t
	}
	isInput := map[string]bool{}
	for _, vi := range src.Input {
		if inits[vi.GetName()] == nil {
			isInput[vi.GetName()] = true
		}
	}
	for _, name := range append(slices.Clone(from), to...) {
		if producer[name] == nil && !isInput[name] {
			if inits[name] != nil {
				return nil, fmt.Errorf("cut: %q is an initializer, a constant: cut at a tensor computed from the inputs", name)
			}
			return nil, fmt.Errorf("cut: the main graph has no tensor %q", name)
		}
	}
	if len(to) == 0 {
		for _, vi := range src.Output {
			to = append(to, vi.GetName())
		}
	}
	cutAt := map[string]bool{}
	for _, f := range from {
		cutAt[f] = true
	}
	keepNode := map[*onnxpb.NodeProto]bool{}
	keepInit := map[string]bool{}
	needInput := map[string]bool{}
	reached := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if name == "" || reached[name] {
			return
		}
		reached[name] = true
		switch {
		case cutAt[name]:
		case inits[name] != nil:
			keepInit[name] = true
		case isInput[name]:
			needInput[name] = true
		case producer[name] != nil:
			n := producer[name]
			if keepNode[n] {
				return
			}
			keepNode[n] = true
			for _, in := range n.Input {
				visit(in)
			}
			for _, a := range n.Attribute {
				for _, body := range append([]*onnxpb.GraphProto{a.G}, a.Graphs...) {
					for _, ref := range outerRefs(body) {
						visit(ref)
					}
				}
			}
		}
	}
	for _, t := range to {
		visit(t)
	}
	for _, f := range from {
		if !reached[f] {
			return nil, fmt.Errorf("cut: tensor %q is not on a path to the outputs %v", f, to)
		}
	}
	out := &onnxpb.GraphProto{Name: src.Name, DocString: src.DocString, MetadataProps: src.MetadataProps}
	for _, vi := range src.Input {
		if needInput[vi.GetName()] && !cutAt[vi.GetName()] {
			out.Input = append(out.Input, vi)
		}
	}
	info := func(name string) (*onnxpb.ValueInfoProto, error) {
		v := g.Value(name)
		if v == nil || v.DType == 0 {
			return nil, fmt.Errorf("cut: the element type of tensor %q is unknown (the model declares no value_info for it and shape inference cannot tell)", name)
		}
		return valueInfo(v), nil
	}
	for _, f := range from {
		vi, err := info(f)
		if err != nil {
			return nil, err
		}
		out.Input = append(out.Input, vi)
	}
	for _, t := range src.Initializer {
		if keepInit[t.GetName()] {
			out.Initializer = append(out.Initializer, t)
		}
	}
	for _, n := range src.Node {
		if keepNode[n] {
			out.Node = append(out.Node, n)
		}
	}
	for _, t := range to {
		vi, err := info(t)
		if err != nil {
			return nil, err
		}
		out.Output = append(out.Output, vi)
	}
	for _, vi := range src.ValueInfo {
		if reached[vi.GetName()] && !cutAt[vi.GetName()] && !slices.Contains(to, vi.GetName()) {
			out.ValueInfo = append(out.ValueInfo, vi)
		}
	}
	res := shallowModel(gm.Model)
	res.Graph = out
	return proto.Clone(res).(*onnxpb.ModelProto), nil
}

// outerRefs lists the names a body (and the bodies inside it) reads from
// the graphs around it.
func outerRefs(body *onnxpb.GraphProto) []string {
	if body == nil {
		return nil
	}
	local := map[string]bool{}
	for _, vi := range body.Input {
		local[vi.GetName()] = true
	}
	for _, t := range body.Initializer {
		local[t.GetName()] = true
	}
	for _, n := range body.Node {
		for _, o := range n.Output {
			local[o] = true
		}
	}
	var refs []string
	use := func(name string) {
		if name != "" && !local[name] {
			refs = append(refs, name)
		}
	}
	for _, n := range body.Node {
		for _, in := range n.Input {
			use(in)
		}
		for _, a := range n.Attribute {
			for _, sub := range append([]*onnxpb.GraphProto{a.G}, a.Graphs...) {
				for _, r := range outerRefs(sub) {
					use(r)
				}
			}
		}
	}
	for _, o := range body.Output {
		use(o.GetName())
	}
	return refs
}
