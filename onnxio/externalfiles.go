package onnxio

import (
	"sort"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
)

// ExternalDataFiles lists the external data files the model's tensors
// refer to (locations relative to the model's folder), sorted and each
// once; tensors whose reference does not parse are left out (reading
// them reports the error).
func ExternalDataFiles(m *onnxpb.ModelProto) []string {
	seen := map[string]bool{}
	forEachTensor(m, func(t *onnxpb.TensorProto) {
		if !IsExternal(t) {
			return
		}
		if ref, err := parseExternal(t); err == nil {
			seen[ref.location] = true
		}
	})
	out := make([]string, 0, len(seen))
	for loc := range seen {
		out = append(out, loc)
	}
	sort.Strings(out)
	return out
}
