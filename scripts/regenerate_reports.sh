#!/usr/bin/env bash
# Regenerate every report in docs/ that records the shipped detection checkpoints among its
# inputs (tests/docs/test_generated_docs.py fails while one is older than them). Run it after
# shipping new checkpoints, in the same change. Each command is the one its report names at its
# top; about three hours on two cores, most of it the hour-long soak (which runs beside the
# scene evaluations: they compute, it mostly waits) and the container run.
#
#   bash scripts/regenerate_reports.sh            # everything
#   bash scripts/regenerate_reports.sh scenes     # one group: evaluation scenes latency chaos up soak compose
#
# Needs data/corpus and data/real (README: nser corpus ...); `compose` needs a Docker engine
# (scripts/docker_engine.sh) and the images (scripts/docker_images.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
nser=.venv/bin/nser
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(soak evaluation scenes latency chaos up compose)

evaluation() {
  $nser evaluate --data synthetic:data/corpus --checkpoints models/checkpoints --out docs/evaluation \
    --real-cv docs/evaluation/real/real-audio.json
}

scenes() {
  $nser scene-accuracy --out docs/evaluation/scenes
  $nser scene-accuracy --models student,pooled-student --devices 5 --duration 600 \
    --out docs/evaluation/scenes-10min
  $nser scene-accuracy --models student,pooled-student --devices 10 --seeds 3,4,5 \
    --out docs/evaluation/scenes-policy
  $nser scene-accuracy --models pooled-student,student --devices 10 --seeds 0,1,2 \
    --evidence-thresholds 1,1.5,2,2.5,3 --out docs/evaluation/policy-sweep
  $nser scene-accuracy --models pooled-student --devices 5 --duration 120 --real data/real \
    --out docs/evaluation/scenes-real
}

latency() {  # timings: run alone, not beside anything that computes
  $nser loadtest --models student,teacher,mobilenetv3s --out docs/loadtest
  $nser bench-serving --out docs/serving/bench
  $nser payloads --out docs/serving/payloads
  $nser bench-peer --out docs/loadtest/peer
  $nser bench-peer --backend openvino --out docs/loadtest/peer-openvino
  $nser profile-mec --out docs/loadtest/profile
}

chaos() {
  $nser chaos --windows 100000 --devices 60 --hop 0.4 --kill-every 5 --seed 3 --out docs/chaos
}

up() {
  $nser up --compare-placement --out docs/up
}

soak() {  # docs/soak.md explains the settings; the report is copied from the run folder
  rm -rf runs/soak-1h
  NSER_RESULTS_MAXLEN=20000 NSER_DECISION_DONE_TTL_SECONDS=300 NSER_NWDAF_DONE_TTL_SECONDS=300 \
    NSER_NWDAF_RETENTION_SECONDS=400 NSER_DECISION_EVENTS_MAXLEN=2000 \
    $nser up --devices 50 --duration 3600 --scene-loop 300 --soak-interval 60 \
    --soak-warmup 600 --placement edge --no-prometheus --out runs/soak-1h
  cp runs/soak-1h/soak.md runs/soak-1h/soak.json runs/soak-1h/summary.md docs/soak/
}

compose() {
  $nser compose-run --devices 4 --duration 120 --link-profile ideal --out docs/deploy
}

mkdir -p runs
soak_pid=
for group in "${groups[@]}"; do
  case $group in
    soak)
      if [ ${#groups[@]} -gt 1 ]; then  # beside the others; waited for before the timings
        soak > runs/regenerate-soak.log 2>&1 &
        soak_pid=$!
      else
        soak
      fi
      ;;
    latency | chaos | up | compose)
      if [ -n "$soak_pid" ]; then wait "$soak_pid"; soak_pid=; fi
      "$group"
      ;;
    evaluation | scenes) "$group" ;;
    *) echo "regenerate_reports: unknown group $group" >&2; exit 2 ;;
  esac
done
if [ -n "$soak_pid" ]; then wait "$soak_pid"; fi
