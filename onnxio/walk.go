package onnxio

import "github.com/onnxquant/onnxquant/onnxio/onnxpb"

// forEachGraph visits the main graph, every subgraph held in node
// attributes (If/Loop/Scan bodies, at any depth), the training graphs and
// the graphs inside function attributes, parents before children.
func forEachGraph(m *onnxpb.ModelProto, fn func(g *onnxpb.GraphProto)) {
	var visitGraph func(g *onnxpb.GraphProto)
	visitNodes := func(nodes []*onnxpb.NodeProto) {
		for _, n := range nodes {
			for _, a := range n.GetAttribute() {
				if a.G != nil {
					visitGraph(a.G)
				}
				for _, g := range a.Graphs {
					visitGraph(g)
				}
			}
		}
	}
	visitGraph = func(g *onnxpb.GraphProto) {
		fn(g)
		visitNodes(g.GetNode())
	}
	if m.Graph != nil {
		visitGraph(m.Graph)
	}
	for _, ti := range m.GetTrainingInfo() {
		if ti.Initialization != nil {
			visitGraph(ti.Initialization)
		}
		if ti.Algorithm != nil {
			visitGraph(ti.Algorithm)
		}
	}
	for _, f := range m.GetFunctions() {
		visitNodes(f.GetNode())
	}
}

// forEachInitializer visits the dense initializers of every graph.
func forEachInitializer(m *onnxpb.ModelProto, fn func(t *onnxpb.TensorProto)) {
	forEachGraph(m, func(g *onnxpb.GraphProto) {
		for _, t := range g.GetInitializer() {
			fn(t)
		}
	})
}

// forEachTensor visits every TensorProto in the model: initializers,
// sparse initializers' values and indices, and tensors held in node
// attributes (Constant values and the like) in graphs and functions.
func forEachTensor(m *onnxpb.ModelProto, fn func(t *onnxpb.TensorProto)) {
	sparse := func(s *onnxpb.SparseTensorProto) {
		if s.GetValues() != nil {
			fn(s.Values)
		}
		if s.GetIndices() != nil {
			fn(s.Indices)
		}
	}
	attrs := func(nodes []*onnxpb.NodeProto) {
		for _, n := range nodes {
			for _, a := range n.GetAttribute() {
				if a.T != nil {
					fn(a.T)
				}
				for _, t := range a.Tensors {
					fn(t)
				}
				if a.SparseTensor != nil {
					sparse(a.SparseTensor)
				}
				for _, s := range a.SparseTensors {
					sparse(s)
				}
			}
		}
	}
	forEachGraph(m, func(g *onnxpb.GraphProto) {
		for _, t := range g.GetInitializer() {
			fn(t)
		}
		for _, s := range g.GetSparseInitializer() {
			sparse(s)
		}
		attrs(g.GetNode())
	})
	for _, f := range m.GetFunctions() {
		attrs(f.GetNode())
	}
}
