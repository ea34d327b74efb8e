#!/usr/bin/env bash
# Builds Prometheus 3.16.0 (module github.com/prometheus/prometheus v0.316.0,
# the newest the Go module proxy serves whose go.mod the machine's Go 1.26.8
# accepts) into .cache/bin/prometheus3, for the adapter's forecast tests
# against Prometheus 3 (Debian's prometheus is 2.42). Not called `prometheus`:
# .cache/bin comes first on PATH and the other tests run Debian's.
# Built from the wrapper module hack/tools/prometheus3 with the build tag
# remove_all_sd, which leaves out every service discovery but file and http
# (the tests use file_sd). Cold: ~6.5 CPU-minutes (measured: 5m24s user +
# 54s sys) plus ~1 min of module downloads; cached afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="$ROOT/.cache/bin"
VERSION=3.16.0
mkdir -p "$BIN"
# Capture first: with pipefail, a pipe into grep -q can fail on SIGPIPE.
if [ -x "$BIN/prometheus3" ] && [[ "$("$BIN/prometheus3" --version 2>/dev/null)" == *"version $VERSION "* ]]; then
  exit 0
fi
echo "hack/build-prometheus3.sh: building prometheus $VERSION (first time: several minutes on 2 cores)"
cd "$ROOT/hack/tools/prometheus3"
# go.sum is committed; tidy only fills in what is missing.
GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod tidy
V=github.com/prometheus/common/version
GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -tags remove_all_sd -o "$BIN/prometheus3.tmp" \
  -ldflags "-X $V.Version=$VERSION -X $V.Branch=v0.316.0 -X $V.Revision=v0.316.0" \
  github.com/prometheus/prometheus/cmd/prometheus
mv "$BIN/prometheus3.tmp" "$BIN/prometheus3"
v=$("$BIN/prometheus3" --version); echo "${v%%$'\n'*}" # not a pipe: head would SIGPIPE it under pipefail
