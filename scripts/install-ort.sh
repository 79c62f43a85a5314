#!/usr/bin/env bash
# install-ort.sh installs the ONNX Runtime 1.30 CPU library that the test oracle
# (internal/ortoracle) loads, into <repo>/.ort (gitignored), and prints its path.
#
# The library comes from the npm package onnxruntime-node, which ships the CPU
# build of libonnxruntime. --ignore-scripts matters: the package's install
# script tries to download GPU binaries and fails.
#
# Idempotent: when the library is already there, nothing is downloaded.
set -euo pipefail

ORT_VERSION=1.30.0
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/.ort"
lib="$dir/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

if [[ ! -f "$lib" ]]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "install-ort.sh: npm not found; install nodejs and npm first" >&2
		exit 1
	fi
	mkdir -p "$dir"
	# A package.json of our own keeps npm from walking up to a parent project.
	if [[ ! -f "$dir/package.json" ]]; then
		echo '{"name":"onnxquant-ort","private":true}' >"$dir/package.json"
	fi
	echo "install-ort.sh: installing onnxruntime-node@$ORT_VERSION into $dir" >&2
	if ! (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
		"onnxruntime-node@$ORT_VERSION" >&2); then
		echo "install-ort.sh: npm install onnxruntime-node@$ORT_VERSION failed" >&2
		exit 1
	fi
	if [[ ! -f "$lib" ]]; then
		echo "install-ort.sh: npm install succeeded but $lib is missing" >&2
		exit 1
	fi
fi

echo "$lib"
