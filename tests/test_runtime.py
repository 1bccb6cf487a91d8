"""The daemon's runtime files and control socket, against a real ``u3v-sim serve`` and the CLI
as subprocesses: a private directory, trusted files only, one daemon per directory, stale
state of a killed daemon removed, a control socket that serves only its user and stays
bounded."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from transports.daemon_host import Daemon
from u3v_sim import runtime
from u3v_sim.names import check_serial

OTHER_UID = 54321  # a uid nobody on the test machine uses


def cli(runtime_dir: Path, *args: str, timeout: float = 60, **env) -> subprocess.CompletedProcess:
    environment = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(runtime_dir), **env)
    return subprocess.run([sys.executable, "-m", "u3v_sim", *args], env=environment,
                          capture_output=True, text=True, timeout=timeout)


def request(path: str | Path, message: bytes, timeout: float = 30) -> dict:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(message)
        return json.loads(sock.makefile("rb").readline())


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture
def umask_000():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """One daemon started under umask 000 (its files must be private all the same)."""
    base = tmp_path_factory.mktemp("runtime")
    old = os.umask(0)
    try:
        d = Daemon(base / "run", ("40012345",), base)
    finally:
        os.umask(old)
    yield d
    d.stop()
    _, stderr = d.process.communicate()
    # No client of these tests (early closes, floods, other users) is a daemon error.
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr


# -- 1. the runtime directory ----------------------------------------------------------------

def test_runtime_dir_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("U3V_SIM_RUNTIME_DIR", "/x/y")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert runtime.runtime_dir() == Path("/x/y")
    monkeypatch.delenv("U3V_SIM_RUNTIME_DIR")
    assert runtime.runtime_dir() == Path("/run/user/7/u3v-sim")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert runtime.runtime_dir() == Path(f"/tmp/u3v-sim-{os.getuid()}/u3v-sim")


def test_files_are_private_whatever_the_umask(daemon):
    run = daemon.runtime
    assert mode(run) == 0o700
    for name in ("daemon.json", "control.sock", "daemon.lock"):
        assert mode(run / name) == 0o600, name
        assert os.lstat(run / name).st_uid == os.geteuid()


@pytest.mark.parametrize("problem", ["mode 0755", "another user", "symlink", "a file"])
def test_a_runtime_dir_that_is_not_ours_and_private_is_refused(tmp_path, problem):
    run = tmp_path / "run"
    if problem == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        run.symlink_to(tmp_path / "elsewhere")
    elif problem == "a file":
        run.write_text("")
    else:
        run.mkdir()
        os.chmod(run, 0o755 if problem == "mode 0755" else 0o700)
        if problem == "another user":
            os.chown(run, OTHER_UID, OTHER_UID)
    before = os.lstat(run)
    for args in (["env"], ["status"], ["serve", "--serial", "40012345"]):
        result = cli(run, *args)
        assert result.returncode == 1, (args, result)
        assert "Traceback" not in result.stderr
        assert f"runtime directory {run}" in result.stderr and "not used" in result.stderr
    after = os.lstat(run)  # not "repaired": somebody else's directory stays as it is
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)
    assert not (tmp_path / "elsewhere" / "daemon.lock").exists()


def test_the_tmp_fallback_planted_by_another_user_is_refused():
    """The issue's attack: without U3V_SIM_RUNTIME_DIR and XDG_RUNTIME_DIR another user
    pre-creates /tmp/u3v-sim-<uid>/u3v-sim with a daemon.json that runs a command. Here in a
    mount namespace with its own /tmp, so the machine's /tmp is not touched."""
    run = f"/tmp/u3v-sim-{os.getuid()}/u3v-sim"
    # A checkout under /tmp (CI may clone there) stays reachable under the new /tmp.
    repo = Path(__file__).resolve().parents[1]
    keep = Path(tempfile.mkdtemp(prefix="u3v-sim-test-",
                                 dir="/dev/shm" if os.path.isdir("/dev/shm") else "/var/tmp"))
    reach_repo = ""
    if repo.is_relative_to("/tmp"):
        reach_repo = (f"mkdir -p {repo}\n"
                      f"mount --bind {keep / repo.relative_to('/tmp')} {repo}")
    script = f"""
set -e
mount --bind /tmp {keep}
mount -t tmpfs tmpfs /tmp
{reach_repo}
mkdir -p {run}
printf '{{"pid": 1, "umockdev_dir": "$(touch /tmp/planted-ran)", "ld_preload": "/tmp/e.so"}}' \\
    > {run}/daemon.json
chown -R {OTHER_UID}:{OTHER_UID} /tmp/u3v-sim-{os.getuid()}
chmod -R 777 /tmp/u3v-sim-{os.getuid()}
out=$({sys.executable} -m u3v_sim env) || echo "env refused"
eval $out
{sys.executable} -m u3v_sim serve --serial 40012345 || echo "serve refused"
test -e /tmp/planted-ran && echo "PLANTED COMMAND RAN"
stat -c '%u %a' /tmp/u3v-sim-{os.getuid()} {run}
"""
    env = {k: v for k, v in os.environ.items()
           if k not in ("U3V_SIM_RUNTIME_DIR", "XDG_RUNTIME_DIR")}
    try:
        result = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env,
                                capture_output=True, text=True, timeout=60)
    finally:
        keep.rmdir()
    assert "env refused" in result.stdout and "serve refused" in result.stdout, result
    assert "PLANTED COMMAND RAN" not in result.stdout
    assert result.stdout.splitlines()[-2:] == [f"{OTHER_UID} 777"] * 2  # left as found
    assert result.stderr.count(f"runtime directory /tmp/u3v-sim-{os.getuid()} belongs to "
                               f"uid {OTHER_UID}, not to you") == 2, result.stderr
    assert "Traceback" not in result.stderr


