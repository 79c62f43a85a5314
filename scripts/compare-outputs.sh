#!/usr/bin/env bash
# compare-outputs.sh quantizes every corpus model that has a calibration set
# (int8 and a16w8, for ethos-u55-128 and ethos-u85-256) with one onnxquant
# binary and writes the outputs and a sha256 list to a folder. Run it with
# two binaries and diff the lists to show that a refactoring left the bytes
# of every output alone:
#
#   bash scripts/compare-outputs.sh OLD_BIN /tmp/old
#   bash scripts/compare-outputs.sh NEW_BIN /tmp/new
#   diff /tmp/old/sums.txt /tmp/new/sums.txt
#
# A model the binary refuses records its exit code and first error line
# instead of a hash, so a change of verdict shows in the diff too.
set -uo pipefail

bin="$1"
out="$2"
corpus="${ONNXQUANT_CORPUS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/corpus}"
mkdir -p "$out"
: >"$out/sums.txt"

calib_for() {
	case "$1" in
	mobilenet_v2 | resnet18 | squeezenet1_1 | mobilenet_v3_small) echo imagenet224 ;;
	tiny_transformer) echo logmel16x40 ;;
	branchy_if_loop) echo branchy ;;
	silero_vad_legacy) echo "silero_legacy_16k silero_legacy_8k" ;;
	ppocr_mobile_v2_cls) echo ocr_cls48x192 ;;
	yolox_nano) echo yolox416 ;;
	ppocr_v3_det) echo ocr_det256x384 ;;
	blazeface_front) echo face128_nhwc ;;
	oww_melspectrogram) echo oww_audio1760 ;;
	oww_embedding) echo oww_mel76x32 ;;
	oww_hey_jarvis) echo oww_emb16x96 ;;
	esac
}

for m in "$corpus"/models/*.onnx; do
	name="$(basename "$m" .onnx)"
	calib=()
	for c in $(calib_for "$name"); do calib+=(--calib "$corpus/calib/$c"); done
	for target in ethos-u55-128 ethos-u85-256; do
		for scheme in int8 a16w8; do
			f="$out/${name}_${target}_${scheme}.onnx"
			rm -f "$f"
			if "$bin" quantize "$m" "${calib[@]}" -o "$f" --target "$target" --scheme "$scheme" -q 2>"$out/err.txt"; then
				echo "$(sha256sum <"$f" | cut -c1-64) ${name} ${target} ${scheme}" >>"$out/sums.txt"
			else
				echo "exit $? $(head -c 300 "$out/err.txt" | head -1) ${name} ${target} ${scheme}" >>"$out/sums.txt"
			fi
		done
	done
done
cat "$out/sums.txt"
