"""Write docker/prometheus/prometheus.yml, the compose set-up's scrape configuration, with the
project's one generator (nser_up.prometheus.scrape_config); tests/deploy fails when it is stale.

    .venv/bin/python scripts/gen_prometheus_config.py            # rewrite the committed file
    .venv/bin/python scripts/gen_prometheus_config.py OUT_FILE   # write it to OUT_FILE instead
"""

from __future__ import annotations

import sys
from pathlib import Path

from nser_up.prometheus import scrape_config

OUT = Path(__file__).resolve().parents[1] / "docker" / "prometheus" / "prometheus.yml"
# Compose service:port of every /metrics (tests/deploy checks them against docker-compose.yml):
# the MECs' metrics port, and the REST port of the decision and analytics services.
TARGETS = {
    "mec": ["mec:9101", "mec-teacher:9101"],  # the teacher's only with --profile teacher
    "decision": ["decision:8081"],
    "nwdaf": ["nwdaf:8082"],
}
INTERVAL_S = 5.0
# Every target serves HTTPS with the dev CA's certificate (the credentials volume, mounted
# read-only into the Prometheus container).
CA_FILE = "/credentials/ca.pem"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(scrape_config(TARGETS, interval_s=INTERVAL_S, ca_file=CA_FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
