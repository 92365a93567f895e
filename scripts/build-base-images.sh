#!/usr/bin/env bash
# Build the local base images offline, from Debian's archive, with debootstrap:
#   rotten-potatoes/debian12-systemd  a "bare VM": systemd as PID 1, python3 for Ansible.
#                                     Molecule's test hosts and the sandbox host run it.
#   rotten-potatoes/python            Debian 12's Python 3.11, for the images' BASE_IMAGE.
#   rotten-potatoes/debian12          Debian 12 minbase, the base of the PostgreSQL image.
# No registry is needed. A root filesystem tarball is cached per recipe, so a rebuild after
# `docker image prune` takes seconds; a changed recipe gets a new tag and is built afresh.
#
# And the service images the app stack runs where postgres:* or an MLflow image cannot be
# pulled, with BuildKit from these bases (Debian's archive, and PyPI for MLflow):
#   rotten-potatoes/postgres:15-<hash>         app/postgres: Debian 12's PostgreSQL 15
#   rotten-potatoes/mlflow:<version>-<hash>    app/mlflow: the tracking server pinned in
#                                              constraints.txt, with psycopg
# <hash> covers everything that shapes the image (Dockerfile, entrypoint, pins, base image), so
# an existing tag is reused as is. Each is also tagged rotten-potatoes/postgres:15 and
# rotten-potatoes/mlflow:<version>, the defaults of compose.yaml.
#
# Usage: scripts/build-base-images.sh [systemd|python|debian|postgres|mlflow|all]...
# Prints the image references on stdout (one per kind asked for); logs go to stderr.
# Environment:
#   IMAGE_PREFIX   [rotten-potatoes]
#   DOCKER         the client of the BuildKit builds [/usr/bin/docker (Debian's 20.10) if present]
#   PIP_CA_BUNDLE  passed to pip as a BuildKit secret, never a layer
#                  [/etc/ssl/certs/ca-certificates.crt; skipped if absent]
#   SOURCE_URL     org.opencontainers.image.source of the service images
#   BASE_DISTRO    debian [default] or ubuntu: the distribution of the systemd image (the online
#                  Molecule matrix tests on Ubuntu too); ubuntu builds only `systemd`
#   BASE_SUITE     its release [bookworm for debian, noble for ubuntu]; with the defaults the
#                  image is rotten-potatoes/debian12-systemd as before, else <distro>-<suite>-systemd
#   UBUNTU_MIRROR  [http://archive.ubuntu.com/ubuntu] (needs the ubuntu-keyring package)
set -euo pipefail

BASE_DISTRO="${BASE_DISTRO:-debian}"
case "$BASE_DISTRO" in
  debian)
    DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
    SUITE="${BASE_SUITE:-bookworm}"
    ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
    ;;
  ubuntu)
    # The recipe hash and the sources below read DEBIAN_MIRROR: here it is Ubuntu's archive.
    DEBIAN_MIRROR="${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}"
    DEBIAN_SECURITY_MIRROR="$DEBIAN_MIRROR"
    SUITE="${BASE_SUITE:-noble}"
    ARCHIVE_KEYRING=/usr/share/keyrings/ubuntu-archive-keyring.gpg
    ;;
  *) echo "build-base-images: BASE_DISTRO must be debian or ubuntu, not '$BASE_DISTRO'" >&2; exit 2 ;;
