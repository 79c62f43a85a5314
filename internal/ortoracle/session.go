//go:build ort

package ortoracle

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
	"gorgonia.org/tensor"
)

// Session is a loaded model. Run may be called from several goroutines.
type Session struct {
	s       *ort.DynamicAdvancedSession
	inputs  []ort.InputOutputInfo
	outputs []ort.InputOutputInfo
}

// NewSession loads the model file at path.
func NewSession(path string, opts Options) (*Session, error) {
	s, err := newSession(opts, func(so *ort.SessionOptions) ([]ort.InputOutputInfo, []ort.InputOutputInfo, error) {
		return ort.GetInputOutputInfoWithOptions(path, so)
	}, func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSession(path, in, out, so)
	})
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime session for %s: %w", path, err)
	}
	return s, nil
}

// NewSessionBytes loads a serialized model.
func NewSessionBytes(model []byte, opts Options) (*Session, error) {
	s, err := newSession(opts, func(*ort.SessionOptions) ([]ort.InputOutputInfo, []ort.InputOutputInfo, error) {
		return ort.GetInputOutputInfoWithONNXData(model)
	}, func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSessionWithONNXData(model, in, out, so)
	})
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime session: %w", err)
	}
	return s, nil
}

type infoFunc func(*ort.SessionOptions) ([]ort.InputOutputInfo, []ort.InputOutputInfo, error)
type openFunc func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error)

func newSession(opts Options, info infoFunc, open openFunc) (*Session, error) {
	if err := initialize(); err != nil {
		return nil, err
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	ins, outs, err := info(so)
	if err != nil {
		return nil, err
	}
	s, err := open(names(ins), names(outs), so)
	if err != nil {
		return nil, err
	}
	return &Session{s: s, inputs: ins, outputs: outs}, nil
}

func sessionOptions(opts Options) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	if opts.Threads > 0 {
		err = errors.Join(so.SetIntraOpNumThreads(opts.Threads), so.SetInterOpNumThreads(1))
	}
	if err == nil && opts.DisableOptimizations {
		err = so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll)
	}
	if err != nil {
		so.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	return so, nil
}

func names(infos []ort.InputOutputInfo) []string {
	out := make([]string, len(infos))
	for i, info := range infos {
		out[i] = info.Name
	}
	return out
}

// InputNames returns the model's inputs in declaration order.
func (s *Session) InputNames() []string { return names(s.inputs) }

// OutputNames returns the model's outputs in declaration order.
func (s *Session) OutputNames() []string { return names(s.outputs) }

// Run feeds every model input and returns every model output, keyed by name,
// with the model's output element types.
func (s *Session) Run(inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	if err := s.checkInputs(inputs); err != nil {
		return nil, err
	}
	if len(s.inputs) == 0 || len(s.outputs) == 0 {
		// onnxruntime_go indexes the first input and output unconditionally.
		return nil, errors.New("the ONNX Runtime Go binding cannot run a model without inputs or outputs")
	}
	in := make([]ort.Value, len(s.inputs))
	defer destroyAll(in)
	for i, info := range s.inputs {
		v, err := toValue(inputs[info.Name])
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", info.Name, err)
		}
		in[i] = v
	}
	out := make([]ort.Value, len(s.outputs))
	defer func() { destroyAll(out) }()
	preallocated := false
	for i, info := range s.outputs {
		if info.OrtValueType == ort.ONNXTypeTensor && len(info.Dimensions) == 0 {
			out[i], _ = newScalarOutput(info.DataType)
			preallocated = preallocated || out[i] != nil
		}
	}
	err := s.s.Run(in, out)
	if err != nil && preallocated {
		// An output declared without a shape may be no scalar after all:
		// let ORT allocate every output.
		destroyAll(out)
		out = make([]ort.Value, len(s.outputs))
		err = s.s.Run(in, out)
	}
	if err != nil {
		return nil, err
	}
	result := make(map[string]*tensor.Dense, len(out))
	for i, v := range out {
		d, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.outputs[i].Name, err)
		}
		result[s.outputs[i].Name] = d
	}
	return result, nil
}

func (s *Session) checkInputs(inputs map[string]*tensor.Dense) error {
	var missing, unknown []string
	known := map[string]bool{}
	for _, info := range s.inputs {
		known[info.Name] = true
		if inputs[info.Name] == nil {
			missing = append(missing, info.Name)
		}
	}
	for name := range inputs {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("missing inputs %s", strings.Join(missing, ", ")))
	}
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("unknown inputs %s (the model has %s)", strings.Join(unknown, ", "), strings.Join(names(s.inputs), ", ")))
	}
	return errors.Join(errs...)
}

// Close frees the session.
func (s *Session) Close() error {
	return s.s.Destroy()
}

func destroyAll(vs []ort.Value) {
	for i, v := range vs {
		// onnxruntime_go may leave a typed nil pointer in an output slot it
		// could not fill (non-tensor or unsupported outputs).
		if v != nil && !reflect.ValueOf(v).IsNil() {
			v.Destroy()
		}
		vs[i] = nil
	}
}
