// Package qpass holds the graph passes of the quantizer: the rewrites that
// prepare a lowered model for annotation (fold, decompose, normalise
// constants), in the manner of ExecuTorch's transform_for_annotation
// pipeline, the Arm annotator and the conversion to QDQ. The quantize
// package runs them as stages of its table.
//
// Each pass lives in its own file named for what it does and is a plain
// function over a *lower.GraphModule that reports whether it changed
// anything. Pipelines are data (see pipeline.go): a list of named passes and
// a table of ordering constraints that a test checks. Passes never call
// each other.
//
// qpass must not reach back into ethosu or cmd: target facts come in through
// PassContext.
package qpass
