#!/usr/bin/env bash
# Build the local base images offline, from Debian's archive, with debootstrap:
#   rotten-potatoes/debian12-systemd  a "bare VM": systemd as PID 1, python3 for Ansible.
#                                     Molecule's test hosts and the sandbox host run it.
#   rotten-potatoes/python            Debian 12's Python 3.11, for the images' BASE_IMAGE.
# No registry is needed. A root filesystem tarball is cached per recipe, so a rebuild after
# `docker image prune` takes seconds; a changed recipe gets a new tag and is built afresh.
#
# Usage: scripts/build-base-images.sh [systemd|python|all]   (prints the image references)
set -euo pipefail

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE=bookworm
CACHE_DIR="${ROTTEN_POTATOES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotten-potatoes}/base-images"
IMAGE_PREFIX="${IMAGE_PREFIX:-rotten-potatoes}"

SYSTEMD_PACKAGES="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps"
PYTHON_PACKAGES="python3,python3-venv,python3-pip,python-is-python3,ca-certificates,curl"

log() { printf 'build-base-images: %s\n' "$*" >&2; }

# Bump when the way a root filesystem is prepared changes (not for comments or logging).
RECIPE_REVISION=1

recipe_tag() {  # $1 = package list, $2 = image kind: a short hash of everything that shapes the image
  printf '%s|%s|%s|%s|%s\n' "$SUITE" "$1" "$2" "$RECIPE_REVISION" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12
}

write_sources() {  # deb822 sources with updates and security, like a freshly installed system
  local root=$1
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: ${SUITE} ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR}
Suites: ${SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}

prepare_systemd_root() {
  local root=$1
  # Units that make no sense in a container and would fail or wait at boot.
  for unit in getty.target systemd-udevd.service systemd-udev-trigger.service \
    systemd-remount-fs.service systemd-modules-load.service sys-kernel-config.mount \
    sys-kernel-debug.mount systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  : >"$root/etc/machine-id"
}

build() {  # $1 = kind
  local kind=$1 packages cmd
  case "$kind" in
    systemd) packages=$SYSTEMD_PACKAGES; cmd='["/sbin/init"]' ;;
    python) packages=$PYTHON_PACKAGES; cmd='["python3"]' ;;
    *) log "unknown image kind '$kind' (systemd, python or all)"; exit 2 ;;
  esac
  local tag image tarball
  tag=$(recipe_tag "$packages" "$kind")
  image="${IMAGE_PREFIX}/$([ "$kind" = systemd ] && echo debian12-systemd || echo python):${SUITE}-${tag}"
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    return
  fi
  tarball="$CACHE_DIR/${kind}-${SUITE}-${tag}.tar"
  if [ ! -s "$tarball" ]; then
    if ! command -v debootstrap >/dev/null; then
      [ "$(id -u)" -eq 0 ] || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
      log "installing debootstrap"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    fi
    local root
    root=$(mktemp -d "${TMPDIR:-/tmp}/rp-rootfs.XXXXXX")
    trap 'rm -rf "$root"' RETURN
    log "debootstrap $SUITE for $kind from $DEBIAN_MIRROR (about a minute)"
    debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" "$DEBIAN_MIRROR" >/dev/null
    write_sources "$root"
    [ "$kind" = systemd ] && prepare_systemd_root "$root"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/log/*.log
    mkdir -p "$CACHE_DIR"
    tar --numeric-owner -C "$root" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
  fi
  log "importing $image"
  local changes=(-c "CMD $cmd" -c "LABEL org.opencontainers.image.title=${kind}-${SUITE}"
    -c "LABEL org.rotten-potatoes.recipe=${tag}")
  if [ "$kind" = systemd ]; then
    changes+=(-c 'ENV container=docker')
  else
    changes+=(-c 'ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1')
  fi
  docker import "${changes[@]}" "$tarball" "$image" >/dev/null
  echo "$image"
}

case "${1:-all}" in
  all) build systemd; build python ;;
  *) build "$1" ;;
esac
