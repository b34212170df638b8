#!/usr/bin/env bash
# Set everything up, then run the main job: `nser up`, the whole simulated 5G MEC network
# (Redis, MEC inference, analytics, decision, Prometheus, 20 devices playing the "evening"
# scenario) for 60 s with a live view, at the edge and then behind a distant-cloud link, ending
# with each run's summary and the edge-vs-cloud comparison in runs/up-<time>/.
# Options replace the default, e.g. `bash scripts/run.sh --duration 30 --placement edge`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/system_packages.sh
if [ $# -eq 0 ]; then
  set -- --compare-placement
fi
.venv/bin/nser up "$@"
