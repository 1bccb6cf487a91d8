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
