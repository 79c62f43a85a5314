#!/usr/bin/env bash
# test.sh is the project's single test command: it installs the ONNX Runtime
# oracle if needed, points the tests at the shared corpus, then runs go vet
# and go test over the whole module. Extra arguments go to `go test`
# (for example: bash scripts/test.sh -run TestResNet18 ./internal/...).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/install-ort.sh >/dev/null

corpus="${ONNXQUANT_CORPUS:-$repo/../shared/corpus}"
if [[ -d "$corpus" ]]; then
	corpus="$(cd "$corpus" && pwd)"
fi
export ONNXQUANT_CORPUS="$corpus"

echo "test.sh: corpus $ONNXQUANT_CORPUS" >&2
go vet ./...

# Package patterns among the extra arguments replace ./...
pkgs=(./...)
for arg in "$@"; do
	if [[ "$arg" == ./* ]]; then
		pkgs=()
		break
	fi
done
go test -timeout 30m "$@" "${pkgs[@]}"

# The full run also fuzzes the check/quantize path for 60 s with hostile
# model bytes (seeded from the corpus models at run time); a crasher is
# saved under ethosu/testdata/fuzz and fails the run.
if ((${#pkgs[@]} > 0)) && [[ "${pkgs[0]}" == "./..." ]]; then
	go test -run '^$' -fuzz '^FuzzCheckQuantize$' -fuzztime 60s ./ethosu
fi
