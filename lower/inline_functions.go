package lower

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// maxFunctionDepth bounds nested function calls: ONNX forbids recursion,
// and a model that nests deeper than this is broken or hostile.
const maxFunctionDepth = 64

// inlineFunctions replaces every call of a model-local function (a
// FunctionProto in model.functions, called by a node of its domain and
// name) by the function's nodes, in the main graph and in every body.
// Recent exporters write functions (torch's export_modules_as_functions,
// the dynamo exporter); no runtime on an Ethos-U device runs them, and the
// quantizer judges and rewrites operators, so calls are expanded once, at
// load.
//
// The inlined nodes get the call site as their module, the way an FX
// call_module is: the call node's name is appended to its own module path
// (nested calls joined with "."), and the function's "domain.name" is that
// module's type, written as the torch exporter's name_scopes and
// class_hierarchy node metadata that moduleMeta reads, so set_module_name
// and set_module_type can target them and the output model keeps them.
// Attribute references are bound to the call's attributes or the
// function's defaults; values are renamed under the call's name so
// several calls never collide. The model is cloned only when it has
// functions; it is returned unchanged otherwise.
func inlineFunctions(m *onnxpb.ModelProto) (*onnxpb.ModelProto, error) {
	if len(m.GetFunctions()) == 0 {
		return m, nil
	}
	m = proto.Clone(m).(*onnxpb.ModelProto)
	in := &inliner{funcs: map[string]*onnxpb.FunctionProto{}, opsets: map[string]int64{}, used: map[string]bool{}, local: map[*onnxpb.NodeProto]string{}}
	for _, o := range m.OpsetImport {
		in.opsets[normDomain(o.GetDomain())] = o.GetVersion()
	}
	for _, f := range m.Functions {
		key := funcKey(f.GetDomain(), f.GetName(), f.GetOverload())
		if in.funcs[key] != nil {
			return nil, fmt.Errorf("function %s is defined twice", key)
		}
		in.funcs[key] = f
		for _, o := range f.OpsetImport {
			d := normDomain(o.GetDomain())
			if v, ok := in.opsets[d]; !ok {
				in.opsets[d] = o.GetVersion()
				m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(o.GetDomain()), Version: proto.Int64(o.GetVersion())})
			} else if v != o.GetVersion() && !in.isFunctionDomain(d) {
				return nil, fmt.Errorf("function %s imports opset %d of domain %q, the model %d: ONNX requires them to agree", key, o.GetVersion(), o.GetDomain(), v)
			}
		}
	}
	if err := in.graph(m.Graph); err != nil {
		return nil, err
	}
	m.Functions = nil
	return m, nil
}

func funcKey(domain, name, overload string) string {
	k := normDomain(domain) + "." + name
	if overload != "" {
		k += ":" + overload
	}
	return k
}

type inliner struct {
	funcs  map[string]*onnxpb.FunctionProto
	opsets map[string]int64
	used   map[string]bool // value and node names taken in the graph being expanded
	calls  int
	// local is the name an inlined node had inside its function: a call
	// inside a function is the module of that name within its caller.
	local map[*onnxpb.NodeProto]string
}

func (in *inliner) isFunctionDomain(d string) bool {
	for _, f := range in.funcs {
		if normDomain(f.GetDomain()) == d {
			return true
		}
	}
	return false
}

// graph expands the calls in g (and in the bodies of its nodes).
func (in *inliner) graph(g *onnxpb.GraphProto) error {
	saved := in.used
	in.used = map[string]bool{}
	defer func() { in.used = saved }()
	collectNames(g, in.used)
	out, err := in.nodes(g.Node, 0)
	if err != nil {
		return err
	}
	g.Node = out
	return nil
}

func collectNames(g *onnxpb.GraphProto, used map[string]bool) {
	for _, vi := range g.Input {
		used[vi.GetName()] = true
	}
	for _, t := range g.Initializer {
		used[t.GetName()] = true
	}
	for _, n := range g.Node {
		used[n.GetName()] = true
		for _, o := range n.Output {
			used[o] = true
		}
	}
}

