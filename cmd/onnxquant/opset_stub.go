package main

import "github.com/onnxquant/onnxquant/lower"

// convertOpset is a placeholder until lower.ConvertOpset lands.
func convertOpset(gm *lower.GraphModule, v int64) error {
	return usagef("--opset is not available yet (wanted %d)", v)
}
