#!/usr/bin/env bash
# deploy-matrix.sh takes every corpus model through quantize -> export ->
# Vela for int8 and a16w8 on ethos-u55-128, ethos-u65-256 and ethos-u85-256
# and writes docs/deploy.md with Vela's operator placement, cycle and memory
# estimates (or why a step refused). It is the full matrix; CI runs a named
# subset (tests/export_test.go). Needs Vela's Python modules
# (scripts/install-litert.sh installs them).
#
#   bash scripts/deploy-matrix.sh [OUT.md]
#
# DEPLOY_MODELS="a b" limits the run to those corpus models.
set -euo pipefail

out="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/docs/deploy.md}"
source "$(dirname "${BASH_SOURCE[0]}")/corpus-setup.sh"

# model calibration-folder[,another...] [extra quantize flags]: Silero's
# If takes its 16 kHz branch on one folder and its 8 kHz branch on the
# other, so it needs both (a path no sample takes is an error).
models=(
	"${exportable_models[@]}"
	"oww_melspectrogram oww_audio1760"
	"oww_hey_jarvis oww_emb16x96"
	"branchy_if_loop branchy"
	"silero_vad_legacy silero_legacy_16k,silero_legacy_8k"
)
schemes=(int8 a16w8)
targets=(ethos-u55-128 ethos-u65-256 ethos-u85-256)

# first line of a failure, for the table (without the work folder's path)
why() { grep -v '^\s*$' "$1" | head -2 | tr '\n' ' ' | sed "s|$work/||g; s|$corpus/||g; s/|/\\|/g" | cut -c1-240; }

# velarow FILE TARGET LABEL...: one table row from Vela's verdict on FILE
velarow() {
	local tfl="$1" target="$2" tag
	tag="$(basename "$tfl" .tflite)"
	shift 2
	mkdir -p "$work/vela"
	if ! "$vela" "$tfl" --accelerator-config "$target" --output-dir "$work/vela" >"$work/vela.log" 2>&1; then
		rows+=("| $* | Vela failed: $(why "$work/vela.log") | | | | | | |")
		return
	fi
	local cpu npu csv row
	cpu=$(grep -oE 'CPU operators = [0-9]+' "$work/vela.log" | grep -oE '[0-9]+$')
	npu=$(grep -oE 'NPU operators = [0-9]+' "$work/vela.log" | grep -oE '[0-9]+$')
	csv=$(ls "$work/vela/${tag}"_summary_*.csv)
	row=$(python3 - "$csv" <<'PY'
import csv, sys
r = next(csv.DictReader(open(sys.argv[1])))
print("%d | %.2f | %.0f | %.0f" % (int(float(r["cycles_total"])), float(r["inference_time"]) * 1000,
      float(r["sram_memory_used"]), float(r["off_chip_flash_memory_used"]) + float(r["on_chip_flash_memory_used"]) + float(r["dram_memory_used"])))
PY
)
	rows+=("| $* | ok | $cpu | $npu | $row |")
	rm -rf "$work/vela"
}

# numerics Q.onnx M.tflite TARGET CALIB LABEL: LiteRT on the float-I/O copy
# against ONNX Runtime on the QDQ model, first four calibration samples.
nrows=()
numerics() {
	local q="$1" tfl="$2" target="$3" calib="$4" label="$5" ff="$work/f.tflite"
	"$work/onnxquant" export "$q" --target "$target" --float-io -o "$ff" >/dev/null 2>&1 || return 0
	local samples=() layouts
	for s in $(ls "$calib" | head -4); do samples+=("$calib/$s"); done
	layouts=$(python3 "$repo/scripts/tflite-layouts.py" "$ff")
	local res
	res=$(node "$repo/scripts/litert-compare.mjs" "$repo/.ort/node_modules" "$ff" "$q" --layouts "$layouts" "${samples[@]}" 2>"$work/node.err" | python3 "$repo/scripts/numerics-summary.py") || res="LiteRT cannot run it: $(grep -o 'ERROR: [^;]*' "$work/node.err" | head -2 | tr '\n' ' ' | sed 's/|/\\|/g') | |"
	nrows+=("| $label | $res |")
}

