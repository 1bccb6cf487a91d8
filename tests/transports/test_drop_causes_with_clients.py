"""Frames the camera could not keep are counted by who lost them: a slow application
(buffer_full, as a real camera counts them) or a simulator that renders slower than the host
reads (daemon_overload: a real camera would have kept up, so a test must not blame its
client)."""

from __future__ import annotations

import os

from daemon_host import Daemon

# Put into the daemon's interpreter through PYTHONPATH: each frame's rendering takes 40 ms
# more, longer than the 23.4 ms frame period (a machine too slow for the rated rate).
SLOW_RENDERER = """\
import time
from u3v_sim.camera import blocks
_build = blocks.BlockBuilder.build
def build(self, record):
    time.sleep(0.04)
    return _build(self, record)
blocks.BlockBuilder.build = build
"""


def drops(daemon) -> dict:
    camera = daemon.status()[0]
    return {cause: camera[f"dropped_{cause}"] for cause in ("buffer_full", "daemon_overload")}


def test_a_slow_application_loses_frames_to_the_full_camera_buffer(fresh_daemon):
    report = fresh_daemon.client_json("pylon_slow_consumer.py", "4", "0.2", timeout=120)
    assert report["retrieved"] >= 10 and report["gaps"] > 0, report
    lost = drops(fresh_daemon)
    # (A machine so loaded that the renderer itself falls behind may blame a few on it.)
    assert lost["buffer_full"] > 50 and lost["daemon_overload"] <= lost["buffer_full"] // 10, lost


def test_frames_a_slow_renderer_loses_are_the_daemons_overload(tmp_path, monkeypatch):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_RENDERER)
    before = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(hook), before))))
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    try:
        monkeypatch.undo()                  # (the clients run as they are)
        daemon.env.pop("PYTHONPATH")
        if before is not None:
            daemon.env["PYTHONPATH"] = before
        grab = daemon.aravis_grab("--seconds", "4")
        assert grab["failed"] == 0 and grab["fps"] < 30, grab   # the renderer's pace
        lost = drops(daemon)
        # (A loaded machine may starve the client too and leave a few to a slow host.)
        assert lost["daemon_overload"] > 30 \
            and lost["buffer_full"] <= lost["daemon_overload"] // 10, lost
    finally:
        daemon.stop()
