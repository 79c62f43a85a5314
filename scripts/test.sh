#!/usr/bin/env bash
# test.sh is the project's single test command: it installs the ONNX Runtime
# oracle if needed, points the tests at the shared corpus, then runs go vet
# and go test over the whole module with the "ort" build tag, which builds
# the oracle (internal/ortoracle, cgo) into the tests so that they compare
# against ONNX Runtime. Without the tag (CGO_ENABLED=0 go test -timeout 30m ./...) the
# same tests run every check but those comparisons. Extra arguments go to
# `go test` (for example: bash scripts/test.sh -run TestResNet18 ./lower).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/install-ort.sh >/dev/null
bash scripts/install-litert.sh

corpus="${ONNXQUANT_CORPUS:-$repo/../shared/corpus}"
if [[ -d "$corpus" ]]; then
	corpus="$(cd "$corpus" && pwd)"
fi
export ONNXQUANT_CORPUS="$corpus"

echo "test.sh: corpus $ONNXQUANT_CORPUS" >&2
go vet -tags ort ./...

# Package patterns among the extra arguments replace ./...
pkgs=(./...)
for arg in "$@"; do
	if [[ "$arg" == ./* ]]; then
		pkgs=()
		break
	fi
done
go test -tags ort -timeout 30m "$@" "${pkgs[@]}"

# Nested modules (go test ./... skips them): the library examples, built
# and run against this checkout. Only when the whole module was tested.
if [[ ${#pkgs[@]} -eq 1 && "${pkgs[0]}" == "./..." ]]; then
	for example in examples/*/; do
		(cd "$example" && go vet ./... && go test -timeout 10m ./...)
	done
fi

# The full run also fuzzes the check/quantize path for 60 s with hostile
# model bytes (seeded from the corpus models at run time); a crasher is
# saved under ethosu/testdata/fuzz and fails the run.
if ((${#pkgs[@]} > 0)) && [[ "${pkgs[0]}" == "./..." ]]; then
	go test -run '^$' -fuzz '^FuzzCheckQuantize$' -fuzztime 60s ./ethosu
fi
