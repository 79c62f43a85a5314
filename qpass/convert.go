package qpass

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// QParams are the scale and zero point of one point: one entry per tensor,
// or one per channel along Axis.
type QParams struct {
	Scale     []float32
	ZeroPoint []int32
	Axis      int
}

// ConvertToQDQ rewrites gm into a QDQ model: constants of weight, bias and
// constant-operand points become integer initializers read through
// DequantizeLinear, and every activation site gets a QuantizeLinear ->
// DequantizeLinear pair. qparams holds the observed parameters of every
// root point that is not derived; bias qparams are derived here as input
// scale × weight scale. Graph input and output names and order do not
// change.
func ConvertToQDQ(gm *lower.GraphModule, ann *Annotation, qparams map[int]QParams) error {
	c := &converter{ann: ann, qp: qparams, dir: gm.Root().Dir, names: map[*lower.Graph]map[string]bool{}}
	// Thousands of scales and zero points join the initializers: in one
	// move per graph, not one each.
	var flushes []func()
	_ = gm.Walk(func(m *lower.GraphModule) error {
		flushes = append(flushes, m.Graph.BatchInitializers())
		return nil
	})
	flush := func() {
		for _, f := range flushes {
			f()
		}
		flushes = nil
	}
	defer flush()
	roots := ann.Points()
	// Output sites first: they rewrite every reader, so edge sites added
	// after them read the dequantized tensor.
	for _, kind := range []SiteKind{OutputSite, EdgeSite} {
		for _, p := range roots {
			if err := gm.Interrupted(); err != nil {
				return err
			}
			q, err := c.params(p)
			if err != nil {
				return err
			}
			for _, s := range p.Sites {
				if s.Kind != kind {
					continue
				}
				if err := c.site(p, s, q); err != nil {
					return err
				}
			}
		}
	}
	flush()
	gm.EliminateDeadCode()
	return gm.Walk(func(m *lower.GraphModule) error { return m.Graph.TopoSort() })
}

type converter struct {
	ann *Annotation
	qp  map[int]QParams
	dir string
	// names holds the ONNX node names used per graph: ONNX Runtime
	// rejects two nodes of one graph with the same name, and one
	// initializer (a shared bias) may be dequantized for several readers.
	names map[*lower.Graph]map[string]bool
}

// nodeName returns base, or base_N, unused by the nodes of g.
func (c *converter) nodeName(g *lower.Graph, base string) string {
	used := c.names[g]
	if used == nil {
		used = map[string]bool{}
		for _, n := range g.Nodes {
			used[n.Meta.SourceName] = true
		}
		c.names[g] = used
	}
	name := base
	for i := 1; used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	used[name] = true
	return name
}

// params returns the qparams of a root point, deriving bias ones.
func (c *converter) params(p *Point) (QParams, error) {
	if !p.Derived() {
		q, ok := c.qp[p.ID]
		if !ok {
			return QParams{}, fmt.Errorf("quantization point %d (%s) has no qparams", p.ID, describeSites(p))
		}
		return q, nil
	}
	in, ok := c.qp[p.BiasInput.Root().ID]
	if !ok {
		return QParams{}, fmt.Errorf("bias %s: its input has no qparams", describeSites(p))
	}
	w, ok := c.qp[p.BiasWeight.Root().ID]
	if !ok {
		return QParams{}, fmt.Errorf("bias %s: its weight has no qparams", describeSites(p))
	}
	q := QParams{Axis: 0}
	for _, ws := range w.Scale {
		q.Scale = append(q.Scale, in.Scale[0]*ws)
		q.ZeroPoint = append(q.ZeroPoint, 0)
	}
	return q, nil
}

func describeSites(p *Point) string {
	if len(p.Sites) == 0 {
		return fmt.Sprintf("#%d", p.ID)
	}
	s := p.Sites[0]
	where := s.Module()
	if where == "" {
		return fmt.Sprintf("of tensor %q", s.Value.Name)
	}
	return fmt.Sprintf("of tensor %q in %s", s.Value.Name, where)
}

