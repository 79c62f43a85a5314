package ethosu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/onnxquant/onnxquant/onnxio"
	"github.com/onnxquant/onnxquant/qpass"
)

// ConfigFile is the quantizer configuration a user writes in YAML or JSON:
//
//	global: int8            # int8 | int8-per-tensor | a16w8 | none
//	io: uint8               # optional: uint8 | int8 | a16w8
//	module_name:
//	  slow: a16w8           # most specific module name wins
//	module_type:
//	  Conv2d: int8          # class name from exporter metadata, or an ONNX op type
//
// "none" (or null) leaves the nodes float, which Ethos-U cannot run: the
// quantizer then fails listing them. Unknown keys are errors.
type ConfigFile struct {
	Global     *string            `json:"global" yaml:"global"`
	IO         *string            `json:"io" yaml:"io"`
	NodeName   map[string]*string `json:"node_name" yaml:"node_name"`
	ModuleName map[string]*string `json:"module_name" yaml:"module_name"`
	ModuleType map[string]*string `json:"module_type" yaml:"module_type"`
}

// ErrConfig marks configuration mistakes (unknown keys or schemes), which
// the CLI treats as usage errors.
var ErrConfig = errors.New("invalid quantizer configuration")

// Schemes lists the scheme names a config accepts.
func Schemes() []string { return []string{"int8", "int8-per-tensor", "a16w8", "uint8", "none"} }

// SchemeConfig returns the qpass config of a scheme name; "none" is nil.
func SchemeConfig(name string, qat bool) (*qpass.Config, error) {
	switch strings.ToLower(name) {
	case "int8":
		return qpass.SymmetricInt8(true, qat), nil
	case "int8-per-tensor":
		return qpass.SymmetricInt8(false, qat), nil
	case "a16w8", "16x8":
		return qpass.SymmetricA16W8(true, qat), nil
	case "uint8", "uint8-io":
		return qpass.Uint8IO(qat), nil
	case "none":
		return nil, nil
	}
	return nil, fmt.Errorf("%w: unknown scheme %q; valid schemes: %s", ErrConfig, name, strings.Join(Schemes(), ", "))
}

// RoleConfig is SchemeConfig for a config given in role: a scheme that
// cannot serve there (uint8, the IO-only scheme, as global or for a module)
// is an ErrConfig naming the roles it is valid for.
func RoleConfig(name string, role qpass.Role, qat bool) (*qpass.Config, error) {
	cfg, err := SchemeConfig(name, qat)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckRole(role); err != nil {
		return nil, fmt.Errorf("%w: scheme %q cannot be used for %s (valid there: %s)", ErrConfig, name, role, strings.Join(SchemesFor(role), ", "))
	}
	return cfg, nil
}

// SchemesFor lists the scheme names valid in role.
func SchemesFor(role qpass.Role) []string {
	var out []string
	for _, s := range Schemes() {
		if cfg, err := SchemeConfig(s, false); err == nil && cfg.CheckRole(role) == nil {
			out = append(out, s)
		}
	}
	return out
}

// LoadConfigFile reads a YAML (.yaml/.yml) or JSON config, rejecting
// unknown keys.
func LoadConfigFile(path string) (*ConfigFile, error) {
	b, err := onnxio.ReadRegular(path, MaxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("config %q: %w", path, err)
	}
	cf := &ConfigFile{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(cf)
	default:
		if err := CheckYAML(b); err != nil {
			return nil, fmt.Errorf("config %q: %w: %v", path, ErrConfig, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		err = dec.Decode(cf)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("config %q: %w: %v", path, ErrConfig, err)
	}
	return cf, nil
}

// Apply configures q from the file; qat picks moving-average observers.
func (cf *ConfigFile) Apply(q *Quantizer, qat bool) error {
	get := func(p *string, role qpass.Role) (*qpass.Config, error) {
		if p == nil {
			return nil, nil
		}
		return RoleConfig(*p, role, qat)
	}
	if cf.Global != nil {
		cfg, err := get(cf.Global, qpass.RoleGlobal)
		if err != nil {
			return fmt.Errorf("global: %w", err)
		}
		q.SetGlobal(cfg)
	}
	if cf.IO != nil {
		cfg, err := get(cf.IO, qpass.RoleIO)
		if err != nil {
			return fmt.Errorf("io: %w", err)
		}
		q.SetIO(cfg)
	}
	for _, name := range sortedKeys(cf.NodeName) {
		cfg, err := get(cf.NodeName[name], qpass.RoleNodeName)
		if err != nil {
			return fmt.Errorf("node_name %q: %w", name, err)
		}
		q.SetNodeName(name, cfg)
	}
	for _, name := range sortedKeys(cf.ModuleName) {
		cfg, err := get(cf.ModuleName[name], qpass.RoleModuleName)
		if err != nil {
			return fmt.Errorf("module_name %q: %w", name, err)
		}
		q.SetModuleName(name, cfg)
	}
	for _, typ := range sortedKeys(cf.ModuleType) {
		cfg, err := get(cf.ModuleType[typ], qpass.RoleModuleType)
		if err != nil {
			return fmt.Errorf("module_type %q: %w", typ, err)
		}
		q.SetModuleType(typ, cfg)
	}
	return nil
}

func sortedKeys(m map[string]*string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
