import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
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


# -- u3v-sim run: a command's lifetime, as a shell runs it -------------------------------------

def _run(tmp_path, *command: str) -> subprocess.Popen:
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(tmp_path / "run"), TMPDIR=str(scratch))
    return subprocess.Popen([sys.executable, "-m", "u3v_sim", "run", "--serial", "40012345",
                             "--", *command], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _daemon_gone(tmp_path) -> None:
    """The daemon `run` started has stopped and removed its files and testbed."""
    deadline = time.monotonic() + 5
    while sorted(os.listdir(tmp_path / "run")) != ["daemon.lock"] \
            or list((tmp_path / "tmp").iterdir()):
        assert time.monotonic() < deadline, (os.listdir(tmp_path / "run"),
                                             list((tmp_path / "tmp").iterdir()))
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_run_passes_a_signal_on_and_stops_its_daemon(tmp_path, signum):
    """`timeout N u3v-sim run -- CMD` in CI: the signal reaches CMD, the daemon `run` started
    stops, and `run` exits 128 + the signal's number (it used to die at once, leaving the
    daemon and CMD running)."""
    marker = tmp_path / "cmd.pid"
    run = _run(tmp_path, "sh", "-c", f'echo $$ > {marker}; exec sleep 60')
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() or not marker.read_text().strip():
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        command = int(marker.read_text())
        daemon = json.loads((tmp_path / "run" / "daemon.json").read_text())["pid"]
        assert _alive(command) and _alive(daemon)
        started = time.monotonic()
        run.send_signal(signum)
        _, stderr = run.communicate(timeout=15)
        assert run.returncode == 128 + signum, stderr
        assert time.monotonic() - started < 5
        assert not _alive(command) and not _alive(daemon)
        assert "Traceback" not in stderr
        _daemon_gone(tmp_path)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


@pytest.mark.parametrize("command, code, says", [
    (["/nonexistent"], 127, "Error: /nonexistent: No such file or directory"),
    (["{tmp}/not-executable"], 126, "Error: {tmp}/not-executable: Permission denied"),
    (["sh", "-c", "kill -SEGV $$"], 128 + signal.SIGSEGV, None),
    (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM, None),
    (["sh", "-c", "exit 3"], 3, None),
])
def test_run_exits_as_a_shell_would(tmp_path, command, code, says):
    (tmp_path / "not-executable").write_text("#!/bin/sh\n")
    run = _run(tmp_path, *(c.replace("{tmp}", str(tmp_path)) for c in command))
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == code, stderr
    if says:
        assert stderr.splitlines() == [says.replace("{tmp}", str(tmp_path))]
    assert "Traceback" not in stderr
    _daemon_gone(tmp_path)


COUNT_SIGINTS = """
import signal, sys, time
from pathlib import Path
got = []
signal.signal(signal.SIGINT, lambda *_: got.append(1))
Path(sys.argv[1]).write_text("ready")
while not got:
    time.sleep(0.01)
time.sleep(1.0)
Path(sys.argv[1]).write_text(str(len(got)))
"""


def test_ctrl_c_in_a_terminal_reaches_the_command_once(tmp_path):
    """The terminal sends Ctrl-C's SIGINT to its whole foreground process group, the command
    included: `run` must not send it a second one (a second Ctrl-C often means "abort the
    clean-up")."""
    import fcntl
    import termios
    master, slave = os.openpty()
    marker = tmp_path / "count"

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(tmp_path / "run"), TMPDIR=str(scratch))
    run = subprocess.Popen([sys.executable, "-m", "u3v_sim", "run", "--serial", "40012345", "--",
                            sys.executable, "-c", COUNT_SIGINTS, str(marker)], env=env,
                           stdin=slave, stdout=slave, stderr=slave,
                           preexec_fn=controlling_terminal)  # noqa: PLW1509
    os.close(slave)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.write(master, b"\x03")
        assert run.wait(timeout=15) == 128 + signal.SIGINT
        assert marker.read_text() == "1"
        _daemon_gone(tmp_path)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        os.close(master)