func (c *converter) site(p *Point, s Site, q QParams) error {
	g := s.Graph
	v := s.Value
	if s.Kind == EdgeSite && !s.Constant() {
		// An output site converted before may have put a dequantized
		// tensor on this edge: requantize that.
		v = s.Consumer.Inputs[s.Input]
	}
	var dq *lower.Value
	var err error
	if s.Constant() && v.IsInitializer(lower.ThisGraph) {
		dq, err = c.constant(g, v, p, q)
	} else {
		dq, err = c.activation(g, v, p, q, s)
	}
	if err != nil {
		return err
	}
	if s.Kind == EdgeSite {
		s.Consumer.SetInput(s.Input, dq)
		// The edge into the graph's output (the io config's output
		// pair) keeps the output's name.
		if s.Consumer == g.OutputNode() && g.Outer == nil {
			name := v.Name
			g.RenameValue(v, g.NewValueName(name+"_float"))
			g.RenameValue(dq, name)
		}
		return nil
	}
	// Graph outputs keep their names: the dequantized tensor takes it.
	name, output := v.Name, v.IsGraphOutput()
	if output {
		g.RenameValue(v, g.NewValueName(name+"_float"))
	}
	g.ReplaceAllUses(v, dq)
	// The QuantizeLinear reading v was rewritten too; point it back.
	if q := dq.Producer.Inputs[0].Producer; q.Target.OpType == "QuantizeLinear" {
		q.SetInput(0, v)
	}
	if output {
		g.RenameValue(dq, name)
	}
	return nil
}

// activation inserts QuantizeLinear -> DequantizeLinear after v (or
// before the consumer of an edge site) and returns the dequantized value.
func (c *converter) activation(g *lower.Graph, v *lower.Value, p *Point, q QParams, s Site) (*lower.Value, error) {
	if len(q.Scale) != 1 {
		return nil, fmt.Errorf("tensor %q: activations are quantized per tensor, got %d scales", v.Name, len(q.Scale))
	}
	scale, zp := c.qparamTensors(g, v.Name, p.Spec, q)
	pos := g.Index(v.Producer) + 1
	if s.Kind == EdgeSite {
		pos = g.Index(s.Consumer)
	}
	if v.Producer.Op == lower.Placeholder {
		pos = firstComputeIndex(g)
	}
	qn := g.NewOp(pos, "QuantizeLinear", c.nodeName(g, v.Name+"_QuantizeLinear"), []*lower.Value{v, scale, zp}, 1)
	qn.Outputs[0].Name = renameOutput(g, qn.Outputs[0], v.Name+"_quantized")
	setTensorType(qn.Outputs[0], p.Spec.DType, v)
	dn := g.NewOp(pos+1, "DequantizeLinear", c.nodeName(g, v.Name+"_DequantizeLinear"), []*lower.Value{qn.Outputs[0], scale, zp}, 1)
	dn.Outputs[0].Name = renameOutput(g, dn.Outputs[0], v.Name+"_dequantized")
	setTensorType(dn.Outputs[0], int32(onnxpb.TensorProto_FLOAT), v)
	copyModule(qn, v)
	copyModule(dn, v)
	return dn.Outputs[0], nil
}

// constant quantizes an initializer offline and returns the value of a
// DequantizeLinear reading the integer initializer.
func (c *converter) constant(g *lower.Graph, v *lower.Value, p *Point, q QParams) (*lower.Value, error) {
	t := v.Producer.Initializer
	data, err := onnxio.Float32s(t, c.dir)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", v.Name, err)
	}
	dims := t.GetDims()
	axis := -1
	if len(q.Scale) > 1 {
		axis = q.Axis
		if p.Derived() {
			axis = 0
		}
		if axis >= len(dims) || int(dims[axis]) != len(q.Scale) {
			return nil, fmt.Errorf("tensor %q: %d channel scales do not fit shape %v on axis %d", v.Name, len(q.Scale), dims, axis)
		}
	}
	qt := &onnxpb.TensorProto{Dims: append([]int64(nil), dims...), DataType: proto.Int32(p.Spec.DType)}
	qt.RawData = quantizeRaw(data, dims, axis, q, p.Spec)
	qv := g.NewInitializer(v.Name+"_quantized", qt)
	setTensorType(qv, p.Spec.DType, v)
	scale, zp := c.qparamTensors(g, v.Name, p.Spec, q)
	var attrs []*onnxpb.AttributeProto
	if axis >= 0 {
		attrs = append(attrs, lower.IntAttr("axis", int64(axis)))
	}
	pos := firstComputeIndex(g)
	dn := g.NewOp(pos, "DequantizeLinear", c.nodeName(g, v.Name+"_DequantizeLinear"), []*lower.Value{qv, scale, zp}, 1, attrs...)
	dn.Outputs[0].Name = renameOutput(g, dn.Outputs[0], v.Name+"_dequantized")
	setTensorType(dn.Outputs[0], int32(onnxpb.TensorProto_FLOAT), v)
	return dn.Outputs[0], nil
}

