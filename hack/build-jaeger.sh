#!/usr/bin/env bash
# Builds Jaeger v2 (v1.76.0, all-in-one with in-memory storage) into
# .cache/bin/jaeger for the tracing integration tests (gateway/tracing). No
# Debian package exists and release downloads are not available, so it is
# built from the Go module proxy through the wrapper module in hack/tools/jaeger.
# Cold: ~7 min on an idle 2-core machine (26 min observed with the cores
# shared by other builds; 120 MB binary); cached afterwards (a stamp file).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="$ROOT/.cache/bin"
VERSION=1.76.0
STAMP="$BIN/.jaeger-version"
mkdir -p "$BIN"
# The module-proxy build carries no version string of its own, so a stamp
# next to the binary says which version it is.
if [ -x "$BIN/jaeger" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
echo "hack/build-jaeger.sh: building jaeger v$VERSION (first time: ~7 min on 2 cores)"
cd "$ROOT/hack/tools/jaeger"
# go.sum is committed; tidy only fills in what is missing.
GOFLAGS=-mod=mod go mod tidy
GOFLAGS=-mod=mod go build -trimpath -o "$BIN/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
mv "$BIN/jaeger.tmp" "$BIN/jaeger"
echo "$VERSION" >"$STAMP"
echo "hack/build-jaeger.sh: built $BIN/jaeger"
