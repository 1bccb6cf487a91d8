"""Camera events through pylon, the host that binds them (issue 9 §1): pypylon's camera-event
flow (Basler's grab-camera-events sample for USB: handlers on the Event...Data categories) gets
one callback per event, with the data of the frame it belongs to."""

from __future__ import annotations

EXPOSURE_NS = 5_000_000     # pylon_events.py's ExposureTime in frames mode


def events_of(report: dict, name: str) -> list[dict]:
    return [c for c in report["callbacks"] if c["event"] == name]


def test_exposure_end_and_frame_start_once_per_frame_with_its_data(daemon):
    report = daemon.client_json("pylon_events.py", "frames", timeout=120)
    assert report["errors"] == [] and len(report["grabs"]) == 10, report
    exposure_end = {c["frame_id"]: c["timestamp"] for c in events_of(report, "ExposureEnd")}
    frame_start = {c["frame_id"]: c["timestamp"] for c in events_of(report, "FrameStart")}
    assert len(exposure_end) == len(events_of(report, "ExposureEnd")), "one per frame"
    for grab in report["grabs"]:
        assert grab["ok"], report
        assert frame_start[grab["block_id"]] == grab["timestamp"], report
        assert abs(exposure_end[grab["block_id"]] - grab["timestamp"] - EXPOSURE_NS) <= 1, report


def test_an_overtrigger_and_the_frame_start_waits(daemon):
    report = daemon.client_json("pylon_events.py", "overtrigger", timeout=120)
    assert report["errors"] == [] and len(report["grabs"]) == 1, report
    (grab,) = report["grabs"]
    names = [c["event"] for c in report["callbacks"]]
    assert names == ["FrameStartWait", "FrameStart", "FrameStartOvertrigger", "FrameStartWait"]
    first_wait, start, overtrigger, ready_again = report["callbacks"]
    assert first_wait["timestamp"] <= start["timestamp"] == grab["timestamp"]
    assert start["frame_id"] == grab["block_id"]
    # refused while the 50 ms exposure runs; it names the frame it would have started
    assert start["timestamp"] < overtrigger["timestamp"] < start["timestamp"] + 50_000_000
    assert overtrigger["frame_id"] == grab["block_id"] + 1
    assert abs(ready_again["timestamp"] - start["timestamp"] - 50_000_000) <= 1


def test_temperature_events_when_the_harness_heats_the_camera(daemon):
    report = daemon.client_json("pylon_events.py", "temperature", timeout=120)
    assert report["errors"] == [], report
    names = [c["event"] for c in report["callbacks"]]
    assert names == ["CriticalTemperature", "OverTemperature"], report
    critical, over = report["callbacks"]
    assert 0 < critical["timestamp"] < over["timestamp"]
    assert daemon.control({"command": "temperature", "ambient_offset": 0}) == {
        "code": "ok", "temperature_state": "Ok"}
