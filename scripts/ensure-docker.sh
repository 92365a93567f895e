#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's docker.io when no engine is installed and
# starts dockerd in the background when no init system runs it (CI hosts have no systemd).
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

if engine_up; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    log "no Docker engine is installed and installing one needs root: run \`sudo make docker-engine\`" \
      "(or \`sudo apt-get install docker.io\`), then run this command again"
    exit 1
  fi
  log "installing docker.io from the distribution"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io ca-certificates iptables >/dev/null
fi

if engine_up; then
  exit 0
fi

if [ -d /run/systemd/system ]; then
  log "starting docker with systemd"
  systemctl start docker
else
  log "no systemd: starting dockerd in the background (log: /var/log/dockerd.log)"
  if [ "$(id -u)" -ne 0 ]; then
    log "starting dockerd needs root"
    exit 1
  fi
  setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
fi

for _ in $(seq 60); do
  if engine_up; then
    log "engine up: $(docker version --format '{{.Server.Version}}')"
    exit 0
  fi
  sleep 1
done
log "the Docker engine did not answer within 60 s; see /var/log/dockerd.log"
exit 1
