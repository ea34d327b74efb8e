#!/usr/bin/env bash
# Builds the gatescale and gatescale-adapter images offline (make image):
# static binaries compiled here, copied into FROM-scratch images by podman
# (or buildah), so no base image is pulled and no registry is needed.
#
# The tag comes from ./VERSION, the one source of truth: the images are
# $REGISTRY/gatescale:$VERSION and $REGISTRY/gatescale-adapter:$VERSION,
# exactly what manifests/*/deployment.yaml name (test/image checks both).
#
# Prints one line per image: "image NAME ID". Binaries and the build
# context are kept under .cache/image/. Installs podman, buildah, skopeo and
# runc (Debian) when missing.
#   hack/build-images.sh [gatescale|gatescale-adapter ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY=ghcr.io/gatescale
VERSION=$(tr -d '[:space:]' < VERSION)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]] || { echo "VERSION: not a version: '$VERSION'" >&2; exit 1; }
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(gatescale gatescale-adapter)

hack/install-debs.sh podman buildah skopeo runc ca-certificates
builder=podman
command -v podman >/dev/null 2>&1 || builder=buildah

COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# Tracked files changed since HEAD: the image is not exactly that commit.
if [ "$COMMIT" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then
  COMMIT="$COMMIT-dirty"
fi

OUT="$PWD/.cache/image"
CTX="$OUT/context"
mkdir -p "$CTX"
# One build at a time: checkouts may share .cache, and all share the
# machine's container storage.
exec 9>"$OUT/.lock"
flock 9

cp /etc/ssl/certs/ca-certificates.crt "$CTX/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' > "$CTX/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$CTX/group"

pkg=github.com/gatescale/gatescale/internal/version
for t in "${targets[@]}"; do
  case $t in gatescale|gatescale-adapter) ;; *) echo "unknown image $t" >&2; exit 2 ;; esac
  start=$SECONDS
  CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}" go build -trimpath \
    -ldflags "-s -w -X $pkg.Version=$VERSION -X $pkg.Commit=$COMMIT" \
    -o "$CTX/$t" "./cmd/$t"
  echo "hack/build-images.sh: go build $t: $((SECONDS - start))s" >&2
done

for t in "${targets[@]}"; do
  name="$REGISTRY/$t:$VERSION"
  old=$($builder image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  start=$SECONDS
  # --timestamp 0: the same binaries give the same image ID.
  # --layers=false: buildah 1.28 reuses a cached LABEL layer even when a
  # build-arg in it changed (a stale revision label).
  $builder build --quiet --layers=false --timestamp 0 --target "$t" \
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$COMMIT" \
    --iidfile "$OUT/$t.iid" -t "$name" -f Containerfile "$CTX" >/dev/null
  echo "hack/build-images.sh: $builder build $name: $((SECONDS - start))s" >&2
  # The image this name had before is now untagged: remove it, unless a
  # container or another name still uses it.
  new=$(cat "$OUT/$t.iid")
  if [ -n "$old" ] && [ "sha256:${old#sha256:}" != "$new" ]; then
    $builder rmi "$old" >/dev/null 2>&1 || true
  fi
  echo "image $name $(cat "$OUT/$t.iid")"
done