rows=()
for entry in "${models[@]}"; do
	read -r model calib extra <<<"$entry"
	calibs=()
	IFS=, read -ra cdirs <<<"$calib"
	for cdir in "${cdirs[@]}"; do calibs+=("$corpus/calib/$cdir"); done
	label_extra=""
	[[ -n "$extra" ]] && label_extra=" ($extra)"
	if [[ -n "${DEPLOY_MODELS:-}" && " $DEPLOY_MODELS " != *" $model "* ]]; then
		continue
	fi
	for scheme in "${schemes[@]}"; do
		for target in "${targets[@]}"; do
			tag="${model}_${scheme}_${target}"
			q="$work/$tag.onnx"
			tfl="$work/$tag.tflite"
			echo "deploy-matrix: $tag" >&2
			# shellcheck disable=SC2086
			if ! "$work/onnxquant" quantize "$corpus/models/$model.onnx" --calib "${calibs[@]}" $extra \
				--scheme "$scheme" --target "$target" --min-sqnr 0 -o "$q" -q 2>"$work/err"; then
				rows+=("| $model | $scheme | $target | quantize refused: $(why "$work/err") | | | | | |")
				continue
			fi
			if ! "$work/onnxquant" export "$q" --target "$target" -o "$tfl" >/dev/null 2>"$work/err"; then
				rows+=("| $model | $scheme | $target | export refused: $(why "$work/err") | | | | | |")
				# A data-dependent If: each branch as its own model.
				if grep -q 'export each If branch' "$work/err"; then
					for branch in If_0.then_branch If_0.else_branch; do
						btfl="$work/${tag}_${branch//./_}.tflite"
						# Silero's input length differs between its paths
						# (512 samples at 16 kHz, 256 at 8 kHz): each branch
						# is exported at its own.
						bargs=()
						case "$model:$branch" in
						silero_vad_legacy:If_0.then_branch) bargs=(--input-shape input=1,512) ;;
						silero_vad_legacy:If_0.else_branch) bargs=(--input-shape input=1,256) ;;
						esac
						if "$work/onnxquant" export "$q" --target "$target" --branch "$branch" "${bargs[@]}" -o "$btfl" >/dev/null 2>"$work/err"; then
							velarow "$btfl" "$target" "$model --branch $branch | $scheme | $target"
						else
							rows+=("| $model --branch $branch | $scheme | $target | export refused: $(why "$work/err") | | | | | |")
						fi
					done
				fi
				continue
			fi
			velarow "$tfl" "$target" "$model$label_extra | $scheme | $target"
			numerics "$q" "$tfl" "$target" "${calibs[0]}" "$model$label_extra | $scheme | $target"
		done
	done
done

{
	echo "# From QDQ ONNX to the NPU: Vela's verdict on the corpus"
	echo
	echo "Generated by \`bash scripts/deploy-matrix.sh\` on $(date -u +%Y-%m-%d) with Vela $("$vela" --version) (default"
	echo "system configuration of each accelerator: U55 High_End_Embedded, U65 Client_Server, U85 SYS_DRAM_Mid;"
	echo "memory mode Shared_Sram or Dedicated_Sram as Vela defaults). Each row is \`onnxquant quantize --scheme S"
	echo "--target T --min-sqnr 0\`, then \`onnxquant export --target T\`, then \`vela --accelerator-config T\`. The accuracy"
	echo "floor is off here because this table is about what compiles for the NPU; which models the default floor"
	echo "refuses, and why, is in docs/sweep.md. Silero is calibrated on its 16 and 8 kHz folders together, and each"
	echo "branch of its data-dependent If exported at its own input length. Cycles and inference"
	echo "time are Vela's estimates (\`cycles_total\`, \`inference_time\`), not measurements on a board; memory is"
	echo "what Vela allocates (SRAM for the tensor arena, flash/DRAM for weights and the command stream)."
	echo
	echo "| model | scheme | target | result | CPU ops | NPU ops | cycles | time (ms) | SRAM (KiB) | flash/DRAM (KiB) |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "## Numerics: LiteRT against ONNX Runtime"
	echo
	echo "LiteRT for JavaScript (@litertjs/core 2.5.3, XNNPACK) runs the \`--float-io\` copy of each exported model and"
	echo "ONNX Runtime 1.30 the QDQ ONNX, on the first four calibration samples. SQNR is the lowest over samples and"
	echo "outputs, taking ONNX Runtime as the signal; \"within one step\" counts output elements that differ by at most"
	echo "one quantization step (estimated as the smallest gap between distinct ONNX Runtime output values); argmax"
	echo "counts samples where LiteRT ranks ONNX Runtime's top class first (ties included)."
	echo
	echo "The int8 rows of the deep networks fall below 30 dB. This is rounding, not a mapping error: fed the QDQ"
	echo "model's own activations, every operator alone agrees with ONNX Runtime within one output step"
	echo "(\`TestExportLayers\` over every operator of mobilenet_v2, resnet18, mobilenet_v3_small, oww_embedding,"
	echo "blazeface_front, yolox_nano and ppocr_v3_det: convolutions, Add, Mul, Concat, Resize bit-exact but for rare"
	echo "near-ties, table ops one step off on up to 58% of their elements, Sigmoid most: LOGISTIC's fixed 1/256 grid"
	echo "and then a QUANTIZE to the quantizer's round twice), and exports of prefixes of the network are bit-exact"
	echo "until the first such step, after which the following layers amplify it: in ONNX Runtime alone, one element"
	echo "of an early activation moved by one step takes these networks to 11-26 dB (scripts/one-step.sh), so no"
	echo "exporter can hold them to 30 dB. \`quantize --tflite-grids\` removes the Sigmoid's double rounding (yolox_nano"
	echo "15 to 21 dB and faster on the NPU, docs/numerics-self.md). The a16w8 exports, where one step"
	echo "is 256 times smaller, agree far better, except on U55 and U65 where the table ops stay at int8: each one"
	echo "is an island of int8 steps 16 to 256 times the int16 grid around it, hence the gap to U85. docs/export.md"
	echo "has the method and the numbers. Branch exports (--branch) are not compared here: ONNX Runtime runs the"
	echo "whole model."
	echo
	echo "| model | scheme | target | SQNR (dB) | within one step | argmax |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${nrows[@]}"
} >"$out"
echo "deploy-matrix: wrote $out" >&2