// nodes expands the calls in a node list, depth levels of calls deep.
func (in *inliner) nodes(ns []*onnxpb.NodeProto, depth int) ([]*onnxpb.NodeProto, error) {
	var out []*onnxpb.NodeProto
	for _, n := range ns {
		for _, a := range n.Attribute {
			if a.G != nil {
				if err := in.graph(a.G); err != nil {
					return nil, fmt.Errorf("node %q (%s) %s: %w", n.GetName(), n.GetOpType(), a.GetName(), err)
				}
			}
			for _, sub := range a.Graphs {
				if err := in.graph(sub); err != nil {
					return nil, fmt.Errorf("node %q (%s) %s: %w", n.GetName(), n.GetOpType(), a.GetName(), err)
				}
			}
		}
		f := in.funcs[funcKey(n.GetDomain(), n.GetOpType(), n.GetOverload())]
		if f == nil {
			out = append(out, n)
			continue
		}
		if depth >= maxFunctionDepth {
			return nil, fmt.Errorf("node %q calls function %s.%s more than %d calls deep (ONNX forbids recursive functions)", n.GetName(), f.GetDomain(), f.GetName(), maxFunctionDepth)
		}
		body, err := in.expand(n, f)
		if err != nil {
			return nil, fmt.Errorf("node %q (call of function %s.%s): %w", n.GetName(), f.GetDomain(), f.GetName(), err)
		}
		body, err = in.nodes(body, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, body...)
	}
	return out, nil
}

