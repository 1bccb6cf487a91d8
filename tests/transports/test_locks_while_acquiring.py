"""Settings that define the payload or the stream are locked while the camera acquires, as
on the real ace USB: in the XML (GenApi sees them not writable) and on the device (a register
write is refused), and free again once it stops (issue 9 §3)."""

from __future__ import annotations

import json

from daemon_host import CLIENTS


def test_pylon_sees_the_payload_features_locked_while_grabbing(daemon):
    report = daemon.client_json("pylon_locks.py", timeout=120)
    assert all(report["idle"].values()), report
    assert not any(report["grabbing"].values()), report
    assert report["width_write"] != "accepted" and report["width_while_grabbing"] == 2048
    assert all(report["stopped"].values()) and report["width_after"] == 1024, report


def test_aravis_writes_fail_while_acquiring(daemon):
    out = daemon.run(["/usr/bin/python3", str(CLIENTS / "aravis_locks.py")],
                     network_namespace=True, timeout=60).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["Width"] != "accepted" and report["PixelFormat"] != "accepted", report
    assert report["width_while_acquiring"] == 4096 and report["width_after"] == 1024, report


def test_a_register_write_is_refused_while_acquiring(daemon):
    report = daemon.client_json("pyusb_locks.py")
    assert report == {"start": "ok", "width": "0x8006", "width_value": 4096, "stop": "ok",
                      "width_after_stop": "ok", "width_value_after": 1024}, report
