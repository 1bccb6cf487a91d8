from click.testing import CliRunner

from u3v_features import build_xml
from u3v_sim.cli import main


def test_info_prints_identity_and_image_settings():
    result = CliRunner().invoke(main, ["info", "--serial", "40012345"])
    assert result.exit_code == 0, result.output
    assert "Basler acA4096-40um  serial 40012345  GUID 267602628A39" in result.output
    assert "4096x2168 Mono8, PayloadSize 8880128 B, 42.70 fps" in result.output


def test_xml_prints_the_served_description():
    result = CliRunner().invoke(main, ["xml"])
    assert result.exit_code == 0
    assert result.stdout_bytes == build_xml()


def test_features_lists_values():
    result = CliRunner().invoke(main, ["features", "--category", "ImageFormatControl"])
    assert result.exit_code == 0
    assert any(line.split()[1:3] == ["Width", "Integer"] and line.split()[-1] == "4096"
               for line in result.output.splitlines())
    assert "AcquisitionMode" not in result.output


def test_line_value_that_is_neither_level_nor_voltage_is_one_clear_error():
    for value in ("abcV", "nanV", "2"):
        result = CliRunner().invoke(main, ["line", "Line1", value])
        assert result.exit_code == 2, (value, result.output)
        assert f"Invalid value for VALUE: '{value}': a level (0/1/high/low) or a voltage" \
            in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
