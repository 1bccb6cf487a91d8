"""The luminance LUT changes the pixels a client receives: through pypylon (entry by entry,
and back from a saved file) and Aravis (the frames byte for byte)."""

from __future__ import annotations

import hashlib

import numpy as np


def test_pylon_writes_an_inverting_lut_and_loads_it_back_from_a_saved_file(fresh_daemon,
                                                                         tmp_path):
    report = fresh_daemon.client_json("pylon_lut.py", str(tmp_path / "lut.pfs"), timeout=180)
    assert abs(report["plain"] - 1024) < 20                  # a quarter of full scale
    assert abs(report["inverted"] - (4095 - report["plain"])) < 2
    # (Equal up to the noise of whichever frame pylon took: frame means differ by about
    # 0.05 DN; the table left inverted, or not loaded, would be thousands of DN off.)
    assert abs(report["reset"] - report["plain"]) < 0.5
    assert abs(report["loaded"] - report["inverted"]) < 0.5  # the table came back from the file
    assert "LUTValueAll" in report["lut_in_file"] and "LUTValue" not in report["lut_in_file"]


def test_aravis_gets_the_frames_the_lut_makes(fresh_daemon):
    """A black scene, and a table that sends inputs 0..8 to full scale: every pixel white."""
    fresh_daemon.harness().image(np.zeros((8, 8), np.uint8))
    roi = ["--set", "Width=256", "--set", "Height=64"]
    lut = ["--set", "LUTIndex=0", "--set", "LUTValue=4095", "--set", "LUTIndex=8",
           "--set", "LUTValue=4095", "--set", "LUTEnable=true"]
    white = hashlib.sha256(b"\xff" * 256 * 64).hexdigest()
    plain = fresh_daemon.aravis_grab("--frames", "5", "--digests", "5", *roi)
    assert plain["completed"] == 5 and all(d != white for _, d in plain["digests"]), plain
    result = fresh_daemon.aravis_grab("--frames", "5", "--digests", "5", *roi, *lut)
    assert result["completed"] == 5 and result["failed"] == 0, result
    assert [d for _, d in result["digests"]] == [white] * 5
