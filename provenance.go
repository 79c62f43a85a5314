package onnxquant

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnxio/onnxpb"
	"github.com/onnxquant/onnxquant/quantize"
)

// Provenance keys in a quantized model's metadata_props. Values are plain
// strings so any ONNX tool shows them; none holds a time, a host or a path,
// so the same inputs give the same bytes.
const (
	MetaTarget         = "onnxquant.target"
	MetaScheme         = "onnxquant.scheme"
	MetaQAT            = "onnxquant.qat"
	MetaConfigSHA256   = "onnxquant.config_sha256"
	MetaObservers      = "onnxquant.observers"
	MetaStages         = "onnxquant.stages"
	MetaSamples        = "onnxquant.calibration_samples"
	MetaInputShapes    = "onnxquant.input_shapes"
	MetaSourceSHA256   = "onnxquant.source_sha256"
	MetaSourceExternal = "onnxquant.source_external_data_sha256"
	MetaSourceProducer = "onnxquant.source_producer"
	producerName       = "onnxquant"
	metaPrefix         = "onnxquant."
)

// provenance is what an output records of how it was made.
func provenance(src *onnxpb.ModelProto, qr *quantize.Result, res *Result, opts Options, configDigest string, digests map[string]string) map[string]string {
	meta := map[string]string{
		MetaTarget:       res.Target,
		MetaScheme:       res.Scheme,
		MetaQAT:          strconv.FormatBool(opts.QAT),
		MetaSamples:      strconv.Itoa(res.Samples),
		MetaSourceSHA256: digests[""],
	}
	if configDigest != "" {
		meta[MetaConfigSHA256] = configDigest
	}
	var ext []string
	for _, f := range slices.Sorted(maps.Keys(digests)) {
		if f != "" {
			ext = append(ext, f+"="+digests[f])
		}
	}
	if len(ext) > 0 {
		meta[MetaSourceExternal] = strings.Join(ext, ";")
	}
	if p := strings.TrimSpace(src.GetProducerName() + " " + src.GetProducerVersion()); p != "" {
		meta[MetaSourceProducer] = p
	}
	if qr.Stats != nil {
		kinds := map[string]bool{}
		for _, r := range qr.Stats.Requests {
			kinds[string(r.Spec.Kind)] = true
		}
		meta[MetaObservers] = strings.Join(slices.Sorted(maps.Keys(kinds)), ",")
	}
	var stages []string
	for _, st := range quantize.Stages() {
		if _, ran := qr.Timings[st.Name]; ran {
			stages = append(stages, st.Name)
		}
	}
	meta[MetaStages] = strings.Join(stages, ",")
	if qr.Module != nil {
		meta[MetaInputShapes] = inputShapes(qr.Module)
	}
	return meta
}

// stamp writes the producer and the provenance into m, replacing the
// source's producer and any earlier onnxquant entries and keeping the
// source's other metadata.
func stamp(m *onnxpb.ModelProto, meta map[string]string) {
	m.ProducerName = proto.String(producerName)
	m.ProducerVersion = proto.String(Version)
	var kept []*onnxpb.StringStringEntryProto
	for _, e := range m.MetadataProps {
		if !strings.HasPrefix(e.GetKey(), metaPrefix) {
			kept = append(kept, e)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		kept = append(kept, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	m.MetadataProps = kept
}

// Provenance returns the onnxquant entries of a model's metadata_props,
// or nil when the model was not made by onnxquant.
func Provenance(m *onnxpb.ModelProto) map[string]string {
	var out map[string]string
	for _, e := range m.GetMetadataProps() {
		if strings.HasPrefix(e.GetKey(), metaPrefix) {
			if out == nil {
				out = map[string]string{}
			}
			out[e.GetKey()] = e.GetValue()
		}
	}
	return out
}
