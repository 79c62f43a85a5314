#!/usr/bin/env bash
# install-litert.sh installs what the TFLite export tests need beside the
# ONNX Runtime oracle:
#   - LiteRT for JavaScript (npm @litertjs/core 2.5.3, the TFLite oracle)
#     into <repo>/.ort/node_modules, next to onnxruntime-node;
#   - the Python modules Arm's Vela compiler imports (Debian's python3-numpy
#     and python3-flatbuffers) and Arm NN 20.08 with its CpuRef backend
#     (python3-pyarmnn, the second TFLite oracle), with apt-get when they are
#     missing and we are root (as in CI).
# Idempotent: nothing is downloaded when both are there.
set -euo pipefail

LITERT_VERSION=2.5.3
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/.ort"

if [[ ! -f "$dir/node_modules/@litertjs/core/package.json" ]]; then
	mkdir -p "$dir"
	if [[ ! -f "$dir/package.json" ]]; then
		echo '{"name":"onnxquant-ort","private":true}' >"$dir/package.json"
	fi
	echo "install-litert.sh: installing @litertjs/core@$LITERT_VERSION into $dir" >&2
	if ! (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
		"@litertjs/core@$LITERT_VERSION" >&2); then
		echo "install-litert.sh: npm install @litertjs/core@$LITERT_VERSION failed" >&2
		exit 1
	fi
fi

debs=(python3-numpy python3-flatbuffers python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22)
if ! /usr/bin/python3 -c 'import numpy, flatbuffers, pyarmnn' 2>/dev/null; then
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "install-litert.sh: installing ${debs[*]} (Vela's modules, Arm NN)" >&2
		apt-get update >&2
		apt-get install -y "${debs[@]}" >&2
	else
		echo "install-litert.sh: Vela and the Arm NN oracle need: apt-get install -y ${debs[*]}" >&2
	fi
fi
