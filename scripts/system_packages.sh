#!/usr/bin/env bash
# Debian packages the tests and the local network simulation (nser up) run as real child
# processes: redis-server, prometheus (nser up uses it when present; a test needs it), and
# espeak-ng (`nser corpus tts`: spoken lines, training negatives on real audio).
# Installs only what is missing; needs root (or sudo) the first time on a fresh machine.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v prometheus >/dev/null || missing+=(prometheus)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "system_packages: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
