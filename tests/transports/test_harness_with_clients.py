"""The harness side of hardware-in-the-loop against a real client (issue 10): the harness acts
on the camera as the physical world would and watches what the application made it do, while
an unmodified Aravis application uses the camera."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from daemon_host import CLIENTS
from observing import follow, written

PULSES = 20
PERIOD_US = 50_000          # 20 Hz, slower than the camera's frame period at this ROI
EXPOSURE_US = 1000.0


def test_pulses_on_line1_trigger_exactly_one_frame_each_with_matching_times(daemon):
    """Harness pulses on Line1 (placed on the camera's clock) trigger an Aravis application
    in hardware-trigger mode: exactly one frame per pulse, each frame's timestamp the device
    time of its pulse's rising edge (TriggerDelay 0, no debouncer), and the observation
    stream shows each Line2 ExposureActive pulse over its frame's exposure."""
    harness = daemon.harness()
    observed, stopped = follow(harness, lambda item: item.get("event") == "acquisition"
                               and not item["acquiring"])
    app = subprocess.Popen(
        ["unshare", "-n", "/usr/bin/python3", str(CLIENTS / "aravis_hw_trigger.py"),
         "--frames", str(PULSES), "--exposure-us", str(EXPOSURE_US)],
        env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().strip() == "armed", app.stderr.read()
        pulses = harness.pulse("Line1", width_us=200, period_us=PERIOD_US, count=PULSES,
                               delay_us=10_000)
        out, err = app.communicate(timeout=60)
    finally:
        app.kill()
    stopped.wait(10)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["failed"] == 0 and not report["extra"], report
    frames = report["frames"]
    assert len(frames) == PULSES, (report, err)
    rising = [pulses["first_edge_ns"] + i * PERIOD_US * 1000 for i in range(PULSES)]
    assert [f["timestamp"] for f in frames] == rising
    assert rising[-1] + 200_000 == pulses["last_edge_ns"]
    # What the harness observed: the pulses on Line1, the frames sent, Line2's exposures.
    edges = [(o["line"], o["level"], o["timestamp_ns"]) for o in observed
             if o["event"] == "line_edge"]
    assert [t for line, level, t in edges if line == "Line1" and level] == rising
    exposures = [t for line, level, t in edges if line == "Line2"]
    assert exposures == [t + d for t in rising for d in (0, int(EXPOSURE_US * 1000))]
    sent = [o for o in observed if o["event"] == "frame_sent"]
    assert [o["frame_timestamp_ns"] for o in sent] == rising
    assert {o["trigger_source"] for o in sent} == {"Line1"}
    assert [o["block_id"] for o in sent] == [f["id"] for f in frames]


def test_features_by_name_through_the_camera_as_a_host_write(daemon):
    """The Python API and the CLI read and write any feature by name; a write the camera
    refuses answers with its GenCP status and changes nothing; a selector entry can be named
    without the host seeing its selector move."""
    from u3v_sim.harness import HarnessError
    harness = daemon.harness()
    assert harness.set("Width", "2048") == 2048
    assert harness.get("Width") == 2048
    try:
        harness.set("Width", 2052)                  # not on the increment
    except HarnessError as refused:
        assert (refused.code, refused.status) == ("refused", "INVALID_PARAMETER"), refused
    else:
        raise AssertionError("Width 2052 was taken")
    assert harness.get("Width") == 2048
    selector = harness.get("LineSelector")
    assert harness.set("LineDebouncerTime", 10.0, selector="Line3") == 10.0
    assert harness.get("LineDebouncerTime", selector="Line3") == 10.0
    assert harness.get("LineSelector") == selector
    for bad, code in ((("Widht", 1), "invalid_argument"), (("SensorWidth", 1), "refused"),
                      (("TriggerMode", "Maybe"), "invalid_argument")):
        try:
            harness.set(*bad)
        except HarnessError as refused:
            assert refused.code == code, refused
        else:
            raise AssertionError(f"{bad} was taken")
    for line, code in (("Line9", "invalid_argument"), ("Line2", "refused")):  # no line; output
        try:
            harness.pulse(line, width_us=200, period_us=1000, count=2)
        except HarnessError as refused:
            assert refused.code == code, refused
        else:
            raise AssertionError(f"a pulse on {line} was taken")
    cli = [sys.executable, "-m", "u3v_sim"]
    assert daemon.run([*cli, "feature", "set", "Width", "1024"]).stdout == "1024\n"
    assert daemon.run([*cli, "feature", "get", "Width"]).stdout == "1024\n"
    refused = daemon.run([*cli, "feature", "set", "Width", "9"], check=False)
    assert refused.returncode == 3 and "[refused INVALID_PARAMETER]" in refused.stderr, refused
    assert "Traceback" not in refused.stderr
    assert daemon.run([*cli, "feature", "get", "Widht"], check=False).stderr.strip() == \
        "Error: [invalid_argument] Widht: the camera has no such feature (did you mean Width?)"
    harness.set("Width", 4096)


def test_software_trigger_events_and_reset_from_the_cli(daemon):
    """`u3v-sim trigger`, `execute` and `reset` act as the host's commands would; `events`
    follows the observation stream; a line held high from outside stays high over the
    reset."""
    cli = [sys.executable, "-m", "u3v_sim"]
    harness = daemon.harness()
    harness.set("TriggerMode", "On")
    harness.set("TriggerSource", "Software")
    follow = subprocess.Popen([*cli, "events", "--count", "4"], env=daemon.env,
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)                                 # subscribed
    daemon.run([*cli, "execute", "AcquisitionStart"])
    daemon.run([*cli, "trigger"])
    out, _ = follow.communicate(timeout=30)
    seen = [json.loads(line) for line in out.splitlines()]
    assert [(o["event"], o.get("name")) for o in seen] == [
        ("feature_written", "AcquisitionStart"), ("acquisition", None),
        ("device_event", "FrameStartWait"), ("feature_written", "TriggerSoftware")], seen
    assert seen[0]["by"] == "harness" and seen[0]["serial"] == daemon.info["cameras"][0]["serial"]
    daemon.run([*cli, "execute", "AcquisitionStop"])
    harness.set("TriggerMode", "Off")
    daemon.run([*cli, "line", "Line3", "1"])
    before = daemon.status()[0]["devnode"]
    daemon.run([*cli, "reset"])
    deadline = time.monotonic() + 10
    while daemon.status()[0]["devnode"] == before or not daemon.status()[0]["plugged"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert harness.get("LineStatus", selector="Line3") is True
    daemon.run([*cli, "line", "Line3", "0"])


def test_the_camera_sees_the_image_it_is_shown(daemon, tmp_path):
    """`image` puts a picture in front of the camera for its next frames (a snapshot shows
    it); without a path the synthetic scene comes back."""
    import numpy as np
    harness = daemon.harness()
    flat = tmp_path / "flat.npy"
    np.save(flat, np.full((2176, 4112), 0.5, np.float32))
    harness.set("ExposureTime", harness.get("ExposureTime"))
    assert harness.image(flat)["source"] == str(flat)
    shown = harness.snapshot()
    assert harness.image(None)["source"] == "synthetic scene"
    scene = harness.snapshot()
    assert shown.startswith(b"\x89PNG") and scene.startswith(b"\x89PNG") and shown != scene
    missing = daemon.run([sys.executable, "-m", "u3v_sim", "image", str(tmp_path / "none.png")],
                         check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_an_array_from_the_python_api_and_clients_coming_and_going(daemon):
    """A NumPy array is shown as given (a snapshot of it differs from the scene); a client
    opening the camera and leaving is observed; status carries the telemetry."""
    import numpy as np
    harness = daemon.harness()
    deadline = time.monotonic() + 5   # (an earlier test's client is seen leaving soon after)
    while daemon.status()[0]["clients"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    observed, done = follow(harness, lambda item: item["event"] == "client"
                            and item["clients"] == 0)
    harness.image(np.full((2176, 4112), 0.7, np.float32))
    lit = harness.snapshot()
    harness.image(None)
    assert lit != harness.snapshot()
    daemon.run(["arv-tool-0.8", "control", "Width"], network_namespace=True)
    assert done.wait(10), observed
    clients = [(o["attached"], o["clients"]) for o in observed if o["event"] == "client"]
    # (Aravis opens the node twice: discovery, then the device)
    assert clients[0] == (True, 1) and clients[-1] == (False, 0), clients
    assert [attached for attached, _ in clients].count(True) == \
        [attached for attached, _ in clients].count(False)
    status = harness.status()["cameras"][0]
    assert status["temperature_state"] == "Ok" and 40 < status["temperature_c"] < 60
    assert set(status["stream"]) >= {"frames_sent", "transfers", "overflows"}
    assert status["frames_failed"] == status["stream"]["frames_aborted"]


def test_a_device_reset_is_one_reboot_and_no_cable_change(daemon):
    """DeviceReset: the camera boots once and enumerates again; the cable never moved."""
    harness = daemon.harness()
    seen, back = follow(harness, written("DeviceUserID"))
    before = daemon.status()[0]["devnode"]
    harness.reset()
    deadline = time.monotonic() + 10
    while daemon.status()[0]["devnode"] == before or not daemon.status()[0]["plugged"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    harness.set("DeviceUserID", "")   # (ends the follower)
    assert back.wait(5)
    kinds = [o["event"] for o in seen]
    assert kinds.count("rebooted") == 1 and "plug" not in kinds, kinds
    assert [o["cause"] for o in seen if o["event"] == "rebooted"] == ["device_reset"]
