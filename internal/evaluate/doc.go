// Package evaluate measures how far a quantized QDQ model drifts from the
// float model it came from: per graph output (SQNR, maximum absolute error,
// argmax and threshold agreement) and per quantized tensor ("layer"), so a
// user can see which module loses the most and move it to a16w8.
//
// Both models run in the float interpreter (internal/interp); the quantized
// model's QuantizeLinear → DequantizeLinear pairs then simulate integer
// rounding exactly. Tensors are paired by the names the converter gives:
// a value X quantized where it is produced is read back as "X_dequantized",
// and a graph output keeps its name (its float producer becomes "X_float").
//
// evaluate only reads models and samples; it never changes a graph.
package evaluate
