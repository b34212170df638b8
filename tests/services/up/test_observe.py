"""The live view of `nser up` reads only the services' /metrics: alerts raised and webhooks
delivered come from the decision service's counters, not from listing alerts."""

from __future__ import annotations

import httpx

from nser_up.observe import render, snapshot

MEC = """# TYPE nser_mec_requests_total counter
nser_mec_requests_total{model="pooled-student",code="OK"} 120.0
nser_mec_requests_total{model="pooled-student",code="UNAVAILABLE"} 3.0
# TYPE nser_mec_queue_depth gauge
nser_mec_queue_depth{model="pooled-student"} 2.0
"""
DECISION = """# TYPE nser_decision_decisions_total counter
nser_decision_decisions_total{decision="negative_scream"} 7.0
nser_decision_decisions_total{decision="positive_scream"} 5.0
nser_decision_decisions_total{decision="non_scream"} 108.0
# TYPE nser_decision_alerts_total counter
nser_decision_alerts_total{change="created"} 2.0
nser_decision_alerts_total{change="updated"} 4.0
# TYPE nser_decision_webhook_deliveries_total counter
nser_decision_webhook_deliveries_total{responder="police",outcome="delivered"} 2.0
nser_decision_webhook_deliveries_total{responder="police",outcome="retry"} 1.0
nser_decision_webhook_deliveries_total{responder="healthcare",outcome="delivered"} 1.0
"""


def test_the_live_view_reads_counters_and_never_lists_alerts() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        text = MEC if request.url.host == "mec" else DECISION
        return httpx.Response(200, text=text)

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        now = snapshot(http, "http://mec/metrics", "http://decision")
    assert asked == ["/metrics", "/metrics"]
    assert (now.windows_answered, now.mec_queue_depth, now.alerts_created) == (120, 2, 2)
    assert now.webhooks_delivered == {"police": 2, "healthcare": 1}
    shown = render(now, 30.0, 60.0)
    assert "alerts raised 2 (webhooks delivered: healthcare 1, police 2)" in shown
    assert "negative screams 7, positive 5, non-screams 108" in shown
