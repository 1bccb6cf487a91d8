"""The daemon's TOML configuration: what a user writes, and the clear errors for mistakes."""

from pathlib import Path

import pytest

from u3v_sim.config import DEFAULT_SERIAL, ConfigError, DaemonConfig, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "u3v-sim.toml"
    path.write_text(text)
    return path


def test_no_file_means_one_default_camera():
    config = load(None)
    assert [c.serial for c in config.cameras] == [DEFAULT_SERIAL]
    assert config.stress is False and config.direct_memory is True


def test_a_full_file(tmp_path):
    config = load(write(tmp_path, """
state_dir = "~/u3v-state"
stress = true
direct_memory = false
[[camera]]
serial = "40012345"
user_id = "left"
noise = false
[camera.features]
Width = 2048
PixelFormat = "Mono12p"
[[camera]]
serial = "40012346"
"""))
    left, right = config.cameras
    assert (left.serial, left.user_id, left.noise) == ("40012345", "left", False)
    assert left.features == {"Width": 2048, "PixelFormat": "Mono12p"}
    assert right.serial == "40012346" and right.features == {}
    assert config.state_dir == Path("~/u3v-state").expanduser()
    assert config.stress is True and config.direct_memory is False
    # --serial on the command line replaces the cameras and keeps every other setting
    replaced = config.with_serials(("1", "2"))
    assert [c.serial for c in replaced.cameras] == ["1", "2"]
    assert replaced.direct_memory is False and replaced.stress is True


@pytest.mark.parametrize("text, message", [
    ("speed = 3\n", "unknown setting(s) speed"),
    ("[[camera]]\nserial = \"1\"\ncolour = 1\n", "camera 1: unknown key(s) colour"),
    ("[[camera]]\nserial = \"ABC\"\n", "serial must be up to 8 digits"),
    ("[[camera]]\nserial = \"1\"\n[[camera]]\nserial = \"1\"\n", "serials must be distinct"),
    ("stress = \n", "Invalid value"),
])
def test_mistakes_get_a_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(write(tmp_path, text))


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="missing.toml"):
        load(tmp_path / "missing.toml")


def test_defaults_are_a_plain_value():
    assert DaemonConfig() == load(None)
