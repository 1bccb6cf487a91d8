"""Unplug/replug is a power cycle (the acA4096-40um is powered from its USB port), and
DeviceReset is answered before the camera leaves the bus: real clients see it so."""

from __future__ import annotations

import time


def test_replug_boots_the_camera_afresh(fresh_daemon):
    before = fresh_daemon.client_json("power_cycle.py", "change")
    assert before["width"] == 1024
    time.sleep(1.0)
    assert fresh_daemon.status()[0]["acquiring"]
    fresh_daemon.cli("plug", "replug")
    camera = fresh_daemon.status()[0]
    assert not camera["acquiring"]
    after = fresh_daemon.client_json("power_cycle.py", "check")
    assert after["width"] == 4096  # the startup user set, not the setting before the cut
    assert after["timestamp_ns"] < 0.9e9  # the clock counts from the replug


def test_first_acquisition_after_replug_or_reset_gets_frames(fresh_daemon):
    """A port made at replug must still wake the pacing loop (it used to start with no
    deadline, and the first pyusb acquisition after a replug got no frames)."""
    from u3v_sim.camera.camera import genicam_files
    reset = hex(genicam_files()[0].value_register("DeviceReset").address)
    for round_ in range(3):
        if round_ == 1:
            fresh_daemon.client_json("hotplug_watch.py", "0.1", reset)
            time.sleep(1.0)  # leaves the bus, then comes back
        else:
            fresh_daemon.cli("plug", "replug")
        report = fresh_daemon.client_json("pyusb_u3v.py", "grab", "3", timeout=30)
        assert [f["status"] for f in report["frames"]] == [0, 0, 0], (round_, report)


def test_aravis_device_reset_returns(fresh_daemon):
    started = time.monotonic()
    result = fresh_daemon.run(["arv-tool-0.8", "control", "DeviceReset"], network_namespace=True,
                              timeout=60, check=False)
    assert time.monotonic() - started < 10, result
    assert "DeviceReset" in result.stdout and result.returncode == 0, result
    time.sleep(1.0)
    assert fresh_daemon.client_json("pyusb_u3v.py", "info")["model"] == "acA4096-40um"


def test_pylon_device_reset_then_user_set_load(fresh_daemon):
    report = fresh_daemon.client_json("pylon_reset.py", "reset", timeout=120)
    assert report["reset_error"] is None and report["reset_s"] < 2, report
    assert report["removed"], report
    time.sleep(1.0)
    # (pylon's libusb learns of arrivals only from kernel-format uevents, which umockdev does
    # not send: a new process finds the camera back.)
    report = fresh_daemon.client_json("pylon_reset.py", "after", timeout=120)
    assert report == {"width": 4096, "user_set_load": "ok"}, report
