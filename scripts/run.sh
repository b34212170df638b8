#!/usr/bin/env bash
# Set everything up, then run the main job: generate the synthetic corpus (once) and evaluate
# the shipped models on it, writing the paper's tables and figures to runs/evaluation/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ ! -f data/corpus/manifest.csv ]; then
  .venv/bin/nser corpus --out data/corpus
fi
.venv/bin/nser evaluate --data synthetic:data/corpus --out runs/evaluation "$@"
