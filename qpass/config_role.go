package qpass

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Role is where a config is given: the whole model, the graph inputs and
// outputs, or the nodes of a module (by name or type).
type Role string

// The roles of ExecuTorch's setters.
const (
	RoleGlobal     Role = "global"
	RoleIO         Role = "io"
	RoleModuleName Role = "module_name"
	RoleModuleType Role = "module_type"
)

// ErrConfigRole marks a config given where it cannot serve, such as the
// uint8 IO config as the global one: it has no weight spec, and the
// annotator would meet a convolution with nothing to quantize its weights
// with.
var ErrConfigRole = errors.New("config not valid for this role")

// CheckRole reports whether c can serve in role. A nil config (leave
// float) is valid anywhere; the legality check judges its nodes later.
func (c *Config) CheckRole(role Role) error {
	if c == nil {
		return nil
	}
	if c.InputActivation == nil || c.OutputActivation == nil {
		return fmt.Errorf("%w: config %q has no activation spec, which %s needs", ErrConfigRole, c.Name, role)
	}
	if role != RoleIO && c.Weight == nil {
		return fmt.Errorf("%w: config %q quantizes graph inputs and outputs only (io), not %s", ErrConfigRole, c.Name, role)
	}
	return nil
}

// CheckRoles checks every config of the set against its role.
func (cs *ConfigSet) CheckRoles() error {
	if err := cs.Global.CheckRole(RoleGlobal); err != nil {
		return fmt.Errorf("global: %w", err)
	}
	if err := cs.IO.CheckRole(RoleIO); err != nil {
		return fmt.Errorf("io: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(cs.ModuleName)) {
		if err := cs.ModuleName[name].CheckRole(RoleModuleName); err != nil {
			return fmt.Errorf("module_name %q: %w", name, err)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(cs.ModuleType)) {
		if err := cs.ModuleType[typ].CheckRole(RoleModuleType); err != nil {
			return fmt.Errorf("module_type %q: %w", typ, err)
		}
	}
	return nil
}
