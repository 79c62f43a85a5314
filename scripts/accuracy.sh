#!/usr/bin/env bash
# accuracy.sh regenerates docs/accuracy.md: for every corpus model (the
# pretrained ones first, the random-weight CNNs in a table of their own),
# every accuracy method, int8 and a16w8, Ethos-U55 and U85, it quantizes on
# calibration samples 0-11 and measures the worst output's SQNR and the
# decisions' agreement against the float model in ONNX Runtime on samples
# 12-15, which calibration never sees (ethosu.TestAccuracyMatrix).
#
# It runs for a long time (every model x 10 methods x 2 schemes x 2 targets,
# auto-a16w8 quantizing each model up to ~15 more times on int8)
# and is not part of CI; CI checks floors on a named subset
# (ethosu.TestAccuracyFloors). Narrow a run with the environment:
#   MODELS="oww_embedding ppocr_mobile_v2_cls" METHODS="minmax default" \
#   SCHEMES=int8 TARGETS=ethos-u55-128 bash scripts/accuracy.sh
# A narrowed run writes docs/accuracy-subset.md instead of docs/accuracy.md.
#
# FOLDS=4 judges by cross-validation instead (every sample judged once, by a
# model calibrated on the other 12; four quantizations per cell) and keeps
# those rows in CV_ROWS_FILE: the document then gains a cross-validated
# section, and its goals table uses the cross-validated value of a cell
# where there is one. RENDER_ONLY=1 with both files renders both.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/install-ort.sh >/dev/null
export ONNXQUANT_CORPUS="${ONNXQUANT_CORPUS:-$repo/../shared/corpus}"

pretrained="silero_vad_legacy ppocr_mobile_v2_cls yolox_nano ppocr_v3_det blazeface_front oww_embedding oww_hey_jarvis"
random="branchy_if_loop mobilenet_v2 mobilenet_v3_small resnet18 squeezenet1_1 tiny_transformer"
all_methods="minmax histogram default auto-consumers bias equalize adaround smoothquant all auto-a16w8"
out=docs/accuracy.md
if [[ -n "${MODELS:-}${METHODS:-}${SCHEMES:-}${TARGETS:-}" ]]; then
	out=docs/accuracy-subset.md
fi
models="${MODELS:-$pretrained $random}"
methods="${METHODS:-$all_methods}"
schemes="${SCHEMES:-int8 a16w8}"
targets="${TARGETS:-ethos-u55-128 ethos-u85-256}"

# ROWS_FILE keeps the measured rows (appended to, never removed), and
# RENDER_ONLY=1 renders the document from it without measuring again (after
# editing docs/accuracy-notes.md, or from a run that was stopped).
if [[ -n "${ROWS_FILE:-}" ]]; then
	rows="$ROWS_FILE"
	touch "$rows"
else
	rows="$(mktemp)"
	trap 'rm -f "$rows"' EXIT
fi
folds="${FOLDS:-1}"
cvrows="${CV_ROWS_FILE:-/dev/null}"
measured="$rows"
if [[ "$folds" != 1 ]]; then
	if [[ -z "${CV_ROWS_FILE:-}" ]]; then
		echo "accuracy.sh: FOLDS=$folds needs CV_ROWS_FILE (where the cross-validated rows are kept)" >&2
		exit 2
	fi
	touch "$cvrows"
	measured="$cvrows"
fi
start=$(date +%s)
[[ "${RENDER_ONLY:-}" == 1 ]] && models=""
for m in $models; do
	echo "accuracy.sh: $m" >&2
	ONNXQUANT_ACCURACY_MODELS="$m" ONNXQUANT_ACCURACY_METHODS="${methods// /,}" \
		ONNXQUANT_ACCURACY_SCHEMES="${schemes// /,}" ONNXQUANT_ACCURACY_TARGETS="${targets// /,}" \
		ONNXQUANT_ACCURACY_OUT="$measured" ONNXQUANT_ACCURACY_FOLDS="$folds" \
		go test -tags ort ./ethosu -run '^TestAccuracyMatrix$' -count=1 -timeout 120m >&2 ||
		echo "accuracy.sh: $m: the measurement failed (its rows are missing)" >&2
done
elapsed="$(($(date +%s) - start))s"
if [[ "${RENDER_ONLY:-}" == 1 ]]; then
	elapsed="${ELAPSED:-time unknown}"
	models="${MODELS:-$pretrained $random}"
fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# pivot prints one table per scheme and target: a row per model, a column
# per method, the worst output's SQNR in dB.
pivot() {
	local set="$1" rows="${2:-$rows}"
	for s in $schemes; do
		for t in $targets; do
			echo
			echo "#### $s on $t: worst-output SQNR (dB) on held-out samples"
			echo
			printf '| model |'
			for me in $methods; do printf ' %s |' "$me"; done
			echo
			printf '|---|'
			for me in $methods; do printf -- '---|'; done
			echo
			for m in $set; do
				grep -q "^| $m | $s | $t |" "$rows" || continue
				printf '| %s |' "$m"
				for me in $methods; do
					v="$(awk -F' \\| ' -v m="| $m" -v s="$s" -v t="$t" -v me="$me" \
						'$1==m && $2==s && $3==t && $4==me { if ($5 ~ /^failed/) print "fails"; else print $6 }' "$rows")"
					printf ' %s |' "${v:--}"
				done
				echo
			done
		done
	done
}

# valIn FILE MODEL SCHEME TARGET METHOD prints the worst-output SQNR of one
# run in FILE ("" when it did not run or failed).
valIn() {
	awk -F' \\| ' -v m="| $2" -v s="$3" -v t="$4" -v me="$5" \
		'$1==m && $2==s && $3==t && $4==me && $5 !~ /^failed/ { print $6 }' "$1"
}

# val prints the worst-output SQNR of one run, cross-validated where there
# is such a row.
val() {
	local v
	v="$(valIn "$cvrows" "$@")"
	if [[ -z "$v" ]]; then
		v="$(valIn "$rows" "$@")"
	fi
	echo "$v"
}

# goals prints the issue's three goals per pretrained model, on the worst
# output: default int8 ≥ textbook + 5 dB (U55), auto-a16w8 on U85 ≥ 40 dB
# or within 1 dB of full a16w8, U85 a16w8 ≥ U55 a16w8 − 0.5 dB (default).
goals() {
	echo
	echo "| model | judged on | int8 default − minmax (≥ +5) | auto-a16w8 U85 (≥ 40, or ≥ a16w8 U85 − 1) | a16w8 U85 − U55 (≥ −0.5) |"
	echo "|---|---|---|---|---|"
	for m in $pretrained; do
		judged="samples 12-15"
		if grep -q "^| $m | " "$cvrows" 2>/dev/null; then
			judged="all 16, 4-fold"
		fi
		d="$(val "$m" int8 ethos-u55-128 default)"
		mm="$(val "$m" int8 ethos-u55-128 minmax)"
		f85="$(val "$m" a16w8 ethos-u85-256 default)"
		f55="$(val "$m" a16w8 ethos-u55-128 default)"
		# auto-a16w8 is compared with full a16w8 judged the same way.
		au="$(valIn "$cvrows" "$m" int8 ethos-u85-256 auto-a16w8)" af85="$f85" ajudged=""
		if [[ -z "$au" ]]; then
			au="$(valIn "$rows" "$m" int8 ethos-u85-256 auto-a16w8)"
			af85="$(valIn "$rows" "$m" a16w8 ethos-u85-256 default)"
			[[ "$judged" != "samples 12-15" ]] && ajudged=", samples 12-15"
		fi
		awk -v m="$m" -v j="$judged" -v d="$d" -v mm="$mm" -v au="$au" -v f85="$f85" -v af85="$af85" -v aj="$ajudged" -v f55="$f55" 'BEGIN {
			g1 = (d == "" || mm == "") ? "-" : sprintf("%+.1f (%s)", d - mm, (d - mm >= 5) ? "met" : "missed")
			if (au == "" || af85 == "") g2 = "-"
			else g2 = sprintf("%.1f vs %.1f (%s%s)", au, af85, (au >= 40 || au >= af85 - 1) ? "met" : "missed", aj)
			g3 = (f85 == "" || f55 == "") ? "-" : sprintf("%+.1f (%s)", f85 - f55, (f85 - f55 >= -0.5) ? "met" : "missed")
			printf "| %s | %s | %s | %s | %s |\n", m, j, g1, g2, g3
		}'
	done
}

