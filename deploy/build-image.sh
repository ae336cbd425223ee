#!/usr/bin/env bash
# Builds the dfft-registry runtime image without pulling anything:
#   1. the base image (deploy/base-image.sh; skipped when it exists),
#   2. the `dfft` binary with cargo on the host, unless it is built already
#      (or DFFT_BIN names one),
#   3. a small build context (the binary with debug info stripped, the health
#      check), then `docker build -f Dockerfile`.
#
#   deploy/build-image.sh                       # tags dfft-registry:latest and :<version>
#   DFFT_IMAGE=registry.internal/dfft:1 deploy/build-image.sh
#
# Settings: DFFT_IMAGE (tag, default dfft-registry:latest), DFFT_BIN (a
# prebuilt binary), DFFT_BASE_TAG (as in base-image.sh), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${DFFT_IMAGE:-dfft-registry:latest}
BASE=${DFFT_BASE_TAG:-dfft-base:bookworm}
say() { echo "build-image: $*" >&2; }

deploy/base-image.sh

bin=${DFFT_BIN:-${CARGO_TARGET_DIR:-target}/release/dfft}
if [ -z "${DFFT_BIN:-}" ]; then
  # cargo decides whether the binary is current; it is a no-op when it is.
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$bin" ] || { say "no cargo and no $bin; set DFFT_BIN to a prebuilt dfft"; exit 2; }
    say "cargo not found; using the existing $bin"
  else
    scripts/setup
    # All targets: the same dependency features as `cargo test` (which
    # builds this binary for the integration tests), so RocksDB is built
    # once for both, and after the tests this is a no-op.
    say "cargo build --release --locked --workspace --all-targets"
    cargo build --release --locked --workspace --all-targets
  fi
fi
[ -x "$bin" ] || { say "$bin is not an executable"; exit 2; }

ctx=$(mktemp -d "${TMPDIR:-/tmp}/dfft-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
# Strip debug info (the release profile keeps line tables: ~25x the size);
# function symbols stay, so backtraces still name functions.
if command -v objcopy >/dev/null 2>&1; then
  objcopy --strip-debug "$bin" "$ctx/dfft"
else
  cp "$bin" "$ctx/dfft"
fi
chmod 0755 "$ctx/dfft"
install -m 0755 deploy/healthcheck "$ctx/healthcheck"

version=$("$ctx/dfft" --version | awk '{print $2}')
tags=(-t "$IMAGE")
case $IMAGE in
  *:latest) tags+=(-t "${IMAGE%:latest}:$version") ;;
esac
say "docker build ${tags[*]} (dfft $version, $(du -h "$ctx/dfft" | cut -f1))"
old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# Quiet unless it fails (the legacy builder also warns that it is deprecated).
if ! out=$(docker build -q --build-arg BASE="$BASE" -f Dockerfile "${tags[@]}" "$ctx" 2>&1); then
  echo "$out" >&2; say "docker build failed"; exit 1
fi
# The image this tag named before, unless something still uses it.
new=$(docker image inspect -f '{{.Id}}' "$IMAGE")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
  docker rmi "$old" >/dev/null 2>&1 || true
fi
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
