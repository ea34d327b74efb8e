#!/usr/bin/env bash
# Builds or installs the peers bench/compare measures gatescale against and
# caches them under .cache/peers (git-ignored):
#   nginx-light, wrk    Debian (hack/install-debs.sh)
#   caddy v2.11.9       go install from the Go module proxy
#   traefik v3.6.12     wrapper module hack/tools/traefik (its go.mod has replaces)
#   lura v2.14.1        hack/tools/lura, a small main around the KrakenD CE engine
# Each is built only if its binary is missing; a failed build leaves the peer
# missing (bench/compare then reports it "not built") and the script goes on.
# Cold on 2 cores: Caddy + Traefik ~12 min together, lura ~1 min.
# Usage: hack/build-peers.sh [debs|caddy|traefik|lura]...   (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="$ROOT/.cache/peers"
mkdir -p "$OUT"
CADDY=v2.11.9
TRAEFIK=v3.6.12
LURA=v2.14.1
status=0

version() { case $1 in caddy) echo "$CADDY" ;; traefik) echo "$TRAEFIK" ;; lura) echo "$LURA" ;; esac; }

timed() { # name cmd... — runs cmd, prints how long it took
  local name=$1 start=$SECONDS; shift
  if "$@"; then
    echo "hack/build-peers.sh: $name built in $((SECONDS - start)) s"
  else
    echo "hack/build-peers.sh: $name FAILED after $((SECONDS - start)) s" >&2; status=1
  fi
}

build_debs() { hack/install-debs.sh nginx-light wrk || status=1; }

build_caddy() {
  echo "hack/build-peers.sh: building caddy $CADDY (cold: several minutes)"
  GOBIN="$OUT/tmp-caddy" go install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY" &&
    mv "$OUT/tmp-caddy/caddy" "$OUT/caddy-$CADDY" && rmdir "$OUT/tmp-caddy"
}

build_traefik() {
  echo "hack/build-peers.sh: building traefik $TRAEFIK (cold: ~9 min)"
  (cd hack/tools/traefik && GOFLAGS=-mod=mod go mod tidy &&
    GOFLAGS=-mod=mod go build -trimpath -o "$OUT/traefik-$TRAEFIK.tmp" github.com/traefik/traefik/v3/cmd/traefik) &&
    mv "$OUT/traefik-$TRAEFIK.tmp" "$OUT/traefik-$TRAEFIK"
}

build_lura() {
  echo "hack/build-peers.sh: building lura $LURA (cold: ~1 min)"
  (cd hack/tools/lura && { grep -q "luraproject/lura/v2 $LURA" go.mod || GOFLAGS=-mod=mod go get "github.com/luraproject/lura/v2@$LURA"; } &&
    GOFLAGS=-mod=mod go mod tidy && GOFLAGS=-mod=mod go build -trimpath -o "$OUT/lura-$LURA.tmp" .) &&
    mv "$OUT/lura-$LURA.tmp" "$OUT/lura-$LURA"
}

what=("$@")
[ ${#what[@]} -eq 0 ] && what=(debs lura caddy traefik)
for w in "${what[@]}"; do
  case $w in
  debs) build_debs ;;
  caddy | traefik | lura)
    bin="$OUT/$w-$(version "$w")"
    if [ -x "$bin" ]; then echo "hack/build-peers.sh: $w cached ($bin)"; else timed "$w" "build_$w"; fi ;;
  *) echo "hack/build-peers.sh: unknown peer $w" >&2; exit 2 ;;
  esac
done
exit $status