// qparamTensors adds the scale and zero-point initializers of a site:
// scalars per tensor, 1-D per channel.
func (c *converter) qparamTensors(g *lower.Graph, base string, spec *QSpec, q QParams) (scale, zp *lower.Value) {
	var dims []int64
	if len(q.Scale) > 1 {
		dims = []int64{int64(len(q.Scale))}
	}
	st := &onnxpb.TensorProto{Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	st.RawData = make([]byte, 4*len(q.Scale))
	for i, s := range q.Scale {
		putU32(st.RawData[4*i:], math.Float32bits(s))
	}
	zt := &onnxpb.TensorProto{Dims: dims, DataType: proto.Int32(spec.DType)}
	zt.RawData = packInts(q.ZeroPoint, spec.DType)
	return g.NewInitializer(base+"_scale", st), g.NewInitializer(base+"_zero_point", zt)
}

// quantizeRaw rounds half to even and saturates, as QuantizeLinear does,
// and packs little-endian.
func quantizeRaw(data []float32, dims []int64, axis int, q QParams, spec *QSpec) []byte {
	inner := 1
	channels := 1
	if axis >= 0 {
		channels = int(dims[axis])
		for _, d := range dims[axis+1:] {
			inner *= int(d)
		}
	}
	vals := make([]int32, len(data))
	for i, x := range data {
		ch := 0
		if axis >= 0 {
			ch = (i / inner) % channels
		}
		r := math.RoundToEven(float64(x)/float64(q.Scale[ch])) + float64(q.ZeroPoint[ch])
		r = math.Max(float64(spec.QMin), math.Min(float64(spec.QMax), r))
		vals[i] = int32(r)
	}
	return packInts(vals, spec.DType)
}

func packInts(vals []int32, dtype int32) []byte {
	switch onnxpb.TensorProto_DataType(dtype) {
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8:
		out := make([]byte, len(vals))
		for i, v := range vals {
			out[i] = byte(v)
		}
		return out
	case onnxpb.TensorProto_INT16:
		out := make([]byte, 2*len(vals))
		for i, v := range vals {
			out[2*i] = byte(v)
			out[2*i+1] = byte(v >> 8)
		}
		return out
	default:
		out := make([]byte, 4*len(vals))
		for i, v := range vals {
			putU32(out[4*i:], uint32(v))
		}
		return out
	}
}

func putU32(b []byte, u uint32) {
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

// firstComputeIndex is where nodes reading only inputs and initializers go.
func firstComputeIndex(g *lower.Graph) int {
	return g.InitializerEnd()
}

func renameOutput(g *lower.Graph, v *lower.Value, want string) string {
	if v.Name == want {
		return want
	}
	g.RenameValue(v, g.NewValueName(want))
	return v.Name
}

func setTensorType(v *lower.Value, dtype int32, like *lower.Value) {
	v.DType = dtype
	v.Shape = like.Shape
	v.HasShape = like.HasShape
}

func copyModule(n *lower.Node, v *lower.Value) {
	if v.Producer != nil {
		n.Meta.ModuleStack = v.Producer.Meta.ModuleStack
		n.Meta.ModuleTypes = v.Producer.Meta.ModuleTypes
	}
}
