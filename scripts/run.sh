#!/usr/bin/env bash
# Set everything up, then run the main job: `nser up`, the whole simulated 5G MEC network
# (Redis, MEC inference, analytics, decision, sensing devices playing the "evening" scenario,
# Prometheus) for 60 s, with a live view, ending with the run summary in runs/up-<time>/.
# Options go to nser up, e.g. `bash scripts/run.sh --compare-placement`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/system_packages.sh
.venv/bin/nser up "$@"
