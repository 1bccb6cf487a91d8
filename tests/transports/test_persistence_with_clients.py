"""Saved camera settings through pylon's FeaturePersistence (pylon Viewer's Save/Load
Features): the file names the camera as a real ace USB's does, and a Save, Load, Save round
trip with validation restores every value pylon saved."""

from __future__ import annotations

HEADER = ("# Device = Basler::UsbCameraParams -- Basler USB3Vision camera interface -- "
          "Device version = 1.0.0 -- Product GUID = 5a809e15-f447-480f-a21f-0fb7256b8400 -- "
          "Product version GUID = ")


def settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_pylon_save_then_load_restores_every_saved_value(fresh_daemon, tmp_path):
    report = fresh_daemon.client_json("pylon_persistence.py", "roundtrip", str(tmp_path),
                                      timeout=120)
    saved, defaults, restored = (report[k] for k in ("a", "defaults", "b"))
    assert saved.splitlines()[2].startswith(HEADER)
    assert settings(restored) == settings(saved)
    names = {line.split("\t")[0] for line in settings(saved)}
    differing = {line.split("\t")[0] for line in set(settings(saved)) - set(settings(defaults))}
    # Every change the client made is in the file (a setting pylon does not save would be lost
    # by every user's Save/Load), and came back.
    assert set(report["changed"]) <= differing
    assert len(names) > 50
    # What real ace USB files leave out: the device's name, and the user outputs one by one.
    assert "DeviceUserID" not in names and "UserOutputValue" not in names
