"""Dynamic batching on a real MEC: under concurrent load windows share a batch, and a queue delay
holds a lone window for at most that long while a full batch runs at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.mec import MecProcess, feature_window
from support.processes import RedisChild

from nser.v1 import mec_inference_pb2 as pb

DELAY_US = 300_000  # long beside a batch's inference, so waiting it out is plain to see
MAX_BATCH = 8


def _classify_at_once(mec: MecProcess, count: int, first: int = 0) -> list[pb.Classification]:
    futures = [
        mec.stub.Classify.future(feature_window(sequence=first + i, seed=i), timeout=30)
        for i in range(count)
    ]
    return [f.result() for f in futures]


def test_concurrent_windows_share_batches(mec: MecProcess) -> None:
    """Default batching (no queue delay): windows that arrive while a batch runs form the next."""
    answers = _classify_at_once(mec, 64, first=10_000)
    sizes = [a.timings.batch_size for a in answers]
    assert all(1 <= size <= MAX_BATCH for size in sizes)
    assert max(sizes) > 1, sizes


@pytest.fixture(scope="module")
def delayed_mec(
    module_redis: RedisChild, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MecProcess]:
    log = tmp_path_factory.mktemp("mec-delay") / "mec.log"
    server = MecProcess(
        module_redis.url, log, "--max-batch-size", str(MAX_BATCH),
        "--max-queue-delay-us", str(DELAY_US),
    ).wait_serving()  # fmt: skip
    yield server
    server.terminate()


def test_a_lone_window_waits_out_the_queue_delay(delayed_mec: MecProcess) -> None:
    (answer,) = _classify_at_once(delayed_mec, 1, first=20_000)
    assert answer.timings.batch_size == 1
    assert DELAY_US * 0.9 <= answer.timings.queue_us <= DELAY_US + 2_000_000


def test_a_full_batch_runs_without_waiting_out_the_delay(delayed_mec: MecProcess) -> None:
    answers = _classify_at_once(delayed_mec, MAX_BATCH, first=30_000)
    assert [a.timings.batch_size for a in answers] == [MAX_BATCH] * MAX_BATCH
    assert max(a.timings.queue_us for a in answers) < DELAY_US
