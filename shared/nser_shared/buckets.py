"""Histogram buckets shared by every service's Prometheus metrics, so stages can be compared.

prometheus-client's default buckets start at 5 ms, coarser than a whole student inference;
these resolve 50 us steps below a millisecond and still reach a cloud round trip.
"""

LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075,
    0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
    0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
