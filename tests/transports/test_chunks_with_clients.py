"""Block-level derived values checked by the hosts that parse them (issue 9 §2)."""

from __future__ import annotations

from daemon_host import Daemon


def test_pylon_check_crc_accepts_the_payload_crc16_chunk(tmp_path):
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path, camera_settings="noise = false\n")
    try:
        report = daemon.client_json("pylon_crc.py", timeout=120)
    finally:
        daemon.stop()
    assert report["brightest"] == 0, report  # black: nothing pylon's zeroing could change
    assert report["grabbed"] >= 13, report   # (pylon flags a few grabs as incomplete: README)
    assert report["has_crc"] == report["crc_ok"] == report["grabbed"], report
