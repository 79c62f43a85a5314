#!/usr/bin/env bash
# one-step.sh shows how sensitive a quantized model is to one rounding:
# it cuts the QDQ model Q.onnx at TENSOR (an activation the quantizer wrote,
# whose DequantizeLinear output is TENSOR_dequantized), and in ONNX Runtime
# moves one element of it by one quantization step, TRIALS times, printing
# the output SQNR against the unmoved run (scripts/one-step.mjs).
#
#   bash scripts/one-step.sh Q.onnx TENSOR SAMPLE.npy [TRIALS]
#
# docs/export.md uses it to show why LiteRT and ONNX Runtime cannot agree to
# 30 dB on deep int8 networks: one element one step off, anywhere early,
# costs more than that.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
q="$1" tensor="$2" sample="$3" trials="${4:-8}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash "$repo/scripts/install-ort.sh" >/dev/null
go build -o "$work/onnxquant" "$repo/cmd/onnxquant"
"$work/onnxquant" convert "$q" --cut-to "${tensor}_dequantized" -o "$work/prefix.onnx" >/dev/null
"$work/onnxquant" convert "$q" --cut-from "${tensor}_dequantized" -o "$work/suffix.onnx" >/dev/null
node "$repo/scripts/one-step.mjs" "$repo/.ort/node_modules" "$work/prefix.onnx" "$work/suffix.onnx" "$sample" "$trials"