{
	echo "# Quantized accuracy on the test corpus"
	echo
	echo "Generated by \`bash scripts/accuracy.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, ${elapsed}, at commit $commit). Do not edit the"
	echo "tables by hand; the notes after them are kept in docs/accuracy-notes.md."
	echo
	echo "Every model calibrates on samples 0-11 of its calibration folders and is judged on samples 12-15, which"
	echo "calibration never sees (Silero: 0-11 and 12-15 of both its 16 kHz and 8 kHz folders). Both the float and"
	echo "the quantized model run in ONNX Runtime 1.30. SQNR = 10·log10(Σ ref² / Σ (ref − quantized)²) over all"
	echo "evaluation samples; the tables give the worst output's. Methods:"
	echo
	echo "- **minmax**: the textbook configuration (\`--observer minmax\`): per-channel int8 weights, exact min/max"
	echo "  activation ranges, nothing else."
	echo "- **histogram**: ExecuTorch's configuration (\`--observer histogram\`): PyTorch's HistogramObserver L2 search."
	echo "- **default**: what \`onnxquant quantize\` does with no accuracy flag: \`--observer auto\`, ranges chosen per"
	echo "  tensor by their error on calibration samples held out from fitting them."
	echo "- **auto-consumers**: \`--observer auto-consumers\`: as auto, but each candidate range judged by the error it"
	echo "  causes in the tensor's consumers' outputs (each consumer node run alone on the held-out samples)."
	echo "- **bias**: minmax + \`--bias-correction\`; **equalize**: minmax + \`--equalize\`; **adaround**: minmax +"
	echo "  \`--adaround\`; **smoothquant**: minmax + \`--smooth-quant\` (α 0.5);"
	echo "  **all**: \`--observer auto --bias-correction --equalize --adaround --smooth-quant\`."
	echo "- **auto-a16w8**: the default with \`--auto-a16w8 --min-sqnr 40\`: from int8, the most sensitive modules (or"
	echo "  nodes) are promoted to 16x8 where the target allows it until the worst output reaches 40 dB on held-out"
	echo "  calibration samples (int8 tables only: under a16w8 there is nothing left to promote; \"-\" there)."
	echo
	echo "On U85 with an int16 config, the default also chooses per TABLE op class (and activation × activation"
	echo "MatMul) between its int8 and int16 form by the error on held-out calibration samples (stage"
	echo "choose-int16-forms); the notes column of the full table says what it chose."
	echo
	echo "\"fails\" is a model the quantizer cannot process on this target today (the full rows below say why)."
	echo
	echo "### The goals (issue 11), worst output, held-out samples"
	echo
	echo "Computed from the tables below. Per-output U85 − U55 differences, where a model has several outputs, are"
	echo "in the notes column of the full table and in the notes at the end."
	goals
	echo
	echo "### Pretrained models"
	pivot "$pretrained"
	if [[ -s "$cvrows" ]]; then
		echo
		echo "### Pretrained models, cross-validated"
		echo
		echo "Four quantizations per cell: samples 0-3, 4-7, 8-11 and 12-15 each judged by a model calibrated on the"
		echo "other twelve (of each folder), every output's SQNR pooled over all 16 judged samples. Four judging"
		echo "samples are too few to rank methods on some models (docs/accuracy-methods.md); where a model has a row"
		echo "here, the goals table above uses it. Models without rows were not cross-validated (time)."
		pivot "$pretrained" "$cvrows"
	fi
	echo
	echo "### Random-weight CNNs and the control-flow model"
	echo
	echo "Their logits are nearly flat, so agreement is noisy; SQNR is the meaningful number."
	pivot "$random"
	echo
	echo "### Every run"
	echo
	echo "Worst output, its SQNR, the decisions agreeing with the float model's and the seconds the quantization"
	echo "took (lower, calibrate, every stage; the machine was shared, so times are indicative). Decisions: YOLOX"
	echo "boxes scoring ≥ 0.3 (objectness × class, after per-class NMS at IoU 0.45) matched at IoU ≥ 0.5 with the"
	echo "same class (F1 of the match); PP-OCRv3 detection: IoU of the text maps thresholded at 0.3; BlazeFace:"
	echo "anchors scoring ≥ 0.75 on both models (F1); Silero VAD and the wake word: the 0.5 threshold of each"
	echo "value of the first output; the classifiers and the rest: argmax of the first output per sample."
	echo "Notes: what choose-int16-forms kept at int8, and auto-a16w8's promotions, held-out SQNR before and"
	echo "after, activation bytes added (int16 tensors double their memory traffic) and trial quantizations."
	echo
	echo "| model | scheme | target | method | worst output | SQNR (dB) | decisions agreeing | seconds | notes |"
	echo "|---|---|---|---|---|---|---|---|---|"
	cat "$rows"
	if [[ -s "$cvrows" ]]; then
		echo
		echo "Cross-validated runs (4 folds, all 16 samples judged; seconds per quantization):"
		echo
		echo "| model | scheme | target | method | worst output | SQNR (dB) | decisions agreeing | seconds | notes |"
		echo "|---|---|---|---|---|---|---|---|---|"
		cat "$cvrows"
	fi
	echo
	if [[ -f docs/accuracy-notes.md ]]; then
		cat docs/accuracy-notes.md
	fi
} >"$out"
echo "accuracy.sh: wrote $out" >&2
