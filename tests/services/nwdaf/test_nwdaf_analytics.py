"""The analytics GET on results published to a real Redis and counted by the real service."""

from __future__ import annotations

import json
import time
from typing import Any

from nwdaf_support import ANALYTICS, CELL_A, CELL_B, ServedApp, area, publish, wait_consumed
from support.processes import RedisChild
from support.results import make_record

from nser_shared.stream.results import RESULTS_STREAM


def _get(nwdaf: ServedApp, event: str, **params: Any) -> dict[str, Any]:
    query = {"event-id": event, **{k: json.dumps(v) for k, v in params.items()}}
    with nwdaf.client() as http:
        response = http.get(ANALYTICS, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _by_cell(infos: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["networkArea"]["ncgis"][0]["nrCellId"]: i for i in infos if "networkArea" in i}


def _scene(redis_server: RedisChild) -> None:
    """Cell A: 4 negative screams, 2 positive, 3 non-screams; cell B: 5 non-screams."""
    records = [
        *(make_record(device_id=f"phone-a{i}", sequence=i, negative=0.9) for i in range(4)),
        *(make_record(device_id="phone-a9", sequence=10 + i, negative=0.1) for i in range(2)),
        *(make_record(device_id="phone-a9", sequence=20 + i, scream=0.1) for i in range(3)),
        *(make_record(device_id="watch-b1", sequence=i, nr_cell_id=CELL_B, scream=0.2)
          for i in range(5)),
    ]  # fmt: skip
    publish(redis_server.client(), records)
    wait_consumed(redis_server.client(), len(records))


def test_emotion_analytics_count_classes_and_valence_per_cell(
    redis_server: RedisChild, nwdaf: ServedApp
) -> None:
    _scene(redis_server)
    body = _get(nwdaf, "NSER_EMOTION", **{"ana-req": {"offsetPeriod": -30}})
    cells = _by_cell(body["nserEmotionInfos"])
    assert set(cells) == {CELL_A, CELL_B}
    a = cells[CELL_A]
    assert a["results"] == 9
    assert a["detectionCounts"] == {"non_scream": 3, "scream": 6}
    assert a["typeCounts"] == {"positive": 2, "negative": 4}
    assert a["valenceCounts"] == {"positive": 2, "negative": 4, "neutral": 3}
    assert a["networkArea"]["ncgis"][0]["plmnId"] == {"mcc": "001", "mnc": "01"}
    short, _baseline = a["slidingWindows"]
    assert (short["windowSeconds"], short["negativeScreams"]) == (3, 4)
    assert short["negativeScreamsPerMinute"] >= 4 * 60 / 3
    assert cells[CELL_B]["valenceCounts"] == {"positive": 0, "negative": 0, "neutral": 5}
    assert body["nserEmotionInfos"][0]["networkArea"]["ncgis"][0]["nrCellId"] == CELL_A
    assert "timeStampGen" in body
    assert "start" in body


def test_event_filter_and_target_ues_select_cells_and_devices(
    redis_server: RedisChild, nwdaf: ServedApp
) -> None:
    _scene(redis_server)
    only_b = _get(nwdaf, "NSER_EMOTION", **{"event-filter": {"networkArea": area(CELL_B)}})
    assert [i["networkArea"]["ncgis"][0]["nrCellId"] for i in only_b["nserEmotionInfos"]] == [
        CELL_B
    ]
    devices = _get(
        nwdaf,
        "NSER_EMOTION",
        **{"event-filter": {"networkArea": area(CELL_A)}, "tgt-ue": {"anyUe": True}},
    )
    supis = {i["supi"]: i for i in devices["nserEmotionInfos"] if "supi" in i}
    assert set(supis) == {"phone-a0", "phone-a1", "phone-a2", "phone-a3", "phone-a9"}
    assert supis["phone-a9"]["valenceCounts"] == {"positive": 2, "negative": 0, "neutral": 3}
    first = _get(nwdaf, "NSER_EMOTION", **{"ana-req": {"maxObjectNbr": 1}})
    assert [i["results"] for i in first["nserEmotionInfos"]] == [9]  # most negative first
    silent = _get(nwdaf, "NSER_EMOTION", **{"event-filter": {"networkArea": area("00066c0ff")}})
    assert [i["results"] for i in silent["nserEmotionInfos"]] == [0]  # named: even if silent
    named = _get(nwdaf, "NSER_EMOTION", **{"tgt-ue": {"supis": ["watch-b1"]}})
    assert [i["supi"] for i in named["nserEmotionInfos"] if "supi" in i] == ["watch-b1"]


def test_nf_load_and_dn_performance_come_from_the_results_timings(
    redis_server: RedisChild, nwdaf: ServedApp
) -> None:
    _scene(redis_server)
    (load,) = _get(nwdaf, "NF_LOAD")["nfLoadLevelInfos"]
    assert load["nfType"] == "NSER_MEC"
    assert load["nserModel"] == "student"
    assert load["nserResults"] == 14
    assert load["nserAvgQueueDelayMs"] == 0.2  # make_record: queue_us=200, inference_us=1800
    assert load["nserMaxInferenceMs"] == 1.8
    assert load["nserAvgBatchSize"] == 1.0
    assert 0 <= load["nfLoadLevelAverage"] <= load["nfLoadLevelpeak"] <= 100
    backlog = {b["group"]: b for b in load["nserResultsBacklog"]}
    assert backlog["nwdaf"]["lag"] == 0  # consumed: nothing left behind
    assert backlog["nwdaf"]["pending"] == 0
    assert backlog["nwdaf"]["streamLength"] == redis_server.client().xlen(RESULTS_STREAM)
    perf = _get(nwdaf, "DN_PERFORMANCE", **{"event-filter": {"networkArea": area(CELL_A)}})
    (info,) = perf["dnPerfInfos"]
    data = info["dnPerf"][0]["perfData"]
    assert data["nserSamples"] == 9
    assert abs(data["nserAvgDelayMs"] - 10.5) < 0.01  # captured -> published in make_record
    assert data["avePacketDelay"] == 11
    assert data["maxPacketDelay"] == 11


def test_abnormal_behaviour_names_the_surging_cell_only(
    redis_server: RedisChild, nwdaf: ServedApp
) -> None:
    _scene(redis_server)
    body = _get(nwdaf, "ABNORMAL_BEHAVIOUR")
    (surge,) = body["abnorBehavrs"]
    assert surge["networkArea"]["ncgis"][0]["nrCellId"] == CELL_A
    assert surge["excep"]["excepId"] == "NEGATIVE_SCREAM_SURGE"
    assert surge["excep"]["excepLevel"] >= 3
    assert surge["excep"]["excepTrend"] == "UP"
    assert sorted(surge["supis"]) == ["phone-a0", "phone-a1", "phone-a2", "phone-a3"]
    assert surge["ratio"] == 80  # 4 of the cell's 5 devices
    assert surge["nserSurge"]["negativeScreams"] == 4


def test_results_count_in_the_window_of_their_capture_time(
    redis_server: RedisChild, nwdaf: ServedApp
) -> None:
    old = time.time() - 120
    publish(redis_server.client(), [make_record(captured_at=old), make_record()])
    wait_consumed(redis_server.client(), 2)
    recent = _get(nwdaf, "NSER_EMOTION", **{"ana-req": {"offsetPeriod": -30}})
    assert [i["results"] for i in recent["nserEmotionInfos"]] == [1]
    everything = _get(nwdaf, "NSER_EMOTION", **{"ana-req": {"offsetPeriod": -200}})
    assert [i["results"] for i in everything["nserEmotionInfos"]] == [2]
