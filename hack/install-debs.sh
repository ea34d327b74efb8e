#!/usr/bin/env bash
# Installs the Debian packages the tests run for real (Prometheus, Redis,
# etcd, Chromium, wrk), each only if its binary is missing. Installing does
# not start services on these machines; tests start their own on loopback.
# Usage: hack/install-debs.sh prometheus redis-server ...
set -euo pipefail
declare -A bin=(
  [prometheus]=prometheus [redis-server]=redis-server [etcd-server]=etcd
  [chromium]=chromium [wrk]=wrk [nginx-light]=nginx [hey]=hey
  [ca-certificates]=update-ca-certificates
)
missing=()
for pkg in "$@"; do
  b=${bin[$pkg]:-$pkg}
  command -v "$b" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "hack/install-debs.sh: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
# The package lists may be stale or absent on a fresh machine.
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
