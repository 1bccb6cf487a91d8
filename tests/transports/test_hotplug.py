"""Unplug, replug and DeviceReset re-enumerate the camera with uevents; stale handles fail."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from daemon_host import CLIENTS


def watch(daemon, seconds: float, *extra: str) -> subprocess.Popen:
    watcher = subprocess.Popen([sys.executable, str(CLIENTS / "hotplug_watch.py"), str(seconds),
                                *extra],
                               env=daemon.env, stdout=subprocess.PIPE, text=True)
    assert watcher.stdout.readline().strip() == "ready"
    return watcher


def result(watcher: subprocess.Popen) -> dict:
    out, _ = watcher.communicate(timeout=60)
    return json.loads(out.strip().splitlines()[-1])


def test_unplug_and_replug_from_the_cli(fresh_daemon):
    watcher = watch(fresh_daemon, 15.0)
    fresh_daemon.cli("plug", "unplug")
    time.sleep(0.5)
    status = fresh_daemon.cli("status")
    assert " unplugged " in status
    # (No other libusb program runs meanwhile: umockdev then hands later uevents to it.)
    fresh_daemon.cli("plug", "replug")
    report = result(watcher)
    assert [e[0] for e in report["events"]] == ["left", "arrived"], report
    assert report["events"][1][2] != report["events"][0][2]  # a new device number
    assert report["stale_handle_error"] == "USBErrorNoDevice"
    assert "2676:ba02 Basler acA4096-40um" in fresh_daemon.run(["lsusb"]).stdout
    info = fresh_daemon.client_json("pyusb_u3v.py", "info")
    assert info["serial"] == "40012345"


def test_device_reset_re_enumerates(fresh_daemon):
    from u3v_sim.camera.camera import genicam_files
    reset = genicam_files()[0].value_register("DeviceReset").address
    report = result(watch(fresh_daemon, 15.0, hex(reset)))
    # The write's own ack, at once (a device that leaves the bus before its final ack makes
    # the host report a timeout), then the camera leaves the bus and comes back.
    assert [e[:2] for e in report["events"]][0] == ["ack", 0x0803]
    assert [e[0] for e in report["events"][1:]] == ["left", "arrived"], report
    assert fresh_daemon.client_json("pyusb_u3v.py", "info")["model"] == "acA4096-40um"


def test_two_cameras_stream_at_once(tmp_path):
    from daemon_host import Daemon
    daemon = Daemon(tmp_path / "run", ("40012345", "40012346"), tmp_path)
    try:
        listed = daemon.run(["arv-tool-0.8"], network_namespace=True).stdout
        assert "Basler-267602628A39-40012345" in listed
        assert "Basler-267602628A3A-40012346" in listed
        grabs = []
        for guid, serial in (("267602628A39", "40012345"), ("267602628A3A", "40012346")):
            grabs.append(subprocess.Popen(
                ["unshare", "-n", "/usr/bin/python3",
                 str(CLIENTS.parents[2] / "scripts" / "aravis_grab.py"),
                 "--device", f"Basler-{guid}-{serial}", "--frames", "20", "--seconds", "20"],
                env=daemon.env, stdout=subprocess.PIPE, text=True))
            # umockdev binds each process's emulated uevent socket at a path named after the
            # fd number, so two libusb inits at the same instant can collide: start apart.
            time.sleep(1.0)
        reports = [json.loads(g.communicate(timeout=60)[0].strip().splitlines()[-1])
                   for g in grabs]
        assert [(r["completed"], r["failed"]) for r in reports] == [(20, 0), (20, 0)]
    finally:
        daemon.stop()
