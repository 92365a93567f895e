#!/usr/bin/env bash
# Install what the benchmarks need from the distribution's archive, when missing:
#   wrk         the HTTP load generator of bench/serve.py
#   postgresql  a throwaway cluster for bench/serve.py and bench/drain.py (the binaries only)
# Needs root to install; otherwise it names the command to run and stops.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-bench-tools: missing ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "ensure-bench-tools: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
