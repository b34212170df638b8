#!/usr/bin/env bash
# Set everything up, then lint and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/system_packages.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy shared models/nser_models services loadtest
# Two workers, each taking whole modules (module fixtures start servers once) in the order of
# collection, where tests/conftest.py puts the slow modules first: most of the suite waits on
# the servers it starts, so two workers finish sooner even on two cores.
# NSER_TEST_WORKERS=0 runs it in one process.
.venv/bin/pytest -n "${NSER_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