# -- 2. what clients trust -------------------------------------------------------------------

def test_env_values_are_quoted_for_the_shell(tmp_path, monkeypatch):
    """A testbed path with shell syntax in it (from $TMPDIR) is printed quoted: the
    documented `eval $(u3v-sim env)` sets it and runs nothing."""
    marker = tmp_path / "ran"
    tmpdir = tmp_path / f"$(touch {marker.name})"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.chdir(tmp_path)  # where an unquoted `touch ran` would leave its file
    d = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    try:
        assert d.info["umockdev_dir"].startswith(str(tmpdir) + "/umockdev.")
        printed = subprocess.run(
            ["sh", "-c", f"eval $({sys.executable} -m u3v_sim env); "
                         f"printf '%s\\n%s' \"$UMOCKDEV_DIR\" \"$LD_PRELOAD\""],
            env=d.env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert printed.stdout.splitlines() == [d.info["umockdev_dir"],
                                               "libumockdev-preload.so.0"], printed
        assert not marker.exists()
    finally:
        d.stop()


def hold_lock(run: Path, pid: int):
    """Take the runtime dir's lock as a daemon would, recording ``pid``."""
    run.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(run / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, json.dumps({"pid": pid}).encode())
    return fd


def plant(run: Path, **info) -> None:
    path = run / "daemon.json"
    path.write_text(json.dumps(info))
    os.chmod(path, 0o600)


def test_planted_daemon_json_runs_nothing(daemon, tmp_path):
    """A daemon.json naming a live u3v-sim daemon of ours but values no daemon writes: env
    and status refuse it with the reason; nothing it names is run or preloaded."""
    marker = tmp_path / "x"
    run = tmp_path / "planted"
    fd = hold_lock(run, daemon.process.pid)
    try:
        good = dict(daemon.info, socket=str(run / "control.sock"))
        cases = {
            "umockdev_dir": dict(good, umockdev_dir=f"/tmp/$(touch {marker})"),
            "ld_preload": dict(good, ld_preload="/tmp/evil.so"),
            "socket": dict(good, socket="/tmp/elsewhere.sock"),
        }
        for key, info in cases.items():
            plant(run, **info)
            env = cli(run, "env")
            assert env.returncode == 1 and env.stdout == "", (key, env)
            assert f"{run / 'daemon.json'}: {key} " in env.stderr, (key, env.stderr)
            assert "Traceback" not in env.stderr
            shell = subprocess.run(
                ["sh", "-c", f'eval $({sys.executable} -m u3v_sim env); echo "[$LD_PRELOAD]"'],
                env=dict(os.environ, U3V_SIM_RUNTIME_DIR=str(run), LD_PRELOAD=""),
                capture_output=True, text=True, timeout=60, cwd=tmp_path)
            assert shell.stdout == "[]\n", (key, shell)
            ran = cli(run, "run", "--", "true")
            assert ran.returncode == 1 and f"{key} " in ran.stderr, (key, ran)
        assert not marker.exists()
        # A daemon.json others can write is not read at all.
        plant(run, **good)
        os.chmod(run / "daemon.json", 0o622)
        result = cli(run, "env")
        assert result.returncode == 1 and "writable by others" in result.stderr
    finally:
        os.close(fd)


def test_a_pid_that_is_no_daemon_of_ours_means_no_daemon(daemon, tmp_path):
    run = tmp_path / "planted"
    other = subprocess.Popen(["sleep", "60"])
    fd = hold_lock(run, other.pid)
    try:
        plant(run, **dict(daemon.info, pid=other.pid, socket=str(run / "control.sock")))
        for args in (["status"], ["env"]):
            result = cli(run, *args)
            assert result.returncode == 1 and "no u3v-sim daemon runs" in result.stderr
            assert "Traceback" not in result.stderr
    finally:
        os.close(fd)
        other.kill()
        other.wait()


def test_run_preloads_only_umockdev(daemon):
    result = cli(daemon.runtime, "run", "--", "sh", "-c", 'echo "$LD_PRELOAD $UMOCKDEV_DIR"')
    assert result.returncode == 0, result
    assert result.stdout.split() == ["libumockdev-preload.so.0", daemon.info["umockdev_dir"]]


# -- 3, 8. the control socket ----------------------------------------------------------------

def as_other_user(socket_path: Path, message: bytes) -> dict:
    """Send ``message`` from a process of OTHER_UID; its reply (or what went wrong). The
    directory is opened before the uid changes: the test's own temporary directories are not
    open to other users, only the socket's directory is (through the open directory)."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (child)
        try:
            os.close(read)
            directory = os.open(socket_path.parent, os.O_PATH)
            os.setgroups([])
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(10)
                sock.connect(f"/proc/self/fd/{directory}/{socket_path.name}")
                try:
                    sock.sendall(message)
                except BrokenPipeError:
                    pass  # refused before it was read; the reply is there to read
                line = sock.makefile("rb").readline()
            os.write(write, line or b'{"closed": true}\n')
        except BaseException as error:  # noqa: BLE001
            os.write(write, json.dumps({"child_error": repr(error)}).encode() + b"\n")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        line = pipe.readline()
    os.waitpid(child, 0)
    return json.loads(line)


def test_control_socket_serves_only_its_user(daemon):
    """Even with the directory and socket opened up (as a loose umask once did), another
    user's process is refused by its kernel-reported uid."""
    sock = daemon.runtime / "control.sock"
    os.chmod(daemon.runtime, 0o711)
    os.chmod(sock, 0o666)
    try:
        refused_before = request(sock, b'{"command": "status"}\n')["control"]["refused_peer"]
        for message in (b'{"command": "status"}\n', b'{"command": "unplug"}\n'):
            reply = as_other_user(sock, message)
            assert reply == {"code": "refused",
                             "error": "permission denied: the daemon serves only its own user"}
        status = request(sock, b'{"command": "status"}\n')
        assert status["control"]["refused_peer"] == refused_before + 2
        assert status["cameras"][0]["plugged"]
    finally:
        os.chmod(sock, 0o600)
        os.chmod(daemon.runtime, 0o700)


def test_bad_requests_get_one_clear_error(daemon):
    sock = daemon.runtime / "control.sock"
    assert "request line longer than 65536 bytes" in request(
        sock, b"x" * 70000)["error"]
    assert "request is not JSON" in request(sock, b"{nope\n")["error"]
    assert "must be a JSON object" in request(sock, b"[1, 2]\n")["error"]
    assert request(sock, b'{"command": "fly"}\n')["error"].startswith("unknown command 'fly' (commands: ")
    assert request(sock, b'{"command": "unplug", "serial": "1"}\n') == {
        "code": "no_such_camera", "error": "no camera with serial 1"}


def test_idle_connections_are_bounded_and_timed_out(daemon):
    """2,000 connections opened at once and left idle: the daemon holds at most 64 (the
    rest are told it is busy and closed at once), drops the idle ones after 5 s, keeps its
    fds bounded and answers status afterwards."""
    sock_path = str(daemon.runtime / "control.sock")
    pid = daemon.process.pid
    before = open_fds(pid)
    started = time.monotonic()
    conns = []
    try:
        for _ in range(2000):
            s = socket.socket(socket.AF_UNIX)
            conns.append(s)
            s.connect(sock_path)  # blocking: waits while the listen backlog is full
            s.settimeout(10)
        assert time.monotonic() - started < 10
        time.sleep(0.5)
        assert open_fds(pid) <= before + 64 + 8
        replies = []
        for s in conns:
            line = s.makefile("rb").readline()  # busy at once; held ones after the timeout
            replies.append(json.loads(line)["error"])
        waited = time.monotonic() - started
    finally:
        for s in conns:
            s.close()
    busy = [r for r in replies if r.startswith("busy: 64 control connections")]
    timed_out = [r for r in replies if r == "no request line within 5 s"]
    # (64 held at once; a few more if the connects took longer than the timeout)
    assert len(busy) + len(timed_out) == 2000 and 64 <= len(timed_out) < 200
    assert 5 <= waited < 20
    status = request(sock_path, b'{"command": "status"}\n')
    assert status["cameras"][0]["serial"] == "40012345"
    time.sleep(0.2)
    assert open_fds(pid) <= before + 1


def test_no_fd_leak_per_connection(daemon):
    """500 connections of every kind (served, early close, half a line, bad JSON, reply not
    read): the daemon's open fds are the same afterwards."""
    sock_path = str(daemon.runtime / "control.sock")
    pid = daemon.process.pid
    request(sock_path, b'{"command": "status"}\n')
    before = open_fds(pid)
    for i in range(500):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(sock_path)
            kind = i % 5
            if kind == 0:
                s.sendall(b'{"command": "status"}\n')
                assert "cameras" in json.loads(s.makefile("rb").readline())
            elif kind == 1:
                pass  # closes without a word
            elif kind == 2:
                s.sendall(b'{"command": "sta')  # half a request line
            elif kind == 3:
                s.sendall(b"garbage\n")
                assert "error" in json.loads(s.makefile("rb").readline())
            else:
                s.sendall(b'{"command": "status"}\n')  # and never reads the reply
    time.sleep(0.5)
    assert open_fds(pid) <= before  # (a leak per connection: +100s)
    status = request(sock_path, b'{"command": "status"}\n')
    assert status["control"]["closed_early"] >= 200


# -- 4. snapshot -----------------------------------------------------------------------------

def test_snapshot_is_written_by_the_client(daemon, tmp_path):
    sock = daemon.runtime / "control.sock"
    reply = request(sock, b'{"command": "snapshot"}\n')
    assert base64.b64decode(reply["png"]).startswith(b"\x89PNG\r\n\x1a\n")
    target = tmp_path / "daemon-wrote-this.png"
    refused = request(sock, json.dumps({"command": "snapshot", "path": str(target)}).encode()
                      + b"\n")
    assert "snapshot takes no path" in refused["error"]
    assert not target.exists()
    out = tmp_path / "frame.png"
    result = cli(daemon.runtime, "snapshot", "-o", str(out))
    assert result.returncode == 0, result
    assert out.read_bytes().startswith(b"\x89PNG")
    missing = cli(daemon.runtime, "snapshot", "-o", str(tmp_path / "no" / "such.png"))
    # (exit status 2: invalid_argument, the path given)
    assert missing.returncode == 2 and "No such file or directory" in missing.stderr
    assert "Traceback" not in missing.stderr


# -- 5. serials ------------------------------------------------------------------------------

@pytest.mark.parametrize("serial", ["../x", "", "123456789", "4001234a", "٣", "40 12", "/etc"])
def test_a_serial_is_digits_only(serial):
    with pytest.raises(ValueError, match="serial .*: must be 1 to 8 decimal digits"):
        check_serial(serial)


def test_serials_that_pass():
    assert check_serial("40012345") == "40012345"
    assert check_serial("7") == "7"
    assert check_serial(40012345) == "40012345"
    with pytest.raises(ValueError):
        check_serial(True)


@pytest.mark.parametrize("args", [["serve", "--serial", "../x"], ["info", "--serial", "../x"],
                                  ["plug", "unplug", "--serial", "../x"],
                                  ["run", "--serial", "../x", "--", "true"]])
def test_the_cli_refuses_a_serial_that_is_no_serial(tmp_path, args):
    result = cli(tmp_path / "run", *args)
    assert result.returncode == 2, result
    assert "Invalid value for '--serial': serial '../x': must be 1 to 8 decimal digits" \
        in result.stderr
    assert not (tmp_path / "run").exists()  # refused before any daemon started


# -- 6. one daemon per directory -------------------------------------------------------------

def serve(run: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "u3v_sim", "serve", "--serial", "40012345",
                             "--log-level", "warning"],
                            env=dict(os.environ, U3V_SIM_RUNTIME_DIR=str(run)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_daemons_started_at_once_only_one_runs(tmp_path):
    run = tmp_path / "run"
    for _ in range(5):
        pair = [serve(run), serve(run)]
        wait_for(lambda: any(p.poll() is not None for p in pair))
        loser = next(p for p in pair if p.poll() is not None)
        winner = next(p for p in pair if p is not loser)
        _, err = loser.communicate()
        assert loser.returncode == 1
        assert f"a u3v-sim daemon already runs (pid {winner.pid}, runtime dir {run})" in err
        # The loser removed nothing of the winner's: it serves on.
        wait_for(lambda: (run / "daemon.json").exists())
        info = json.loads((run / "daemon.json").read_text())
        assert info["pid"] == winner.pid and winner.poll() is None
        assert request(run / "control.sock", b'{"command": "status"}\n')["pid"] == winner.pid
        winner.send_signal(signal.SIGTERM)
        winner.wait(timeout=30)
        assert winner.returncode == 0
        assert sorted(os.listdir(run)) == ["daemon.lock"]
        assert not Path(info["umockdev_dir"]).exists()


def test_stopping_removes_only_files_the_daemon_made(tmp_path):
    """Files in its place that are not the ones it created (replaced meanwhile) stay."""
    run = tmp_path / "run"
    d = Daemon(run, ("40012345",), tmp_path)
    replacement = run / "replacement"
    replacement.write_text("{}")
    os.replace(replacement, run / "daemon.json")
    d.stop()
    assert (run / "daemon.json").read_text() == "{}"
    assert not (run / "control.sock").exists()


# -- 7. what a killed daemon leaves ----------------------------------------------------------

def test_a_new_daemon_removes_a_killed_daemons_state(tmp_path):
    run = tmp_path / "run"
    old = Daemon(run, ("40012345",), tmp_path)
    old.process.kill()
    old.process.wait()
    testbed = Path(old.info["umockdev_dir"])
    assert testbed.is_dir() and (run / "daemon.json").exists() and (run / "control.sock").exists()
    # Its pid now belongs to another process: clients see no daemon, without a traceback.
    other = subprocess.Popen(["sleep", "60"])
    try:
        info = json.loads((run / "daemon.json").read_text())
        plant(run, **dict(info, pid=other.pid))
        for args in (["status"], ["env"], ["plug", "unplug"]):
            result = cli(run, *args)
            assert result.returncode == 1 and "no u3v-sim daemon runs" in result.stderr, result
            assert "Traceback" not in result.stderr
    finally:
        other.kill()
        other.wait()
    new = Daemon(run, ("40012345",), tmp_path)
    try:
        assert new.info["pid"] == new.process.pid != old.info["pid"]
        assert not testbed.exists()
        assert request(run / "control.sock", b'{"command": "status"}\n')["pid"] == new.info["pid"]
    finally:
        new.stop()
    _, err = new.process.communicate()
    assert f"removed what a dead daemon (pid {old.process.pid}) left" in err


def test_only_our_own_testbeds_are_removed(tmp_path, monkeypatch, umask_000):
    """A stale daemon.json may name anything: only a umockdev.XXXXXX directory of ours goes."""
    run = tmp_path / "run"
    monkeypatch.setenv("U3V_SIM_RUNTIME_DIR", str(run))
    ours = tmp_path / "umockdev.AbC123"
    theirs = tmp_path / "umockdev.XyZ789"
    precious = tmp_path / "precious"
    for directory in (ours, theirs, precious):
        directory.mkdir()
        (directory / "file").write_text("x")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    for named in (ours, theirs, precious):
        run.mkdir(mode=0o700, exist_ok=True)
        os.chmod(run, 0o700)
        plant(run, pid=1, umockdev_dir=str(named))
        files = runtime.DaemonFiles.claim()
        try:
            assert not (run / "daemon.json").exists()
            assert mode(run / "daemon.lock") == 0o600
            sock = files.listen()
            sock.close()
            assert mode(run / "control.sock") == 0o600
            assert mode(files.write_info({"pid": os.getpid()})) == 0o600
        finally:
            files.release()
        assert sorted(os.listdir(run)) == ["daemon.lock"]
    assert not ours.exists()
    assert (theirs / "file").exists() and (precious / "file").exists()
