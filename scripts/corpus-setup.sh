# corpus-setup.sh is sourced by the scripts that take corpus models through
# quantize, export and Vela (deploy-matrix.sh, numerics-self.sh): it sets
# repo, corpus, vela and a work folder removed on exit, installs LiteRT,
# ONNX Runtime and Vela's Python modules, builds onnxquant into the work
# folder, and lists the exportable corpus models with their calibration
# folders in exportable_models ("model calibration-folder" each).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${ONNXQUANT_CORPUS:-$repo/../shared/corpus}"
vela="${ONNXQUANT_VELA:-$repo/../shared/tools/vela/vela}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bash "$repo/scripts/install-litert.sh"
go build -o "$work/onnxquant" "$repo/cmd/onnxquant"

# The corpus networks that export whole (no data-dependent control flow);
# deploy-matrix.sh adds the audio front end and the models with an If.
exportable_models=(
	"mobilenet_v2 imagenet224"
	"resnet18 imagenet224"
	"squeezenet1_1 imagenet224"
	"mobilenet_v3_small imagenet224"
	"ppocr_mobile_v2_cls ocr_cls48x192"
	"oww_embedding oww_mel76x32"
	"tiny_transformer logmel16x40"
	"yolox_nano yolox416"
	"ppocr_v3_det ocr_det256x384"
	"blazeface_front face128_nhwc"
)
