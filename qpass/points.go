package qpass

import (
	"github.com/onnxquant/onnxquant/lower"
)

// SiteKind says where a point's qparams are applied.
type SiteKind int

const (
	// OutputSite quantizes a value where it is produced: every reader sees
	// the dequantized tensor. Constants become integer initializers.
	OutputSite SiteKind = iota
	// EdgeSite quantizes the value on one input of one consumer, when the
	// consumer needs other qparams than the producer gave (mixed precision).
	EdgeSite
)

// Site is one place a point's qparams apply, and a tensor its observer sees.
type Site struct {
	Kind     SiteKind
	Value    *lower.Value
	Graph    *lower.Graph
	Consumer *lower.Node // EdgeSite only
	Input    int         // EdgeSite only
}

// Module is the qualified name of the submodule the site is in.
func (s Site) Module() string { return s.Graph.Module.Name }

// Constant reports whether the site's value is an initializer, which is
// quantized offline rather than by a QuantizeLinear node.
func (s Site) Constant() bool {
	return s.Value.IsInitializer(lower.ThisGraph)
}

// Point is one set of quantization parameters: one observer during
// calibration, and every Q/DQ pair that uses its scale and zero point.
type Point struct {
	ID    int
	Spec  *QSpec
	Sites []Site
	// Axis is the channel axis of a per-channel weight point.
	Axis int
	// BiasInput and BiasWeight are set on a derived bias point: its scale
	// is BiasInput's scale times BiasWeight's (per channel).
	BiasInput, BiasWeight *Point
	parent                *Point
}

// Root returns the representative of the point's shared group.
func (p *Point) Root() *Point {
	for p.parent != nil {
		p = p.parent
	}
	return p
}

// Derived reports whether the point's qparams are computed from others
// (a bias) instead of observed.
func (p *Point) Derived() bool { return p.BiasInput != nil }

// Constant reports whether every site of the point is an initializer, so
// its range can be read from the data without calibration.
func (p *Point) Constant() bool {
	for _, s := range p.Sites {
		if !s.Constant() {
			return false
		}
	}
	return len(p.Sites) > 0
}

type edgeKey struct {
	node  *lower.Node
	input int
}

// Annotation is the result of Annotate: the quantization points of every
// graph of a GraphModule, and the nodes that stay float.
type Annotation struct {
	points []*Point
	out    map[*lower.Value]*Point
	edge   map[edgeKey]*Point
	// Quantized lists the nodes the annotator claimed, by graph order.
	Quantized map[*lower.Node]*Config
	// Fused marks activations folded into the op before them: the edge
	// between the two carries no Q/DQ.
	Fused map[*lower.Node]bool
}

func newAnnotation() *Annotation {
	return &Annotation{out: map[*lower.Value]*Point{}, edge: map[edgeKey]*Point{}, Quantized: map[*lower.Node]*Config{}, Fused: map[*lower.Node]bool{}}
}

// Points returns the root points in creation order.
func (a *Annotation) Points() []*Point {
	var roots []*Point
	for _, p := range a.points {
		if p.parent == nil {
			roots = append(roots, p)
		}
	}
	return roots
}

// PointByID returns the root point with the given ID, or nil (IDs of
// points merged into another group have no root point).
func (a *Annotation) PointByID(id int) *Point {
	if id < 0 || id >= len(a.points) || a.points[id].parent != nil {
		return nil
	}
	return a.points[id]
}

// OutputPoint returns the point of a value where it is produced, or nil.
func (a *Annotation) OutputPoint(v *lower.Value) *Point {
	if p := a.out[v]; p != nil {
		return p.Root()
	}
	return nil
}

// InputPoint returns the point the consumer reads its input i through, or
// nil when that input stays unquantized.
func (a *Annotation) InputPoint(n *lower.Node, i int) *Point {
	if p := a.edge[edgeKey{n, i}]; p != nil {
		return p.Root()
	}
	return nil
}

func (a *Annotation) newPoint(spec *QSpec, sites ...Site) *Point {
	p := &Point{ID: len(a.points), Spec: spec, Sites: sites}
	a.points = append(a.points, p)
	return p
}

// union merges two points into one shared group; the older point stays
// the root so IDs stay stable. Points of different specs never merge.
func (a *Annotation) union(p, q *Point) *Point {
	p, q = p.Root(), q.Root()
	if p == q {
		return p
	}
	if q.ID < p.ID {
		p, q = q, p
	}
	q.parent = p
	p.Sites = append(p.Sites, q.Sites...)
	q.Sites = nil
	return p
}
