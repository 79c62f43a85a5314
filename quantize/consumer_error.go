package quantize

import (
	"context"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/calib/dataset"
	"github.com/onnxquant/onnxquant/calib/interp"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// A consumer is one node reading a quantized tensor, run alone in the
// interpreter so that choose-ranges can compare its output for the
// tensor fake-quantized on a candidate grid with its output for the float
// tensor.
type consumer struct {
	node   *lower.Node
	module string
	it     *interp.Interpreter
	// inputs are the node's non-constant inputs, the graph inputs of its
	// one-node model, named as in the source graph.
	inputs []*lower.Value
}

// newConsumer builds the one-node model of n: its constant inputs become
// initializers, the others graph inputs. It returns nil for nodes that
// cannot run alone (bodies, inputs of unknown type).
func newConsumer(root *lower.GraphModule, module string, n *lower.Node) *consumer {
	if n.Op != lower.CallFunction || len(n.Bodies) > 0 || root.Model == nil {
		return nil
	}
	g := &onnxpb.GraphProto{Name: proto.String("consumer")}
	c := &consumer{node: n, module: module}
	seen := map[string]bool{}
	np := &onnxpb.NodeProto{OpType: proto.String(n.Target.OpType), Domain: proto.String(n.Target.Domain), Attribute: n.Attrs}
	for _, in := range n.Inputs {
		if in == nil {
			np.Input = append(np.Input, "")
			continue
		}
		np.Input = append(np.Input, in.Name)
		if seen[in.Name] {
			continue
		}
		seen[in.Name] = true
		if t, _, ok := in.Constant(); ok {
			ct := proto.Clone(t).(*onnxpb.TensorProto)
			ct.Name = proto.String(in.Name)
			g.Initializer = append(g.Initializer, ct)
			continue
		}
		if in.DType == 0 {
			return nil
		}
		c.inputs = append(c.inputs, in)
		g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(in.Name), Type: tensorType(in.DType)})
	}
	for _, out := range n.Outputs {
		if out == nil {
			np.Output = append(np.Output, "")
			continue
		}
		np.Output = append(np.Output, out.Name)
		if out.DType == 0 {
			return nil
		}
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(out.Name), Type: tensorType(out.DType)})
	}
	g.Node = []*onnxpb.NodeProto{np}
	m := &onnxpb.ModelProto{IrVersion: root.Model.IrVersion, OpsetImport: root.Model.OpsetImport, Graph: g}
	gm, err := lower.Lower(m, root.Dir)
	if err != nil {
		return nil
	}
	if c.it, err = interp.New(gm, interp.Options{Workers: 1}); err != nil {
		return nil
	}
	return c
}

func tensorType(dt int32) *onnxpb.TypeProto {
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(dt)}}}
}

// run computes the node's float outputs from the given inputs.
func (c *consumer) run(ctx context.Context, in map[string]*tensor.Dense) ([][]float32, error) {
	out, err := c.it.Run(ctx, in, nil)
	if err != nil {
		return nil, err
	}
	var res [][]float32
	for _, o := range c.node.Outputs {
		if o == nil {
			continue
		}
		if data, ok := out[o.Name].Data().([]float32); ok {
			res = append(res, data)
		}
	}
	return res, nil
}

// fakeQuant puts data on the grid (scale, zero point, qmin..qmax) as a
// QuantizeLinear → DequantizeLinear pair does (rounding half to even).
func fakeQuant(data []float32, scale float32, zp int32, qmin, qmax int32) []float32 {
	out := make([]float32, len(data))
	s := float64(scale)
	lo, hi := float64(qmin), float64(qmax)
	for i, x := range data {
		q := math.RoundToEven(float64(x)/s) + float64(zp)
		q = math.Min(math.Max(q, lo), hi)
		out[i] = float32((q - float64(zp)) * s)
	}
	return out
}

// grid is one candidate grid of a point.
type grid struct {
	scale float32
	zp    int32
}