// fresh returns base, or base with a numeric suffix, unused in the graph.
func (in *inliner) fresh(base string) string {
	name := base
	for k := 1; in.used[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	in.used[name] = true
	return name
}

// expand returns the nodes of one call of f, renamed and bound.
func (in *inliner) expand(call *onnxpb.NodeProto, f *onnxpb.FunctionProto) ([]*onnxpb.NodeProto, error) {
	in.calls++
	site := call.GetName()
	if l, ok := in.local[call]; ok {
		site = l
	}
	if site == "" {
		site = fmt.Sprintf("%s_%d", f.GetName(), in.calls)
	}
	prefix := site + "/"
	if call.GetName() != "" {
		prefix = call.GetName() + "/"
	}
	// The call node goes away: its name may be reused as the prefix.
	delete(in.used, call.GetName())
	prefix = in.fresh(strings.TrimSuffix(prefix, "/")) + "/"
	if len(call.Input) > len(f.Input) {
		return nil, fmt.Errorf("%d inputs for a function of %d", len(call.Input), len(f.Input))
	}
	if len(call.Output) > len(f.Output) {
		return nil, fmt.Errorf("%d outputs for a function of %d", len(call.Output), len(f.Output))
	}
	rename := map[string]string{}
	for i, formal := range f.Input {
		actual := ""
		if i < len(call.Input) {
			actual = call.Input[i]
		}
		rename[formal] = actual
	}
	produced := map[string]bool{}
	for _, n := range f.Node {
		for _, o := range n.Output {
			if o != "" {
				produced[o] = true
				if _, isOut := rename[o]; !isOut {
					rename[o] = in.fresh(prefix + o)
				}
			}
		}
	}
	for i, formal := range f.Output {
		if i < len(call.Output) && call.Output[i] != "" {
			rename[formal] = call.Output[i]
		} else if _, ok := rename[formal]; !ok {
			rename[formal] = in.fresh(prefix + formal)
		}
	}
	attrs := map[string]*onnxpb.AttributeProto{}
	for _, a := range f.AttributeProto {
		attrs[a.GetName()] = a
	}
	for _, a := range call.Attribute {
		attrs[a.GetName()] = a
	}
	scopes, classes := callScopes(call)
	scopes = append(scopes, siteScope(site))
	classes = append(classes, normDomainName(f.GetDomain())+"."+f.GetName())
	var out []*onnxpb.NodeProto
	for i, fn := range f.Node {
		n := proto.Clone(fn).(*onnxpb.NodeProto)
		base := fn.GetName()
		if base == "" {
			base = fmt.Sprintf("%s_%d", fn.GetOpType(), i)
		}
		n.Name = proto.String(in.fresh(prefix + base))
		in.local[n] = fn.GetName()
		for j, v := range n.Input {
			if v == "" {
				continue
			}
			r, ok := rename[v]
			if !ok {
				return nil, fmt.Errorf("node %q reads %q, which the function neither takes nor computes", fn.GetName(), v)
			}
			n.Input[j] = r
		}
		for j, v := range n.Output {
			if v != "" {
				n.Output[j] = rename[v]
			}
		}
		bound, err := bindAttrs(n.Attribute, attrs, rename)
		if err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", fn.GetName(), fn.GetOpType(), err)
		}
		n.Attribute = bound
		setScopes(n, scopes, classes)
		out = append(out, n)
	}
	// A function output that is one of its inputs has no producer inside.
	for i, formal := range f.Output {
		if produced[formal] || i >= len(call.Output) || call.Output[i] == "" {
			continue
		}
		src := rename[formal]
		if idx := indexOf(f.Input, formal); idx >= 0 {
			src = ""
			if idx < len(call.Input) {
				src = call.Input[idx]
			}
		}
		if src == "" {
			return nil, fmt.Errorf("output %q is not computed", formal)
		}
		id := &onnxpb.NodeProto{Name: proto.String(in.fresh(prefix + "Identity_" + formal)), OpType: proto.String("Identity"),
			Input: []string{src}, Output: []string{call.Output[i]}}
		setScopes(id, scopes, classes)
		out = append(out, id)
	}
	return out, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

func normDomainName(d string) string {
	if d == "" {
		return "ai.onnx"
	}
	return d
}

// siteScope is the module name a call site gives: its node name, with a
// torch-style path ("/encoder/block1") written as a qualified name.
func siteScope(site string) string {
	if strings.HasPrefix(site, "/") {
		return strings.Join(strings.FieldsFunc(site, func(r rune) bool { return r == '/' }), ".")
	}
	return site
}

// callScopes is the module path of the call node itself.
func callScopes(call *onnxpb.NodeProto) (scopes, classes []string) {
	for _, p := range call.MetadataProps {
		switch p.GetKey() {
		case metaNameScopes:
			scopes = parsePyList(p.GetValue())
		case metaClassHierarchy:
			classes = parsePyList(p.GetValue())
		}
	}
	if scopes == nil {
		scopes = ModuleStackFromName(call.GetName())
	}
	for len(classes) < len(scopes) {
		classes = append(classes, "")
	}
	return append([]string(nil), scopes...), append([]string(nil), classes[:len(scopes)]...)
}

// setScopes writes the module path of an inlined node, outermost first,
// in front of any the function itself recorded for the node.
func setScopes(n *onnxpb.NodeProto, scopes, classes []string) {
	inner, innerClasses := []string(nil), []string(nil)
	var kept []*onnxpb.StringStringEntryProto
	for _, p := range n.MetadataProps {
		switch p.GetKey() {
		case metaNameScopes:
			inner = parsePyList(p.GetValue())
		case metaClassHierarchy:
			innerClasses = parsePyList(p.GetValue())
		default:
			kept = append(kept, p)
		}
	}
	for len(innerClasses) < len(inner) {
		innerClasses = append(innerClasses, "")
	}
	all := append(append([]string(nil), scopes...), inner...)
	allClasses := append(append([]string(nil), classes...), innerClasses[:len(inner)]...)
	n.MetadataProps = append(kept,
		&onnxpb.StringStringEntryProto{Key: proto.String(metaNameScopes), Value: proto.String(pyList(all))},
		&onnxpb.StringStringEntryProto{Key: proto.String(metaClassHierarchy), Value: proto.String(pyList(allClasses))})
}

// pyList writes strings as the Python list literal parsePyList reads.
func pyList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// bindAttrs resolves attribute references (ref_attr_name) against the
// call's attributes and the function's defaults; a reference to an
// attribute neither gives is dropped, so the operator's own default
// applies. Graph attributes are bound recursively, and their references to
// the function's values renamed.
func bindAttrs(as []*onnxpb.AttributeProto, attrs map[string]*onnxpb.AttributeProto, rename map[string]string) ([]*onnxpb.AttributeProto, error) {
	var out []*onnxpb.AttributeProto
	for _, a := range as {
		if ref := a.GetRefAttrName(); ref != "" {
			v := attrs[ref]
			if v == nil {
				continue
			}
			b := proto.Clone(v).(*onnxpb.AttributeProto)
			b.Name = a.Name
			b.RefAttrName = nil
			out = append(out, b)
			continue
		}
		if a.G != nil {
			if err := bindGraph(a.G, attrs, rename); err != nil {
				return nil, fmt.Errorf("attribute %q: %w", a.GetName(), err)
			}
		}
		for _, g := range a.Graphs {
			if err := bindGraph(g, attrs, rename); err != nil {
				return nil, fmt.Errorf("attribute %q: %w", a.GetName(), err)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// bindGraph renames, inside a body of an inlined node, the references to
// the function's values that the body does not define itself.
func bindGraph(g *onnxpb.GraphProto, attrs map[string]*onnxpb.AttributeProto, rename map[string]string) error {
	local := map[string]bool{}
	for _, vi := range g.Input {
		local[vi.GetName()] = true
	}
	for _, t := range g.Initializer {
		local[t.GetName()] = true
	}
	for _, n := range g.Node {
		for _, o := range n.Output {
			local[o] = true
		}
	}
	outer := map[string]string{}
	for k, v := range rename {
		if !local[k] {
			outer[k] = v
		}
	}
	for _, n := range g.Node {
		for j, v := range n.Input {
			if r, ok := outer[v]; ok {
				n.Input[j] = r
			}
		}
		bound, err := bindAttrs(n.Attribute, attrs, outer)
		if err != nil {
			return err
		}
		n.Attribute = bound
	}
	for _, o := range g.Output {
		if r, ok := outer[o.GetName()]; ok {
			o.Name = proto.String(r)
		}
	}
	return nil
}
