package ethosu

import (
	"fmt"
	"sort"
	"strings"
)

// Family is an Ethos-U generation.
type Family string

// The Ethos-U families.
const (
	U55 Family = "ethos-u55"
	U65 Family = "ethos-u65"
	U85 Family = "ethos-u85"
)

// targetMACs lists every valid target with its MAC count.
func targetMACs() map[string]int {
	return map[string]int{
		"ethos-u55-32": 32, "ethos-u55-64": 64, "ethos-u55-128": 128, "ethos-u55-256": 256,
		"ethos-u65-256": 256, "ethos-u65-512": 512,
		"ethos-u85-128": 128, "ethos-u85-256": 256, "ethos-u85-512": 512, "ethos-u85-1024": 1024, "ethos-u85-2048": 2048,
	}
}

// Targets returns the valid target names, sorted.
func Targets() []string {
	var out []string
	for t := range targetMACs() {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		fi, fj := out[i][:9], out[j][:9]
		if fi != fj {
			return fi < fj
		}
		return targetMACs()[out[i]] < targetMACs()[out[j]]
	})
	return out
}

// UnknownTargetError is returned for a target name Vela does not know.
type UnknownTargetError struct{ Target string }

func (e *UnknownTargetError) Error() string {
	return fmt.Sprintf("unknown target %q; valid targets: %s", e.Target, strings.Join(Targets(), ", "))
}

// CompileSpec is ExecuTorch's EthosUCompileSpec: the accelerator, the Vela
// system config and memory mode, and extra Vela flags carried along.
type CompileSpec struct {
	Target       string
	SystemConfig string
	MemoryMode   string
	ExtraFlags   []string
	ConfigIni    string
}

// NewCompileSpec validates target and fills the family's defaults for an
// empty system config or memory mode.
func NewCompileSpec(target, systemConfig, memoryMode string, extraFlags ...string) (CompileSpec, error) {
	target = strings.ToLower(strings.TrimSpace(target))
	if _, ok := targetMACs()[target]; !ok {
		return CompileSpec{}, &UnknownTargetError{Target: target}
	}
	s := CompileSpec{Target: target, SystemConfig: systemConfig, MemoryMode: memoryMode, ExtraFlags: extraFlags, ConfigIni: "Arm/vela.ini"}
	switch s.Family() {
	case U55:
		if s.SystemConfig == "" {
			s.SystemConfig = "Ethos_U55_High_End_Embedded"
		}
		if s.MemoryMode == "" {
			s.MemoryMode = "Shared_Sram"
		}
		if s.MemoryMode == "Dedicated_Sram" {
			return CompileSpec{}, fmt.Errorf("target %s: memory mode Dedicated_Sram is not available on Ethos-U55", target)
		}
	case U65:
		if s.SystemConfig == "" {
			s.SystemConfig = "Ethos_U65_High_End"
		}
		if s.MemoryMode == "" {
			s.MemoryMode = "Dedicated_Sram_384KB"
		}
	case U85:
		if s.SystemConfig == "" {
			s.SystemConfig = "Ethos_U85_SYS_DRAM_Mid"
		}
		if s.MemoryMode == "" {
			s.MemoryMode = "Sram_Only"
		}
	}
	return s, nil
}

// MustCompileSpec is NewCompileSpec for literal, known-good targets in
// examples and tests.
func MustCompileSpec(target string) CompileSpec {
	s, err := NewCompileSpec(target, "", "")
	if err != nil {
		panic(err)
	}
	return s
}

// Family returns the generation of the target.
func (s CompileSpec) Family() Family {
	switch {
	case strings.HasPrefix(s.Target, string(U55)):
		return U55
	case strings.HasPrefix(s.Target, string(U65)):
		return U65
	}
	return U85
}

// MACs is the accelerator's MAC count.
func (s CompileSpec) MACs() int { return targetMACs()[s.Target] }

// U55Subset reports whether the target uses TOSA's +u55 subset (U55 and
// U65 alike).
func (s CompileSpec) U55Subset() bool { return s.Family() != U85 }

// TOSASpec is the TOSA specification string ExecuTorch uses for the target.
func (s CompileSpec) TOSASpec() string {
	if s.U55Subset() {
		return "TOSA-1.0+INT+int16+int4+u55"
	}
	return "TOSA-1.0+INT+int16+int4+cf"
}

// VelaFlags are the flags ExecuTorch passes to Vela for this spec.
func (s CompileSpec) VelaFlags() []string {
	flags := append([]string{}, s.ExtraFlags...)
	return append(flags,
		"--accelerator-config="+s.Target,
		"--config="+s.ConfigIni,
		"--output-format=raw",
		"--system-config="+s.SystemConfig,
		"--memory-mode="+s.MemoryMode)
}
