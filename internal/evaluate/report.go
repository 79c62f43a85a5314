package evaluate

import (
	"encoding/json"
	"math"
	"strconv"
)

// DB is a ratio in decibels. Identical tensors have an infinite SQNR, which
// JSON cannot hold as a number: it is written as null, and the record
// beside it says sqnr_infinite: true, so a reader that expects a number
// (jq, pandas) gets null rather than a string.
type DB float64

// MarshalJSON writes finite values as numbers rounded to 0.01 dB and
// infinite or undefined ones as null.
func (d DB) MarshalJSON() ([]byte, error) {
	f := float64(d)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return []byte(`null`), nil
	}
	return []byte(strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)), nil
}

// UnmarshalJSON reads what MarshalJSON writes; null gives NaN (the
// record's sqnr_infinite tells an infinite ratio apart).
func (d *DB) UnmarshalJSON(b []byte) error {
	if string(b) == `null` {
		*d = DB(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = DB(f)
	return nil
}

// String formats the value for tables: "41.3 dB" or "inf dB".
func (d DB) String() string {
	if math.IsInf(float64(d), 1) {
		return "inf dB"
	}
	return strconv.FormatFloat(float64(d), 'f', 1, 64) + " dB"
}

// Report is the result of Evaluate.
type Report struct {
	// Samples is the number of samples both models ran.
	Samples int      `json:"samples"`
	Outputs []Output `json:"outputs"`
	// Layers lists every paired tensor, worst SQNR first.
	Layers []Layer `json:"layers"`
	// Hints are modules whose int8 activations lose the most; moving them
	// to a16w8 (config module_name: {NAME: a16w8}) is the first thing to try.
	Hints []Hint `json:"hints,omitempty"`
}

// UnmarshalJSON reads a report back, restoring the infinite SQNRs that
// JSON holds as null with sqnr_infinite.
func (r *Report) UnmarshalJSON(b []byte) error {
	type plain Report
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	for i := range r.Outputs {
		if r.Outputs[i].SQNRInfinite {
			r.Outputs[i].SQNR = DB(math.Inf(1))
		}
	}
	for i := range r.Layers {
		if r.Layers[i].SQNRInfinite {
			r.Layers[i].SQNR = DB(math.Inf(1))
		}
	}
	return nil
}

// Output compares one graph output over the data set.
type Output struct {
	Name string `json:"name"`
	SQNR DB     `json:"sqnr_db"`
	// SQNRInfinite marks identical tensors (sqnr_db is then null).
	SQNRInfinite bool    `json:"sqnr_infinite,omitempty"`
	MaxAbsError  float64 `json:"max_abs_error"`
	// ArgmaxAgreement is the fraction of rows (last axis) whose argmax is
	// the same; absent for outputs whose last axis has one element.
	ArgmaxAgreement *float64 `json:"argmax_agreement,omitempty"`
	// ThresholdAgreement is the fraction of elements on the same side of
	// Options.Threshold; present only when every float value of the output
	// lies in [0, 1], i.e. the output looks like probabilities.
	ThresholdAgreement *float64 `json:"threshold_agreement,omitempty"`
}

// Layer compares one quantized tensor with its float counterpart.
type Layer struct {
	// Name is the float tensor's name; Submodule the conditional
	// submodule it lives in ("" for the main graph).
	Name      string `json:"name"`
	Submodule string `json:"submodule,omitempty"`
	// Module is the module path of the node producing it, e.g. "features.conv1".
	Module string `json:"module,omitempty"`
	// Node is the name of the node producing it.
	Node string `json:"node,omitempty"`
	Kind string `json:"kind"`
	Bits int    `json:"bits,omitempty"`
	SQNR DB     `json:"sqnr_db"`
	// SQNRInfinite marks identical tensors (sqnr_db is then null).
	SQNRInfinite bool    `json:"sqnr_infinite,omitempty"`
	MaxAbsError  float64 `json:"max_abs_error"`
	// Count is how many times the tensor was compared (samples × loop
	// iterations).
	Count int `json:"count"`
	// Decades is how far below its peak the float tensor's typical
	// (geometric mean) magnitude lies, in decades: above two, most of its
	// values are below one step of an 8-bit grid spanning the peak.
	Decades float64 `json:"decades,omitempty"`
	// LocalSQNR is the error the tensor's own grid adds to the float
	// tensor (rounding and saturation of exact inputs), for per-tensor
	// activations; SQNR minus it is what earlier layers cost.
	LocalSQNR *DB `json:"local_sqnr_db,omitempty"`
	// OutOfRange is the fraction of the evaluation data's values outside
	// the calibrated range (saturated), RangeExcess the largest distance
	// beyond it in units of the range's width.
	OutOfRange  float64 `json:"out_of_range,omitempty"`
	RangeExcess float64 `json:"range_excess,omitempty"`
}

// Hint proposes moving a module (or, without module paths, a node) to
// int16 activations.
type Hint struct {
	Module string `json:"module,omitempty"`
	Node   string `json:"node,omitempty"`
	// Tensor is the layer whose own quantization loses the most there.
	Tensor string `json:"tensor"`
	// WorstSQNR is that tensor's local SQNR.
	WorstSQNR DB `json:"worst_sqnr_db"`
	// OutOfRange is the fraction of its values outside the calibrated
	// range: when large, more or other calibration data helps too.
	OutOfRange float64 `json:"out_of_range,omitempty"`
	Scheme     string  `json:"scheme"`
	// Config is the config-file line that applies the hint.
	Config string `json:"config"`
	// FloatGain is the worst output's SQNR gained when only this tensor
	// is left float (Options.Sensitivity), the most int16 there can give.
	FloatGain *DB `json:"float_gain_db,omitempty"`
	// PromotionGain is the worst output's SQNR gained when the model is
	// quantized again with this module or node (and those reading its
	// outputs, which must read them at 16 bits for the gain to reach
	// them) at a16w8 (Options.Promoter); PromotionConfig are the config
	// lines that did it.
	PromotionGain   *DB      `json:"promotion_gain_db,omitempty"`
	PromotionConfig []string `json:"promotion_config,omitempty"`
	// Forbidden says why the target runs this module or node at 8 bits
	// only; FloatGain is then the diagnostic in place of the promotion.
	Forbidden string `json:"forbidden,omitempty"`
}
