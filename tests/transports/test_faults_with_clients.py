"""Injected faults as real clients see them (issue 10): an Aravis and a pypylon application
run, the harness injects a fault, and each client reports it as it would from the real camera
(Aravis: a buffer status, a frame-id gap, an access error; pylon: the grab result's error or an
exception) and then goes on normally once the fault is spent or cleared."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from daemon_host import CLIENTS
from observing import follow, written


def run_with_fault(daemon, client: str, mode: str, n: int, kind: str, **fault) -> dict:
    """Start the client, let it get ready, inject the fault, let it take ``n`` buffers or
    make ``n`` accesses; its report."""
    if client == "aravis":
        args = ["unshare", "-n", "/usr/bin/python3", str(CLIENTS / "aravis_faults.py")]
    else:
        args = [sys.executable, str(CLIENTS / "pylon_faults.py")]
    app = subprocess.Popen([*args, mode, str(n)], env=daemon.env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    harness = daemon.harness()
    try:
        assert app.stdout.readline().strip() == "ready", app.stderr.read()
        harness.fault(kind, **fault)
        app.stdin.write("go\n")
        app.stdin.flush()
        out, err = app.communicate(timeout=120)
        left = harness.faults()
    finally:
        app.kill()
        harness.clear_faults()
    assert app.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert left == [], (left, report)    # the fault fired as often as its count
    return report


def gaps(ids: list[int]) -> list[int]:
    return [b - a - 1 for a, b in zip(ids, ids[1:]) if b - a != 1]


# -- Aravis ------------------------------------------------------------------------------------

def aravis_statuses(report) -> list[str]:
    return [b["status"] for b in report["buffers"]]


def test_aravis_truncated_payloads_are_size_mismatches(daemon):
    report = run_with_fault(daemon, "aravis", "stream", 20, "truncated_payload", every=4,
                            count=2, fraction=0.5)
    statuses = aravis_statuses(report)
    assert statuses.count("SIZE_MISMATCH") == 2 and statuses.count("SUCCESS") == 18, statuses
    assert statuses[-4:] == ["SUCCESS"] * 4


def test_aravis_dropped_frames_are_frame_id_gaps(daemon):
    report = run_with_fault(daemon, "aravis", "stream", 20, "dropped_frame", every=4, count=2)
    assert set(aravis_statuses(report)) == {"SUCCESS"}
    assert gaps([b["id"] for b in report["buffers"]]) == [1, 1]


def test_aravis_takes_a_failed_buffer_for_a_good_one(daemon):
    """Aravis 0.8.26 does not read the trailer's status (arvuvstream.c checks only the size):
    a buffer the camera marked DATA_DISCARDED reaches the application as SUCCESS, as it would
    from the real camera. pylon reports it (below)."""
    report = run_with_fault(daemon, "aravis", "stream", 12, "failed_buffer", every=4, count=2)
    assert set(aravis_statuses(report)) == {"SUCCESS"}


def test_aravis_after_a_stalled_stream_endpoint_reopens_and_streams(daemon):
    report = run_with_fault(daemon, "aravis", "stream", 12, "stream_stall")
    statuses = aravis_statuses(report)
    assert report["restarts"] == 1 and statuses.count("TIMEOUT") == 3, statuses
    assert statuses[-3:] == ["SUCCESS"] * 3


def test_aravis_waits_out_a_delayed_trailer(daemon):
    report = run_with_fault(daemon, "aravis", "stream", 10, "delayed_trailer", every=3,
                            count=2, delay_ms=300)
    assert set(aravis_statuses(report)) == {"SUCCESS"}
    assert gaps([b["id"] for b in report["buffers"]]) == []


@pytest.mark.parametrize("kind, params, first", [
    ("busy", {}, "USB3Vision read_memory error (busy)"),
    ("status", {"status": 0x8006}, "USB3Vision read_memory error (access-denied)"),
    ("pending_ack_storm", {"pendings": 4, "timeout_ms": 40}, 4096),
    ("late_ack", {}, 4096),                    # Aravis retries: the retry is answered
])
def test_aravis_control_faults(daemon, kind, params, first):
    report = run_with_fault(daemon, "aravis", "reads", 4, kind, **params)
    accesses = report["accesses"]
    assert (accesses[0] if isinstance(accesses[0], int) else accesses[0].split("] ")[-1]) \
        == first, accesses
    assert accesses[1:] == [4096, 4096, 4096, "written"], accesses


# -- pylon ---------------------------------------------------------------------------------

def pylon_faults(report) -> list[dict]:
    """The results pylon reports failed."""
    return [r for r in report["results"] if not r.get("ok")]


def test_pylon_reports_truncated_payloads_and_failed_buffers(daemon):
    truncated = run_with_fault(daemon, "pylon", "stream", 16, "truncated_payload", every=4,
                               count=2)
    assert len(pylon_faults(truncated)) == 2, truncated
    discarded = run_with_fault(daemon, "pylon", "stream", 16, "failed_buffer", every=4,
                               count=2)
    failed = pylon_faults(discarded)
    assert len(failed) == 2 and all("discarded" in r["error"] for r in failed), discarded


def test_pylon_sees_dropped_frames_as_block_id_gaps(daemon):
    report = run_with_fault(daemon, "pylon", "stream", 16, "dropped_frame", every=4, count=2)
    assert pylon_faults(report) == []
    assert gaps([r["id"] for r in report["results"]]) == [1, 1]


def test_pylon_after_a_stalled_stream_endpoint_restarts_and_grabs(daemon):
    report = run_with_fault(daemon, "pylon", "stream", 12, "stream_stall")
    assert len(pylon_faults(report)) == 3 and report["restarts"] == 1, report
    assert all(r.get("ok") for r in report["results"][-3:]), report


@pytest.mark.parametrize("kind, params, first", [
    ("busy", {}, "failed"),
    ("status", {"status": 0x8006}, "failed"),
    ("pending_ack_storm", {"pendings": 4, "timeout_ms": 40}, None),
    ("late_ack", {"delay_ms": 200}, "timed out"),    # pylon gives up: a TimeoutException
])
def test_pylon_control_faults(daemon, kind, params, first):
    report = run_with_fault(daemon, "pylon", "reads", 4, kind, **params)
    accesses = report["accesses"]
    if first is None:
        assert accesses[0] == 4096, accesses
    else:
        assert isinstance(accesses[0], str) and first in accesses[0], accesses
    assert accesses[1:] == [4096, 4096, 4096, "written"], accesses


# -- the cable ---------------------------------------------------------------------------------

def test_a_surprise_disconnect_mid_stream_and_the_camera_back(daemon):
    """Aravis streaming loses the camera (control lost), the camera comes back by itself with
    a new device node, and a new Aravis application streams from it."""
    before = daemon.status()[0]["devnode"]
    app = subprocess.Popen(["unshare", "-n", "/usr/bin/python3", str(CLIENTS / "aravis_stream.py"),
                            "--seconds", "20"], env=daemon.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().strip() == "opened"
        assert app.stdout.readline().strip() == "streaming"
        harness = daemon.harness()
        harness.fault("disconnect", replug_ms=700)
        out, _ = app.communicate(timeout=30)
    finally:
        app.kill()
    assert app.returncode == 1 and out.strip().splitlines()[-1] == "released", out
    assert "error" in json.loads(out.strip().splitlines()[-2])
    deadline = time.monotonic() + 10
    while not daemon.status()[0]["plugged"] or daemon.status()[0]["devnode"] == before:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert daemon.aravis_grab("--frames", "5", "--seconds", "10")["completed"] == 5


def test_device_faults_overheat_and_a_chattering_input(daemon):
    """The camera overheats (its temperature state and events, as an ace shows them) and an
    input chatters for a while, then rests low: both seen in the observation stream."""
    harness = daemon.harness()
    seen, done = follow(harness, written("DeviceUserID"))
    harness.set("EventSelector", "OverTemperature")
    harness.set("EventNotification", "On")
    harness.fault("overheat", ambient_offset_c=40)
    harness.fault("line_chatter", line=3, duration_ms=50)
    deadline = time.monotonic() + 10
    while harness.faults() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert harness.status()["cameras"][0]["temperature_state"] == "Error"
    harness.temperature(0)
    harness.set("EventNotification", "Off")
    harness.set("DeviceUserID", "")
    assert done.wait(10)
    states = [o["state"] for o in seen if o["event"] == "temperature_state"]
    assert states[:1] == ["Error"] and states[-1] == "Ok", states
    assert [o["name"] for o in seen if o["event"] == "device_event"] == ["OverTemperature"]
    line3 = [o for o in seen if o["event"] == "line_edge" and o["line"] == "Line3"]
    assert len(line3) > 10 and line3[-1]["level"] is False, line3[-3:]
    assert line3[-1]["timestamp_ns"] - line3[0]["timestamp_ns"] < 60_000_000


@pytest.mark.parametrize("client", ["aravis", "pylon"])
@pytest.mark.parametrize("kind, params", [("delayed_trailer", {"delay_ms": 300}),
                                          ("slow_link", {"rate_mb_s": 0.5})])
def test_late_frames_arrive_whole(daemon, client, kind, params):
    """A late trailer or a slow link: the frames come later, whole, with no id gap."""
    report = run_with_fault(daemon, client, "stream", 10, kind, every=3, count=2, **params)
    if client == "aravis":
        assert set(aravis_statuses(report)) == {"SUCCESS"}
        ids = [b["id"] for b in report["buffers"]]
    else:
        assert pylon_faults(report) == [], report
        ids = [r["id"] for r in report["results"]]
    assert gaps(ids) == [], ids


def test_a_slow_link_limits_what_aravis_gets_to_its_rate(fresh_daemon):
    """A link slowed to 50 MB/s for every frame carries 50 MB/s: 8.9 MB frames (the default
    ROI of a fresh camera) at about 5.6 fps, one after another; the frames the camera cannot
    hold meanwhile are lost in its full buffer (was: each frame paced on its own,
    overlapping, about 36 fps)."""
    harness = fresh_daemon.harness()
    before = fresh_daemon.status()[0]
    harness.fault("slow_link", count=None, rate_mb_s=50.0)
    grab = fresh_daemon.aravis_grab("--seconds", "4")
    after = fresh_daemon.status()[0]
    assert grab["payload"] == 4096 * 2168, grab
    assert grab["failed"] == 0 and 4.5 < grab["fps"] < 6.5, grab
    assert 40 < grab["mb_per_s"] < 55, grab
    assert after["dropped_buffer_full"] - before["dropped_buffer_full"] > 50
    assert after["dropped_daemon_overload"] == before["dropped_daemon_overload"]


def test_an_overloaded_gpio_output_as_aravis_reads_it(daemon):
    """Aravis sets Line3 to drive UserOutput2 high; the overload switches it off
    (LineOverloadStatus true, LineStatus false) until Aravis executes LineOverloadReset."""
    setup = ["LineSelector=Line3", "LineMode=Output", "LineSource=UserOutput2",
             "UserOutputSelector=UserOutput2", "UserOutputValue=true"]
    read = ["LineSelector=Line3", "LineStatus", "LineOverloadStatus"]

    def control(*args: str) -> str:
        return daemon.run(["arv-tool-0.8", "control", *args], network_namespace=True).stdout

    before = control(*setup, *read)
    assert "LineStatus = true" in before and "LineOverloadStatus = false" in before, before
    daemon.harness().fault("line_overload", line=3)
    deadline = time.monotonic() + 5
    while daemon.harness().faults() and time.monotonic() < deadline:
        time.sleep(0.05)
    overloaded = control(*read)
    assert "LineStatus = false" in overloaded and "LineOverloadStatus = true" in overloaded
    after = control("LineSelector=Line3", "LineOverloadReset", "LineStatus",
                    "LineOverloadStatus")
    assert "LineStatus = true" in after and "LineOverloadStatus = false" in after, after
    control("LineSelector=Line3", "LineMode=Input", "UserOutputValue=false")
