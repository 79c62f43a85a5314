// Package observe holds the calibration observers: small, fixed-size
// summaries of the float values that flow through one tensor, from which
// quantization parameters (scale, zero point) are computed afterwards.
//
// # Which observer for what
//
// The kinds mirror the observers that ExecuTorch's Arm EthosUQuantizer
// attaches through torchao (see executorch-arm-quantizer.md §2):
//
//   - [KindHistogram] is the default for activations in post-training
//     quantization. It keeps a histogram and picks the clipping range with
//     PyTorch HistogramObserver's L2 error search, so rare outliers do not
//     stretch the int8 grid.
//   - [KindPerChannelMinMax] is the default for weights: one exact min/max
//     per output channel (axis 0 for conv/linear, 1 for ungrouped
//     conv-transpose).
//   - [KindMinMax] is the exact running min/max (per-tensor weights, or
//     activations when clipping is not wanted).
//   - [KindMovingAverageMinMax] is the exponential moving average used for
//     QAT (averaging constant 0.01 as in PyTorch).
//   - [KindPercentile] reads a two-sided percentile range off the same
//     histogram.
//
// Observers only summarise; they never choose a dtype or qscheme. The
// functions in qparams.go turn a range into (scale, zero point) with
// exactly PyTorch's _calculate_qparams arithmetic.
//
// # Why memory stays flat and merges are exact
//
// ONNX Runtime's histogram calibrators keep every batch's activations in
// memory and its chunked mode drops data (peers.md P1, P2). Here every
// observer has a fixed size, independent of the number of samples, and
// every observer except the moving average can be written to stats.json
// with [Observer.State] and merged later with [Observer.Merge]. Merging is
// exact: sharding the calibration set over machines and merging the shards
// in any order yields, bit for bit, the state a single run over all the
// data would have produced.
//
// For min/max this is immediate (min and max are associative and
// commutative; -0 is ordered below +0 so even signed zeros do not depend
// on order). For the histogram it is a matter of design, because PyTorch's
// histogram re-bins by interpolation whenever the range grows, which loses
// information and depends on the order of the batches. Our histogram bins
// are instead cells of an absolute grid: at level e, bin k holds the
// values x with floor(x / 2^e) == k. The level is a function of the data
// alone: the smallest e (above a floor tied to the largest magnitude, to
// keep k within int64) for which all values fall into at most Bins
// consecutive cells. Because 2^e grids nest, every cell at level e lies
// inside exactly one cell at any coarser level, so moving counts to a
// coarser level (summing aligned groups) gives the same integer counts as
// binning the raw values there. And the level of a union of data sets is
// never finer than the level of either part. Hence observing, merging and
// coarsening all land on the one canonical state for the multiset of
// values seen: the level and cells determined by the overall min and max,
// and exact uint64 counts per cell. The price is resolution: the data
// occupies between about Bins/2 and Bins cells rather than exactly Bins.
//
// The moving average is inherently order dependent, so it refuses to
// merge two non-empty states (see [ErrNotMergeable]) rather than invent a
// result no single run would produce.
//
// A tensor that no sample ever reaches (an untaken If branch, peers.md P7)
// leaves its observer empty; the qparams functions then return
// [ErrNoData] instead of PyTorch's silent scale 1, zero point 0.
package observe