// pointJudge gathers what scoring one point's candidate grids by its
// consumers' outputs needs.
type pointJudge struct {
	sites     []*lower.Value // the values the point quantizes, by source
	modules   []string
	consumers [][]*consumer // per site
	grids     []grid        // per candidate; scale 0 for a candidate that failed
	qmin      int32
	qmax      int32
	// err[c] sums, over consumers, the candidate's squared output error
	// relative to the consumer's output energy.
	err    []float64
	scored bool
}

// valueCollector keeps the watched values of one execution (the last
// occurrence of each, for values computed more than once).
type valueCollector struct {
	watch map[string]bool
	got   map[string]*tensor.Dense
}

func (c *valueCollector) Enter(string) {}

func (c *valueCollector) Value(module string, v *lower.Value, t *tensor.Dense) {
	k := key(module, v.Name)
	if c.watch[k] {
		c.got[k] = t
	}
}

// judgeByConsumers runs the judging samples through the float model and,
// per sample, every point's consumers with the point's values
// fake-quantized on each candidate grid, summing each candidate's relative
// output error. Points none of whose sites have a consumer that can run
// alone stay unscored.
func judgeByConsumers(ctx context.Context, s *Session, set *dataset.Set, judges []*pointJudge) error {
	watch := map[string]bool{}
	for _, j := range judges {
		for i, v := range j.sites {
			watch[key(j.modules[i], v.Name)] = true
			for _, c := range j.consumers[i] {
				for _, in := range c.inputs {
					watch[key(c.module, in.Source().Name)] = true
				}
			}
		}
	}
	it, err := interp.New(s.Module, interp.Options{Workers: max(s.Options.Workers, 1)})
	if err != nil {
		return err
	}
	for i := 0; i < set.Len(); i++ {
		smp, err := set.Load(i)
		if err != nil {
			return err
		}
		col := &valueCollector{watch: watch, got: map[string]*tensor.Dense{}}
		if _, err := it.Run(ctx, smp.Inputs, col); err != nil {
			return fmt.Errorf("sample %s: %w", smp.Name, err)
		}
		for _, j := range judges {
			if err := j.judge(ctx, col.got); err != nil {
				return fmt.Errorf("sample %s: %w", smp.Name, err)
			}
		}
		set.Release(smp)
	}
	return nil
}

// judge adds one sample's consumer errors for every candidate.
func (j *pointJudge) judge(ctx context.Context, got map[string]*tensor.Dense) error {
	for i, v := range j.sites {
		x := got[key(j.modules[i], v.Name)]
		if x == nil {
			continue
		}
		xd, ok := x.Data().([]float32)
		if !ok {
			continue
		}
		for _, c := range j.consumers[i] {
			in := map[string]*tensor.Dense{}
			complete := true
			for _, cin := range c.inputs {
				t := got[key(c.module, cin.Source().Name)]
				if t == nil {
					complete = false
					break
				}
				in[cin.Name] = t
			}
			if !complete {
				continue
			}
			ref, err := c.run(ctx, in)
			if err != nil {
				return fmt.Errorf("node %q alone: %w", c.node.Name, err)
			}
			var energy float64
			for _, o := range ref {
				for _, r := range o {
					energy += float64(r) * float64(r)
				}
			}
			if energy == 0 || math.IsInf(energy, 0) || math.IsNaN(energy) {
				continue
			}
			errs := make([]float64, len(j.grids))
			for ci, gr := range j.grids {
				if gr.scale <= 0 {
					continue
				}
				fq := tensor.New(tensor.WithShape(x.Shape()...), tensor.WithBacking(fakeQuant(xd, gr.scale, gr.zp, j.qmin, j.qmax)))
				for _, cin := range c.inputs {
					if cin.Source() == v {
						in[cin.Name] = fq
					}
				}
				out, err := c.run(ctx, in)
				if err != nil {
					return fmt.Errorf("node %q alone: %w", c.node.Name, err)
				}
				var e float64
				for oi := range ref {
					for k := range ref[oi] {
						d := float64(out[oi][k]) - float64(ref[oi][k])
						e += d * d
					}
				}
				errs[ci] = e / energy
				if math.IsNaN(errs[ci]) {
					errs[ci] = math.Inf(1)
				}
			}
			for ci := range errs {
				j.err[ci] += errs[ci]
			}
			j.scored = true
		}
	}
	return nil
}
