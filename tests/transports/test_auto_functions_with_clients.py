"""Basler's auto-function flow through pypylon: ExposureAuto Once ends Off at the target, and
Continuous holds the target while the harness makes the scene darker and brighter."""

from __future__ import annotations

TARGET, TOLERANCE = 0.3, 0.03


def test_pylon_auto_exposure_once_then_continuous(fresh_daemon):
    report = fresh_daemon.client_json("pylon_auto.py", timeout=180)
    assert report["once_frames"] < 100                   # the sample's give-up point
    assert abs(report["after_once"] - TARGET) < TOLERANCE, report
    exposures = []
    for phase in report["continuous"]:
        assert phase["mode"] == "Continuous"
        assert all(abs(m - TARGET) < TOLERANCE for m in phase["last"]), phase
        exposures.append(phase["exposure"])
    dark, bright, darker = exposures                    # scenes 0.05, 0.5, 0.02
    assert bright < dark < darker
