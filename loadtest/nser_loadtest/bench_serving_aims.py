"""The serving aims of the edge-serving issue, stated once for the benchmark and its report."""

AIM_RATE = 200.0  # windows/s at which the served student's p99 should stay under AIM_P99_MS
AIM_P99_MS = 5.0
AIM_THROUGHPUT_RATIO = 10.0  # student's max throughput at the SLO over the teacher's
