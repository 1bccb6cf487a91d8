"""Saved camera settings through pylon's FeaturePersistence (pylon Viewer's Save/Load
Features): the file names the camera as a real ace USB's does, and a Save, Load, Save round
trip with validation restores every value pylon saved."""

from __future__ import annotations

from pathlib import Path

from u3v_features.acA4096_40um import BY_NAME, FEATURES

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


DATA = Path(__file__).with_name("data")


def settings_of(text: str) -> dict[tuple[str, str | None], str]:
    """{(feature, selector entry or None): value} of a persistence file in either format:
    pylon 5's (selector lines before each selected feature) or pylon 9's
    (``Feature<TAB>{Selector=Entry}<TAB>value``)."""
    selectors = {f.selected_by for f in FEATURES if f.selected_by}
    current: dict[str, str] = {}
    out = {}
    for line in settings(text):
        name, _, rest = line.partition("\t")
        if rest.startswith("{"):
            selected, _, value = rest.partition("\t")
            out[(name, selected[1:-1].partition("=")[2])] = value
        elif name in selectors:
            current[name] = rest
        else:
            out[(name, current.get(BY_NAME[name].selected_by))] = rest
    return out


def test_pylon_loads_a_file_saved_from_a_mono_ace_usb_camera(fresh_daemon, tmp_path):
    """pylon 5's format, the values as a real camera writes them (decimals included: pylon
    verifies them as text), with every validation on; what the camera then saves is what the
    file said."""
    source = DATA / "ace_usb_mono_pylon5.pfs"
    report = fresh_daemon.client_json("pylon_persistence.py", "load", str(source),
                                      str(tmp_path), timeout=120)
    assert report["error"] is None
    expected, after = settings_of(source.read_text()), settings_of(report["after"])
    differ = {key: (value, after.get(key)) for key, value in expected.items()
              if after.get(key) != value}
    assert differ == {}
    assert len(expected) > 90


def test_pylon_file_access_keeps_user_data_and_reads_user_sets(fresh_daemon):
    report = fresh_daemon.client_json("pylon_files.py", timeout=120)
    assert report == {"opened_for_write": True, "written": 6144, "closed": True,
                      "read_back_equal": True, "user_set_width": {"": 1024},
                      "user_set_writable": False}
