#!/usr/bin/env bash
# Build the backend and frontend images from the repository root, offline except for PyPI.
#
#   scripts/build-images.sh                 # model from build/model, base from build-base-images.sh
#   MODEL_DIR=/path/to/export scripts/build-images.sh
#
# Environment / options:
#   MODEL_DIR      (--model-dir DIR)     a `python -m ml.export` folder    [build/model]
#   EXPECTED_MODEL_SHA256, EXPECTED_CODE_SHA256
#                                        the registry's digests of the model (tags model_sha256
#                                        and code_sha256; playbooks/build.yml passes them): the
#                                        card must say the same [unset: the card alone]
#   IMAGE_PREFIX   (--prefix P)          tags are P/backend:<sha12>-m<model version> ...  [rotten-potatoes]
#   TAG            (--tag T)             override the tag                  [<git sha12>-m<model version>]
#   BASE_IMAGE     (--base-image IMG)    [$(scripts/build-base-images.sh python), under
#                                        BASE_IMAGE_PREFIX, default rotten-potatoes]
#   PIP_CA_BUNDLE                        CA bundle passed as a BuildKit secret, never a layer
#                                        [/etc/ssl/certs/ca-certificates.crt; skipped if absent]
#   SOURCE_URL                           org.opencontainers.image.source
#   DOCKER          (Debian's 20.10 client: the newer one refuses BuildKit without buildx)
#                                        [/usr/bin/docker]
# Prints the two image references (backend first) on stdout; logs go to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
MODEL_DIR=${MODEL_DIR:-$ROOT/build/model}
IMAGE_PREFIX=${IMAGE_PREFIX:-rotten-potatoes}
TAG=${TAG:-}
BASE_IMAGE=${BASE_IMAGE:-}
PIP_CA_BUNDLE=${PIP_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
SOURCE_URL=${SOURCE_URL:-https://github.com/rotten-potatoes/rotten-potatoes}

log() { printf 'build-images: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --model-dir) MODEL_DIR=$2; shift 2 ;;
    --prefix) IMAGE_PREFIX=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --base-image) BASE_IMAGE=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

[ -x "$DOCKER" ] || die "$DOCKER not found (Debian's docker.io client is needed for BuildKit secrets)"
MODEL_DIR=$(cd "$MODEL_DIR" 2>/dev/null && pwd) || die "model folder not found: $MODEL_DIR"
for f in model.pkl model_card.json code/ml/__init__.py; do
  [ -f "$MODEL_DIR/$f" ] || die "$MODEL_DIR/$f is missing (run: python -m ml.export --out build/model)"
done

card_field() {  # $1 = key of model_card.json
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' \
    "$MODEL_DIR/model_card.json" "$1"
}
# The digest of code/ml (ml/integrity.py code_digest): sha256 of sha256sum's listing, sorted by path.
code_digest() {  # $1 = a code/ml folder
  (cd "$1" && find . -name '*.py' -not -path '*/__pycache__/*' | sed 's|^\./||' | LC_ALL=C sort \
    | xargs -r sha256sum | sha256sum | cut -d' ' -f1)
}
MODEL_NAME=$(card_field name)
MODEL_VERSION=$(card_field version)
MODEL_SHA256=$(card_field model_sha256)
CODE_SHA256=$(card_field code_sha256)
[ -n "$MODEL_SHA256" ] && [ -n "$CODE_SHA256" ] \
  || die "$MODEL_DIR/model_card.json has no model_sha256 or code_sha256 (export it again with python -m ml.export)"
# The registry vouches for the card, the card for the files.
if [ -n "${EXPECTED_MODEL_SHA256:-}" ] && [ "$EXPECTED_MODEL_SHA256" != "$MODEL_SHA256" ]; then
  die "model_card.json says model_sha256 $MODEL_SHA256, but the registry's is $EXPECTED_MODEL_SHA256 (EXPECTED_MODEL_SHA256): export the champion again"
fi
if [ -n "${EXPECTED_CODE_SHA256:-}" ] && [ "$EXPECTED_CODE_SHA256" != "$CODE_SHA256" ]; then
  die "model_card.json says code_sha256 $CODE_SHA256, but the registry's is $EXPECTED_CODE_SHA256 (EXPECTED_CODE_SHA256): export the champion again"
fi
[ -n "${EXPECTED_MODEL_SHA256:-}" ] || log "no EXPECTED_MODEL_SHA256: the files are checked against their card only"
actual=$(sha256sum "$MODEL_DIR/model.pkl" | cut -d' ' -f1)
[ "$actual" = "$MODEL_SHA256" ] \
  || die "$MODEL_DIR/model.pkl has sha256 $actual, but model_card.json model_sha256 is $MODEL_SHA256"
actual=$(code_digest "$MODEL_DIR/code/ml")
[ "$actual" = "$CODE_SHA256" ] \
  || die "$MODEL_DIR/code/ml has digest $actual, but model_card.json code_sha256 is $CODE_SHA256"

GIT_SHA=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
VERSION=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$ROOT/pyproject.toml")
[ -n "$TAG" ] || TAG="${GIT_SHA:0:12}-m${MODEL_VERSION}"
# The base image keeps its own prefix: IMAGE_PREFIX here names only the two application images.
[ -n "$BASE_IMAGE" ] \
  || BASE_IMAGE=$(IMAGE_PREFIX="${BASE_IMAGE_PREFIX:-rotten-potatoes}" "$ROOT/scripts/build-base-images.sh" python)
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# The Dockerfiles read the model from build/model in the context. Another model folder gets a
# small staging context (only what the images need), so the repository's build/ is never touched.
CONTEXT=$ROOT
if [ "$MODEL_DIR" != "$ROOT/build/model" ]; then
  CONTEXT=$(mktemp -d "${TMPDIR:-/tmp}/rp-build-context.XXXXXX")
  trap 'rm -rf "$CONTEXT"' EXIT
  mkdir -p "$CONTEXT/build" "$CONTEXT/app"
  cp "$ROOT/pyproject.toml" "$ROOT/constraints.txt" "$ROOT/.dockerignore" "$CONTEXT/"
  cp -R "$ROOT/ml" "$CONTEXT/ml"
  cp "$ROOT/app/__init__.py" "$CONTEXT/app/"
  cp -R "$ROOT/app/backend" "$ROOT/app/frontend" "$CONTEXT/app/"
  cp -R "$MODEL_DIR" "$CONTEXT/build/model"
fi

secret=()
if [ -f "$PIP_CA_BUNDLE" ]; then
  secret=(--secret "id=ca,src=$PIP_CA_BUNDLE")
else
  log "no CA bundle at $PIP_CA_BUNDLE: pip uses its own CAs"
fi

build() {  # $1 = backend|frontend
  local component=$1 image="${IMAGE_PREFIX}/$1:${TAG}" started
  started=$(date +%s)
  log "building $image (base $BASE_IMAGE)"
  DOCKER_BUILDKIT=1 "$DOCKER" build --quiet "${secret[@]}" \
    -f "$CONTEXT/app/$component/Dockerfile" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "SOURCE_URL=$SOURCE_URL" \
    --build-arg "GIT_SHA=$GIT_SHA" \
    --build-arg "VERSION=$VERSION" \
    --build-arg "CREATED=$CREATED" \
    --build-arg "MODEL_NAME=$MODEL_NAME" \
    --build-arg "MODEL_VERSION=$MODEL_VERSION" \
    --build-arg "MODEL_SHA256=$MODEL_SHA256" \
    --build-arg "CODE_SHA256=$CODE_SHA256" \
    -t "$image" "$CONTEXT" >/dev/null
  log "built $image in $(($(date +%s) - started)) s, $("$DOCKER" image inspect -f '{{.Size}}' "$image") bytes"
  echo "$image"
}

build backend
build frontend
