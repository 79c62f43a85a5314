package ethosu_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/ethosu"
	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/testmodel"
	"github.com/onnxquant/onnxquant/internal/testoracle"
	"github.com/onnxquant/onnxquant/quantize"
)

// writeSampleSet writes one folder per sample holding <input>.npy of the
// given shape and returns the folder of samples.
func writeSampleSet(t *testing.T, input string, shape []int, samples [][]float32) string {
	t.Helper()
	dir := t.TempDir()
	for s, data := range samples {
		sd := filepath.Join(dir, fmt.Sprintf("sample_%03d", s))
		if err := os.MkdirAll(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		d := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
		if err := dataset.WriteNPY(filepath.Join(sd, input+".npy"), d); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// spikySample is 64 values in [-1, 1) with one spike of the given height.
func spikySample(seed uint64, spike float32) []float32 {
	x := testmodel.Ramp(seed, 64, -1, 1)
	x[int(seed*7)%64] = spike
	return x
}

// TestAutoObserverGeneralisesToLargerSpikes calibrates y = 3·x + 1 on 12
// samples whose spikes grow from 2 to 4.75 and evaluates on 16 whose
// spikes reach a little higher (4.8 to 5.2), as new data does when the
// calibration set has not seen the tail: min/max fits the largest spike
// calibration saw and saturates the later ones, the histogram search trims
// the tail as well, while choose-ranges sees the fitting half's range
// exceeded by the judging half and widens it.
func TestAutoObserverGeneralisesToLargerSpikes(t *testing.T) {
	for _, o := range testoracle.All(t) {
		t.Run(o.Name, func(t *testing.T) {
			b := testmodel.New(13).Input("x", 1, 64).Output("y", 1, 64).
				Init("three", []int64{1}, 3).Init("one", []int64{1}, 1).
				NamedNode("scale", "Mul", []string{"x", "three"}, []string{"s"}).
				NamedNode("shift", "Add", []string{"s", "one"}, []string{"y"})
			var calib [][]float32
			for s := 0; s < 12; s++ {
				calib = append(calib, spikySample(uint64(s), 2+0.25*float32(s)))
			}
			dir := writeSampleSet(t, "x", []int{1, 64}, calib)
			var inputs []map[string]*tensor.Dense
			for s := 100; s < 116; s++ {
				inputs = append(inputs, map[string]*tensor.Dense{"x": tensor.New(tensor.WithShape(1, 64), tensor.WithBacking(spikySample(uint64(s), 4.8+0.025*float32(s-100))))})
			}
			ref := runOracle(t, o, b.Model(), inputs)
			measure := func(obs quantize.ObserverChoice) float64 {
				q := ethosu.NewEthosUQuantizer(ethosu.MustCompileSpec("ethos-u55-128"))
				q.Accuracy = quantize.Accuracy{Observer: obs}
				res, err := quantizeGraph(t, q, b.Model(), dir)
				if err != nil {
					t.Fatal(err)
				}
				got := runOracle(t, o, res.Model, inputs)
				return sqnr(ref[0], got[0])
			}
			minmax, hist, auto := measure(quantize.ObserverMinMax), measure(quantize.ObserverHistogram), measure(quantize.ObserverAuto)
			t.Logf("held-out SQNR: minmax %.1f dB, histogram %.1f dB, auto %.1f dB", minmax, hist, auto)
			if auto < minmax+3 || auto < hist+3 {
				t.Errorf("auto %.1f dB does not beat minmax %.1f dB and histogram %.1f dB by 3 dB", auto, minmax, hist)
			}
		})
	}
}
