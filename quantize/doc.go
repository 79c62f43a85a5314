// Package quantize owns the quantization pipeline: one table of named
// stages (Stages, in pipeline.go) run over a shared Session, in the manner
// of the Go compiler's SSA pass list. Everything the pipeline knows of the
// hardware comes through a Target; ethosu implements it and keeps
// ExecuTorch's EthosUQuantizer API as a facade over Run.
//
// The legality report types (Report, Verdict, IllegalModelError) live here
// so the check stages can hold them without importing a target.
package quantize
