"""The pytest plugin as a user's suite uses it (u3v_sim/pytest_plugin.py): ``u3v_camera``
puts every camera back after each test, also after a test that reset the camera, heated it,
changed its start-up user set or failed half-way."""

from __future__ import annotations

import subprocess
import sys

USER_SUITE = '''
def test_a_reset_at_the_end(u3v_camera):
    u3v_camera.set("Width", 2048)
    u3v_camera.temperature(31)
    u3v_camera.fault("busy", count=None)
    u3v_camera.drive_line("Line3", level=True)
    u3v_camera.set("UserSetSelector", "UserSet1")
    u3v_camera.execute("UserSetSave")
    u3v_camera.set("UserSetDefault", "UserSet1")
    u3v_camera.reset()


def test_a_failure_with_the_cable_out(u3v_camera, u3v_daemon):
    u3v_daemon.harness("40000002").set("Width", 1024)
    u3v_camera.unplug()
    assert False, "fails on purpose"


def test_the_next_ones_start_clean(u3v_camera, u3v_daemon):
    assert u3v_camera.get("Width") == 4096
    assert u3v_camera.get("TemperatureState") == "Ok"
    assert u3v_camera.get("UserSetDefault") == "Default"
    assert u3v_camera.faults() == []
    assert u3v_camera.get("LineStatus", selector="Line3") is False
    assert u3v_daemon.harness("40000002").get("Width") == 4096
'''


def test_the_camera_fixture_restores_every_camera(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nu3v_serials = 40000001 40000002\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "1 failed, 2 passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
    assert "fails on purpose" in result.stdout
