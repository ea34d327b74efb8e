#!/usr/bin/env bash
# Runs a throwaway redis-server on loopback in the foreground, for trying
# cluster-wide rate limits by hand (examples/secured -redis 127.0.0.1:PORT,
# or several `gatescale run` processes sharing a rate_limit.redis).
# Nothing is saved; Ctrl-C stops it. Installs redis-server if missing.
# Usage: hack/redis-dev.sh [PORT]   (default 6390)
set -euo pipefail
port=${1:-6390}
here=$(cd "$(dirname "$0")" && pwd)
"$here/install-debs.sh" redis-server
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "redis on 127.0.0.1:$port (Ctrl-C stops it)"
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --loglevel warning
