"""Exposure bracketing with the sequencer through pypylon and Aravis: each frame's chunks name
the set and its exposure time, and its pixels are as bright as that exposure makes them."""

from __future__ import annotations

import json

import numpy as np
from daemon_host import CLIENTS

EXPOSURES = (1000.0, 2000.0, 4000.0)


def assert_bracketed(frames: list[dict]) -> None:
    assert all(frame is not None for frame in frames), frames
    first = frames[0]["set"]
    for i, frame in enumerate(frames):
        expected_set = (first + i) % 3
        assert (frame["set"], frame["exposure"]) == (expected_set, EXPOSURES[expected_set])
    by_set = {f["set"]: f["mean"] for f in frames}
    assert by_set[0] < by_set[1] < by_set[2]                   # longer exposure, brighter
    assert abs(by_set[1] / by_set[0] - 2) < 0.1 and abs(by_set[2] / by_set[1] - 2) < 0.1


def test_pylon_exposure_bracketing(fresh_daemon):
    report = fresh_daemon.client_json("pylon_sequencer.py", timeout=120)
    assert len(report["frames"]) >= 8 and report["frames"][0]["set"] == 0
    assert_bracketed(report["frames"])


def test_aravis_exposure_bracketing(fresh_daemon):
    fresh_daemon.harness().image(np.full((64, 64), 0.3, np.float32))
    result = fresh_daemon.run(["/usr/bin/python3", str(CLIENTS / "aravis_sequencer.py")],
                              network_namespace=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert_bracketed(report["frames"])


def test_pylon_saves_the_sequencer_sets_and_loads_them_back(fresh_daemon, tmp_path):
    """pylon exports the sets when configuration mode is on (a [SEQUENCE_STEP] block per
    set); spoilt and loaded back, they bracket as before."""
    saved = tmp_path / "sequence.pfs"
    report = fresh_daemon.client_json("pylon_sequencer.py", "persist", str(saved),
                                      timeout=120)
    assert_bracketed(report["frames"])
    assert saved.read_text().count("SequencerTriggerSource") >= 3
