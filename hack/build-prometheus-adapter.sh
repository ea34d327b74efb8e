#!/usr/bin/env bash
# Builds prometheus-adapter v0.12.0 into .cache/bin/prometheus-adapter, the
# peer of gatescale-adapter in `make bench-adapter`. Built from the Go module
# proxy through the wrapper module hack/tools/prometheus-adapter (its go.mod
# resolves with no pins). Cold: ~2 min on 2 cores; cached afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.cache/bin"
mkdir -p "$BIN"
[ -x "$BIN/prometheus-adapter" ] && exit 0
echo "hack/build-prometheus-adapter.sh: building prometheus-adapter v0.12.0 (first time: ~2 min on 2 cores)"
cd hack/tools/prometheus-adapter
GOFLAGS=-mod=mod go mod tidy
GOFLAGS=-mod=mod go build -o "$BIN/prometheus-adapter.tmp" sigs.k8s.io/prometheus-adapter/cmd/adapter
mv "$BIN/prometheus-adapter.tmp" "$BIN/prometheus-adapter"
