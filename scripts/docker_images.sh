#!/usr/bin/env bash
# The container images, built with no container registry (docs/deploy.md):
#
#   bash scripts/docker_images.sh            # system images, wheelhouse, ONNX files, compose build
#   bash scripts/docker_images.sh --no-build # all but the build
#
# 1. System images from Debian packages: mmdebstrap writes a root file system with only the
#    packages named below into a tarball, `docker import` makes it an image. Each is tagged with a
#    hash of what went into it (suite, mirror, packages, mmdebstrap options) and with the fixed
#    tag docker/Dockerfile and docker-compose.yml name; an image whose hash tag exists is not
#    made again.
#      nser/base:bookworm        Python 3.11, tini, iproute2 (tc netem): every nser image
#      nser/redis:bookworm       redis-server
#      nser/prometheus:bookworm  prometheus
# 2. The wheelhouse, .cache/wheelhouse: every locked requirement of the images
#    (docker/requirements/*.txt) as wheels made by pip on this host (same platform as the
#    images), and the nser wheel. The images install from it with `pip install --no-index`:
#    nothing is fetched while building.
# 3. The served model and the teacher as ONNX files, .cache/onnx/{served,teacher} (`nser export`,
#    with this checkout's .venv): the MEC images serve them without PyTorch.
# 4. `docker compose build`.
#
# Needs a Docker engine (scripts/docker_engine.sh) and mmdebstrap (installed here from Debian when
# missing; root or sudo). DEBIAN_MIRROR overrides the Debian mirror (default deb.debian.org).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Packages on top of Debian's essential set, per image.
BASE_PACKAGES="python3.11,python3.11-venv,libstdc++6,ca-certificates,tini,iproute2,libcap2-bin,passwd"
REDIS_PACKAGES="redis-server,passwd"
PROMETHEUS_PACKAGES="prometheus,ca-certificates,passwd"
WHEELHOUSE=.cache/wheelhouse
ONNX=.cache/onnx

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

if ! command -v mmdebstrap >/dev/null; then
  echo "docker_images: installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# How a root file system is made (part of every system image's hash, with suite, mirror and
# packages): Debian's essential set, without documentation, manual pages and translations
# (nothing in a service reads them).
MMDEBSTRAP_OPTIONS=(--variant=essential
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*')

# system_image NAME PACKAGES: nser/NAME:SUITE from Debian's essential packages plus PACKAGES.
system_image() {
  local name=$1 packages=$2
  local hash
  hash=$(printf '%s\n' "$SUITE" "$MIRROR" "$packages" "${MMDEBSTRAP_OPTIONS[@]}" |
    sha256sum | cut -c1-12)
  if docker image inspect "nser/$name:$hash" >/dev/null 2>&1; then
    docker tag "nser/$name:$hash" "nser/$name:$SUITE"
    echo "docker_images: nser/$name:$SUITE is up to date ($hash)"
    return
  fi
  echo "docker_images: making nser/$name:$SUITE from Debian $SUITE ($packages)"
  local tarball
  tarball=$(mktemp --suffix=.tar)
  "${sudo_cmd[@]}" mmdebstrap --quiet "${MMDEBSTRAP_OPTIONS[@]}" --include="$packages" \
    "$SUITE" "$tarball" "$MIRROR"
  docker import --change 'CMD ["/bin/bash"]' "$tarball" "nser/$name:$hash" >/dev/null
  rm -f "$tarball"
  docker tag "nser/$name:$hash" "nser/$name:$SUITE"
}

system_image base "$BASE_PACKAGES"
system_image redis "$REDIS_PACKAGES"
system_image prometheus "$PROMETHEUS_PACKAGES"

echo "docker_images: wheelhouse in $WHEELHOUSE"
mkdir -p "$WHEELHOUSE"
if [ ! -x .venv/bin/nser ]; then
  echo "docker_images: run scripts/bootstrap.sh first (the ONNX export needs .venv)" >&2
  exit 1
fi
python=.venv/bin/python
# pip wheel: wheels as they are on PyPI, and any sdist built here (the images have no compiler).
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps \
  --wheel-dir "$WHEELHOUSE" -r docker/requirements/api.txt -r docker/requirements/mec.txt \
  -r docker/requirements/sensing.txt
rm -f "$WHEELHOUSE"/nser-*.whl
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$WHEELHOUSE" .

# One folder per MEC image: the served model (nser/mec) and the teacher (nser/mec-teacher), so
# that neither image carries the other's graphs.
served=$(.venv/bin/python -c 'from nser_models.served import SERVED_MODEL; print(SERVED_MODEL)')
echo "docker_images: $served and teacher as ONNX files in $ONNX"
rm -rf "$ONNX"
.venv/bin/nser export --models "$served" --out "$ONNX/served" >/dev/null
.venv/bin/nser export --models teacher --out "$ONNX/teacher" >/dev/null

if [ "${1:-}" != "--no-build" ]; then
  # The Redis password is not part of any image; compose only insists on it being set.
  export NSER_REDIS_PASSWORD=${NSER_REDIS_PASSWORD:-not-used-by-a-build}
  docker compose build
fi