esac
CACHE_DIR="${ROTTEN_POTATOES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotten-potatoes}/base-images"
IMAGE_PREFIX="${IMAGE_PREFIX:-rotten-potatoes}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's 20.10 client builds with BuildKit secrets; a newer one needs buildx for that.
DOCKER=${DOCKER:-$([ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker || echo docker)}
PIP_CA_BUNDLE=${PIP_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
SOURCE_URL=${SOURCE_URL:-https://github.com/rotten-potatoes/rotten-potatoes}
# The PostgreSQL major of Debian 12's archive (the only one it has).
POSTGRES_MAJOR=15

# openssh-server: operators reach a server over SSH, and so do the sandbox and the SSH test hosts.
SYSTEMD_PACKAGES="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,openssh-server"
PYTHON_PACKAGES="python3,python3-venv,python3-pip,python-is-python3,ca-certificates,curl"
DEBIAN_PACKAGES=""

log() { printf 'build-base-images: %s\n' "$*" >&2; }

# Bump when the way a root filesystem is prepared changes (not for comments or logging).
RECIPE_REVISION=3

recipe_tag() {  # $1 = package list, $2 = image kind: a short hash of everything that shapes the image
  printf '%s|%s|%s|%s|%s\n' "$SUITE" "$1" "$2" "$RECIPE_REVISION" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12
}

write_sources() {  # deb822 sources with updates and security, like a freshly installed system
  local root=$1
  rm -f "$root/etc/apt/sources.list"
  if [ "$BASE_DISTRO" = ubuntu ]; then
    cat >"$root/etc/apt/sources.list.d/ubuntu.sources" <<SOURCES
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: ${SUITE} ${SUITE}-updates ${SUITE}-security
Components: main universe
Signed-By: ${ARCHIVE_KEYRING}
SOURCES
    return
  fi
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
  # The package made host keys at build time; every container of the image would share them.
  # Each container makes its own at first boot instead, before sshd checks its configuration.
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/systemd/system/ssh.service.d"
  cat >"$root/etc/systemd/system/ssh.service.d/host-keys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
}

prepare_slim_root() {  # what Docker's debian:*-slim leaves out: docs, man pages, translations
  local root=$1
  # Also for every package installed later on this base.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
}

systemd_image_name() {  # the historical name for Debian 12, <distro>-<suite>-systemd otherwise
  if [ "$BASE_DISTRO" = debian ] && [ "$SUITE" = bookworm ]; then
    echo debian12-systemd
  else
    echo "${BASE_DISTRO}-${SUITE}-systemd"
  fi
}

build() {  # $1 = kind
  local kind=$1 packages cmd name
  case "$kind" in
    systemd) packages=$SYSTEMD_PACKAGES; cmd='["/sbin/init"]'; name=$(systemd_image_name) ;;
    python | debian | postgres | mlflow) [ "$BASE_DISTRO" = debian ] || {
      log "BASE_DISTRO=$BASE_DISTRO builds only the systemd image, not '$kind'"; exit 2; } ;;&
    python) packages=$PYTHON_PACKAGES; cmd='["python3"]'; name=python ;;
    debian) packages=$DEBIAN_PACKAGES; cmd='["bash"]'; name=debian12 ;;
    postgres | mlflow) build_service "$kind"; return ;;
    *) log "unknown image kind '$kind' (systemd, python, debian, postgres, mlflow or all)"; exit 2 ;;
  esac
  local tag image tarball
  tag=$(recipe_tag "$packages" "$kind")
  image="${IMAGE_PREFIX}/${name}:${SUITE}-${tag}"
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
    debootstrap --variant=minbase ${packages:+--include="$packages"} \
      $([ "$BASE_DISTRO" = ubuntu ] && echo --components=main,universe) "$SUITE" "$root" "$DEBIAN_MIRROR" >/dev/null
    write_sources "$root"
    [ "$kind" = systemd ] && prepare_systemd_root "$root"
    [ "$kind" = debian ] && prepare_slim_root "$root"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/log/*.log
    mkdir -p "$CACHE_DIR"
    # mktemp made the root 0700; as the image's "/" that locks every non-root user out on
    # storage drivers that apply it (vfs, used by Docker inside the test hosts).
    chmod 0755 "$root"
    tar --numeric-owner -C "$root" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
  fi
  log "importing $image"
  local changes=(-c "CMD $cmd" -c "LABEL org.opencontainers.image.title=${kind}-${SUITE}"
    -c "LABEL org.rotten-potatoes.recipe=${tag}")
  case "$kind" in
    systemd) changes+=(-c 'ENV container=docker') ;;
    python) changes+=(-c 'ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1') ;;
  esac
  docker import "${changes[@]}" "$tarball" "$image" >/dev/null
  echo "$image"
}

pinned() {  # $1 = a distribution name: its version in constraints.txt
  local version
  version=$(sed -n "s/^$1==\([^ ;]*\).*/\1/p" "$ROOT/constraints.txt")
  [ -n "$version" ] || { log "constraints.txt does not pin $1"; exit 1; }
  echo "$version"
}

files_hash() {  # $@ = files and folders: one hash of their names (repository-relative) and contents
  find "$@" -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum \
    | sed "s|  $ROOT/|  |" | sha256sum | cut -c1-64
}

build_service() {  # $1 = postgres|mlflow: a BuildKit image from app/$1 on a base image above
  local kind=$1 base version hash context dockerfile image alias
  local -a args=() secret=()
  dockerfile="$ROOT/app/$kind/Dockerfile"
  case "$kind" in
    postgres)
      base=$(build debian)
      version=$POSTGRES_MAJOR
      context="$ROOT/app/postgres"
      hash=$(files_hash "$context")
      args=(--build-arg "PG_MAJOR=$version")
      ;;
    mlflow)
      base=$(build python)
      version=$(pinned mlflow)
      # The repository root, for constraints.txt (its .dockerignore keeps the rest out).
      context=$ROOT
      # The whole constraints file: it pins every package of the server's tree.
      hash=$(files_hash "$ROOT/app/mlflow" "$ROOT/constraints.txt")
      pinned psycopg >/dev/null  # the Dockerfile installs psycopg[binary] under the constraints
      args=(--build-arg "MLFLOW_VERSION=$version")
      if [ -f "$PIP_CA_BUNDLE" ]; then
        secret=(--secret "id=ca,src=$PIP_CA_BUNDLE")
      else
        log "no CA bundle at $PIP_CA_BUNDLE: pip uses its own CAs"
      fi
      ;;
  esac
  hash=$(printf '%s|%s|%s\n' "$hash" "$base" "$version" | sha256sum | cut -c1-12)
  image="${IMAGE_PREFIX}/${kind}:${version}-${hash}"
  alias="${IMAGE_PREFIX}/${kind}:${version}"
  if ! "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
    local started
    started=$(date +%s)
    log "building $image (base $base)"
    DOCKER_BUILDKIT=1 "$DOCKER" build --quiet "${secret[@]}" -f "$dockerfile" \
      --build-arg "BASE_IMAGE=$base" --build-arg "SOURCE_URL=$SOURCE_URL" "${args[@]}" \
      --label "org.rotten-potatoes.recipe=$hash" -t "$image" "$context" >/dev/null
    log "built $image in $(($(date +%s) - started)) s, $("$DOCKER" image inspect -f '{{.Size}}' "$image") bytes"
  fi
  # The short alias (compose.yaml's default) names the image last asked for; the hashed tag is
  # the exact reference.
  "$DOCKER" tag "$image" "$alias"
  echo "$image"
}

[ $# -gt 0 ] || set -- all
for kind in "$@"; do
  case "$kind" in
    all) build systemd; build python; build debian; build postgres; build mlflow ;;
    *) build "$kind" ;;
  esac
done
