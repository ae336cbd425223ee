#!/usr/bin/env bash
# Builds the runtime base image of dfft-registry from Debian packages, with
# no image pulled from any registry: debootstrap a minimal Debian into a
# directory, tar it, `docker import` it under the tag the Dockerfile uses.
#
#   deploy/base-image.sh            # builds dfft-base:bookworm unless it exists
#   FORCE=1 deploy/base-image.sh    # rebuilds the tarball and the image
#
# Idempotent: does nothing when the tag exists; when only the cached tarball
# exists (DFFT_BASE_CACHE), imports it without downloading anything.
#
# Settings (environment):
#   DFFT_BASE_TAG        image tag                      (dfft-base:bookworm)
#   DFFT_DEBIAN_SUITE    Debian suite                   (bookworm)
#   DFFT_DEBIAN_MIRROR   Debian mirror for debootstrap  (http://deb.debian.org/debian)
#   DFFT_DEBIAN_SECURITY security mirror for updates, "" to skip
#                                                       (http://deb.debian.org/debian-security)
#   DFFT_DEBIAN_KEYRING  keyring that signs the mirror  (/usr/share/keyrings/debian-archive-keyring.gpg)
#   DFFT_BASE_CACHE      tarball cache directory        (/var/tmp/dfft-base)
#   DFFT_BASE_TARBALL    import this rootfs tarball instead of building one
#
# Air-gapped sites: either point DFFT_DEBIAN_MIRROR at a local mirror
# (http://mirror.example.internal/debian or file:///srv/mirror/debian, made
# with apt-mirror, aptly or debmirror; set DFFT_DEBIAN_SECURITY to its
# security mirror or to ""), or build the tarball on a connected machine and
# carry it over: DFFT_BASE_TARBALL=/media/dfft-base-bookworm.tar
# deploy/base-image.sh. docs/operations.md has the details.
set -euo pipefail

TAG=${DFFT_BASE_TAG:-dfft-base:bookworm}
SUITE=${DFFT_DEBIAN_SUITE:-bookworm}
MIRROR=${DFFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DFFT_DEBIAN_SECURITY-http://deb.debian.org/debian-security}
KEYRING=${DFFT_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
CACHE=${DFFT_BASE_CACHE:-/var/tmp/dfft-base}
FORCE=${FORCE:-0}

say() { echo "base-image: $*" >&2; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ "$FORCE" != 1 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG exists; nothing to do (FORCE=1 rebuilds)"
  exit 0
fi

arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
tarball=${DFFT_BASE_TARBALL:-$CACHE/$SUITE-minbase-$arch.tar}

if [ -n "${DFFT_BASE_TARBALL:-}" ] && [ ! -s "$tarball" ]; then
  say "DFFT_BASE_TARBALL=$tarball does not exist"; exit 2
fi

if [ "$FORCE" = 1 ] && [ -z "${DFFT_BASE_TARBALL:-}" ]; then
  rm -f "$tarball"
fi

if [ ! -s "$tarball" ]; then
  if ! command -v debootstrap >/dev/null 2>&1 || [ ! -s "$KEYRING" ]; then
    say "installing debootstrap and debian-archive-keyring"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap debian-archive-keyring >/dev/null
  fi
  $SUDO mkdir -p "$CACHE"
  root=$($SUDO mktemp -d "$CACHE/rootfs.XXXXXX")
  cleanup() {
    for m in proc sys dev/pts; do $SUDO umount "$root/$m" 2>/dev/null || true; done
    $SUDO rm -rf --one-file-system "$root"
  }
  trap cleanup EXIT
  say "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
  t0=$(date +%s)
  $SUDO debootstrap --variant=minbase --keyring="$KEYRING" "$SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
    say "debootstrap failed; last lines of $CACHE/debootstrap.log:"; tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # Sources the image's apt uses, and the security updates when reachable.
  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [ -n "$SECURITY" ] && echo "deb $SECURITY $SUITE-security main"
  } | $SUDO tee "$root/etc/apt/sources.list" >/dev/null
  if [ -n "$SECURITY" ]; then
    say "applying $SUITE-updates and $SUITE-security"
    $SUDO cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    $SUDO chroot "$root" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get -y -qq upgrade' >>"$CACHE/debootstrap.log" 2>&1 || {
      say "security upgrade failed (see $CACHE/debootstrap.log); set DFFT_DEBIAN_SECURITY= to skip it"; exit 1; }
  fi
  # Trim what a runtime image does not need; keep apt so sites can add packages.
  $SUDO chroot "$root" /bin/sh -c 'apt-get clean' >/dev/null 2>&1 || true
  $SUDO rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/tmp/* "$root"/root/.bash_history
  : | $SUDO tee "$root/etc/resolv.conf" >/dev/null
  : | $SUDO tee "$root/etc/hostname" >/dev/null
  say "writing $tarball"
  $SUDO tar --numeric-owner --xattrs --sort=name -C "$root" -cf "$tarball.tmp" .
  $SUDO mv "$tarball.tmp" "$tarball"
  say "rootfs built in $(( $(date +%s) - t0 ))s"
else
  say "using cached $tarball"
fi

docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase $SUITE $MIRROR" \
  "$tarball" "$TAG" >/dev/null
say "imported $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
