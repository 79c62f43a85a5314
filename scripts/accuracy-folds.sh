#!/usr/bin/env bash
# accuracy-folds.sh measures accuracy methods by k-fold cross-validation:
# the samples of CALIB_DIR (sorted by name) are cut into FOLDS consecutive
# blocks; each block in turn is held out for judging while the others
# calibrate, so every sample is judged once. Per method it prints each
# fold's output SQNR (and that of the TENSORS named, e.g. a classifier's
# logits before its softmax) and the pooled value: 10·log10 of the mean
# over the folds of 10^(−SQNR/10).
#
# Use it when a single held-out split is too small to rank methods: on
# ppocr_mobile_v2_cls (a 2-class softmax) two of the four held-out samples
# of the accuracy matrix are saturated on the int8 output grid, so its
# worst-output SQNR rests on two samples (docs/accuracy-methods.md).
#
#   bash scripts/accuracy-folds.sh ../shared/corpus/models/ppocr_mobile_v2_cls.onnx \
#       ../shared/corpus/calib/ocr_cls48x192
#   METHODS="minmax bias" TENSORS=p2o.Add.87 FOLDS=4 bash scripts/accuracy-folds.sh MODEL CALIB_DIR
#
# Methods are those of the accuracy matrix (int8 unless FLAGS says
# otherwise): minmax, histogram, default, bias, equalize, adaround, all.
# FLAGS adds flags to every quantize (e.g. "--target ethos-u85-256 --scheme
# a16w8"). It runs onnxquant's Go interpreter (onnxquant eval), not ONNX
# Runtime: numbers differ from the matrix by about a dB.
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 MODEL.onnx CALIB_DIR" >&2
	exit 2
fi
model="$1"
calib="$2"
folds="${FOLDS:-4}"
methods="${METHODS:-minmax default bias equalize adaround all}"
tensors="${TENSORS:-}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/onnxquant" ./cmd/onnxquant)
oq="$work/onnxquant"

mapfile -t samples < <(find "$calib" -mindepth 1 -maxdepth 1 | sort)
n=${#samples[@]}
if ((n < 2 * folds)); then
	echo "$0: $calib holds $n samples, fewer than two per fold ($folds folds)" >&2
	exit 2
fi
block=$(((n + folds - 1) / folds))

flags_of() {
	case "$1" in
	minmax) echo "--observer minmax" ;;
	histogram) echo "--observer histogram" ;;
	default) echo "" ;;
	bias) echo "--observer minmax --bias-correction" ;;
	equalize) echo "--observer minmax --equalize" ;;
	adaround) echo "--observer minmax --adaround" ;;
	all) echo "--bias-correction --equalize --adaround --smooth-quant" ;;
	*)
		echo "$0: unknown method $1" >&2
		exit 2
		;;
	esac
}

for method in $methods; do
	mflags="$(flags_of "$method")"
	: >"$work/$method.sqnr"
	for ((k = 0; k < folds; k++)); do
		cal=()
		held=()
		for ((i = 0; i < n; i++)); do
			if ((i / block == k)); then held+=("${samples[$i]}"); else cal+=("${samples[$i]}"); fi
		done
		q="$work/q.onnx"
		# shellcheck disable=SC2086 # the flags are words
		"$oq" quantize "$model" --calib "${cal[@]}" -o "$q" -q --min-sqnr 0 $mflags ${FLAGS:-}
		"$oq" eval --float "$model" --quant "$q" --data "${held[@]}" -q --top 1 --csv "$work/layers.csv" >"$work/eval.txt"
		line="$method fold $k:"
		# "output NAME: SQNR X dB, ..." lines; the worst output is the smallest.
		# An identical output ("inf") is never the worst.
		worst="$(awk '/^output /{for(i=1;i<=NF;i++) if($i=="SQNR"){v=$(i+1); if(v ~ /^-?[0-9.]+$/ && (w==""||v+0<w+0)) w=v}} END{print (w==""?"inf":w)}' "$work/eval.txt")"
		line+=" worst output $worst"
		vals="$worst"
		for t in $tensors; do
			v="$(awk -F, -v t="$t" '$1==t{print $6}' "$work/layers.csv")"
			line+=", $t ${v:-?}"
			vals+=" ${v:-nan}"
		done
		echo "$line dB"
		echo "$vals" >>"$work/$method.sqnr"
	done
	awk -v m="$method" -v names="worst-output $tensors" '
		{ for (i = 1; i <= NF; i++) if ($i != "nan" && $i != "inf") { s[i] += 10^(-$i/10); c[i]++ } }
		END {
			split(names, nm, " "); out = m " pooled:"
			for (i = 1; i in nm; i++) out = out " " nm[i] " " (c[i] ? sprintf("%.1f", -10*log(s[i]/c[i])/log(10)) : "n/a")
			print out " dB"
		}' "$work/$method.sqnr"
done
