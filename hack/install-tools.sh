#!/usr/bin/env bash
# Installs the pinned Go tools the Makefile uses into .cache/bin (git-ignored).
# Re-running is cheap: a tool already at the pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.cache/bin"
mkdir -p "$BIN"

STATICCHECK_VERSION=v0.8.2   # its go.mod needs go <= 1.26.8, which this machine has

have_version() { # tool, wanted version string
  [ -x "$BIN/$1" ] && [[ "$("$BIN/$1" -version 2>/dev/null)" == *"$2"* ]]
}

if ! have_version staticcheck "${STATICCHECK_VERSION#v}"; then
  echo "hack/install-tools.sh: building staticcheck $STATICCHECK_VERSION into .cache/bin"
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
