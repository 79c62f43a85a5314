package interp

import (
	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// textOps are the text-feature ops over integer tokens: TfIdfVectorizer.
func textOps(t map[string]opBuilder) {
	t["TfIdfVectorizer"] = func(c *buildCtx) (kernel, error) {
		if len(c.n.AttrStrings("pool_strings", nil)) > 0 {
			return nil, unsupportedf("TfIdfVectorizer over strings")
		}
		p := kernels.TfIdfParams{
			Mode:         c.n.AttrString("mode", "TF"),
			MinGram:      int(c.n.AttrInt("min_gram_length", 1)),
			MaxGram:      int(c.n.AttrInt("max_gram_length", 1)),
			MaxSkip:      int(c.n.AttrInt("max_skip_count", 0)),
			NgramCounts:  ints(c.n.AttrInts("ngram_counts", nil)),
			NgramIndexes: ints(c.n.AttrInts("ngram_indexes", nil)),
			Pool:         c.n.AttrInts("pool_int64s", nil),
			Weights:      c.n.AttrFloats("weights", nil),
		}
		return func(_ *runCtx, _ *frame, in []*tensor.Dense) ([]*tensor.Dense, error) {
			return one(kernels.TfIdfVectorizer(in[0], p))
		}, nil
	}
}
