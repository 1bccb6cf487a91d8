"""The daemon's control commands against a real ``u3v-sim serve``: snapshots that never cost the
stream a frame, strict request payloads, nothing driven on an unpowered camera, daemon.json
that never names a node the camera has left, and the configured usbfs memory limit."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

import pytest
from transports.daemon_host import Daemon

from u3v_sim.harness import HarnessError


def request(daemon: Daemon, message: bytes, timeout: float = 60) -> dict:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(daemon.info["socket"])
        sock.sendall(message)
        return json.loads(sock.makefile("rb").readline())


def ask(daemon: Daemon, **fields) -> dict:
    return request(daemon, json.dumps(fields).encode() + b"\n")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    base = tmp_path_factory.mktemp("control")
    d = Daemon(base / "run", ("40012345",), base)
    yield d
    d.stop()
    _, stderr = d.process.communicate()
    # No request of these tests (deep JSON, wrong types) is a daemon error.
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr


# -- 1. snapshots render beside the stream, never in it ---------------------------------------

def test_snapshots_while_aravis_streams_cost_no_frame(daemon):
    """An Aravis full-resolution grab (8.9 MB frames at 42.7 fps) while 40 snapshots are
    asked for at once and then one after another: the camera drops no frame, the snapshots
    beyond the bound are told the daemon is busy, the others get their PNG."""
    result: dict = {}
    grab = threading.Thread(target=lambda: result.update(
        daemon.aravis_grab("--seconds", "6")))
    grab.start()
    deadline = time.monotonic() + 30
    while daemon.status()[0]["frames_sent"] < 20:  # streaming steadily
        assert grab.is_alive() and time.monotonic() < deadline, result
        time.sleep(0.1)
    before = daemon.status()[0]
    replies: list[dict] = []

    def snapshot() -> None:
        try:
            replies.append(ask(daemon, command="snapshot"))
        except OSError as error:  # (a timeout: the snapshot waited behind too many)
            replies.append({"error": repr(error)})

    flood = [threading.Thread(target=snapshot) for _ in range(40)]
    for thread in flood:
        thread.start()
    for thread in flood:
        thread.join()
    while grab.is_alive():
        snapshot()
    grab.join()
    after = daemon.status()[0]
    pngs = [r for r in replies if "png" in r]
    busy = [r for r in replies if r.get("error", "").startswith("busy")]
    dropped = {k: after[k] - before[k] for k in after if k.startswith("dropped_")}
    print(f"snapshots: {len(pngs)} PNGs, {len(busy)} busy; dropped {dropped}; grab {result}")
    assert sum(dropped.values()) == 0, (dropped, result)
    assert result["completed"] > 100 and result["failed"] == 0, result
    assert len(pngs) + len(busy) == len(replies), [r for r in replies if "png" not in r][:3]
    assert len(pngs) >= 4 and busy, (len(pngs), len(busy))


# -- 3. one strict schema for requests ---------------------------------------------------------

def test_deeply_nested_json_is_one_clear_error(daemon):
    for message in (b"[" * 5000 + b"\n", b'{"a": ' * 5000 + b"\n", b"[" * 900 + b"]" * 900 + b"\n"):
        reply = request(daemon, message)
        assert set(reply) == {"code", "error"}, reply
        assert "nested too deeply" in reply["error"] or "must be a JSON object" in reply["error"]
    assert daemon.status()[0]["plugged"]


@pytest.mark.parametrize("field, value, says", [
    ("level", "0", "line: level = '0': must be true, false, 0 or 1"),
    ("level", "false", "line: level = 'false': must be true, false, 0 or 1"),
    ("level", [0], "line: level = [0]: must be true, false, 0 or 1"),
    ("level", {}, "line: level = {}: must be true, false, 0 or 1"),
    ("level", 0.0, "line: level = 0.0: must be true, false, 0 or 1"),
    ("level", 2, "line: level = 2: must be true, false, 0 or 1"),
    ("level", None, "line: give either level or voltage (one of them)"),
    ("voltage", "2.5", "line: voltage = '2.5': must be a number (volts)"),
    ("voltage", True, "line: voltage = True: must be a number (volts)"),
    ("voltage", [2.5], "line: voltage = [2.5]: must be a number (volts)"),
])
def test_line_values_of_the_wrong_json_type_are_refused(daemon, field, value, says):
    """Nothing is coerced: "0", "false" and [0] used to drive the line high (bool()), and
    "2.5" or true (1.0 V) were accepted as voltages. The line keeps its level."""
    assert ask(daemon, command="line", line="Line3", level=False)["logic"] is False
    reply = ask(daemon, command="line", line="Line3", **{field: value})
    assert reply == {"code": "invalid_argument", "error": says}, reply
    assert "LineStatus" not in reply
    # still low: a refused request changed nothing
    assert ask(daemon, command="line", line="Line3", level=0)["logic"] is False


def test_line_values_of_the_right_type_drive_the_line(daemon):
    for level, logic in ((True, True), (0, False), (1, True), (False, False)):
        assert ask(daemon, command="line", line="Line3", level=level)["logic"] is logic
    assert ask(daemon, command="line", line="Line3", voltage=3)["logic"] is True
    assert ask(daemon, command="line", line="Line3", voltage=0.2)["logic"] is False
    # NaN and Infinity (which Python's json reads) are no voltage either
    assert request(daemon, b'{"command": "line", "line": "Line3", "voltage": NaN}\n') == {
        "code": "invalid_argument", "error": "line: voltage = nan: must be a finite number"}
    assert request(daemon, b'{"command": "line", "line": "Line3", "voltage": Infinity}\n') == {
        "code": "invalid_argument", "error": "line: voltage = inf: must be a finite number"}


@pytest.mark.parametrize("fields, says", [
    ({"command": "status", "serial": "1"}, "status: serial: is not a field of this command"),
    ({"command": "unplug", "serial": 40012345}, "unplug: serial = 40012345: must be a string"),
    ({"command": "unplug", "serial": "../x"}, "unplug: serial = '../x': must be 1 to 8"),
    ({"command": "line", "level": 1}, "line: line: is missing"),
    ({"command": "snapshot", "size": 1}, "snapshot: size: is not a field of this command"),
    ({"command": "temperature", "ambient_offset": "31"},
     "temperature: ambient_offset = '31': must be a number of °C from -40 to 100"),
    ({"command": "temperature", "ambient_offset": 1000},
     "temperature: ambient_offset = 1000: must be a number of °C from -40 to 100"),
    ({"command": "temperature"}, "temperature: ambient_offset: is missing"),
    ({"command": ["status"]}, "unknown command ['status']"),
    ({}, "unknown command None"),
])
def test_other_malformed_requests_name_the_field(daemon, fields, says):
    reply = ask(daemon, **fields)
    assert set(reply) == {"code", "error"} and reply["error"].startswith(says), reply
    assert "\n" not in reply["error"]


def test_the_temperature_command_heats_the_camera_into_its_states(daemon):
    states = [ask(daemon, command="temperature", ambient_offset=offset)
              for offset in (31, 40.5, 0)]
    assert states == [{"code": "ok", "temperature_state": s} for s in ("Critical", "Error", "Ok")]
    assert request(daemon, b'{"command": "temperature", "ambient_offset": NaN}\n') == {
        "code": "invalid_argument",
        "error": "temperature: ambient_offset = nan: must be a finite number"}
    cli = daemon.run([sys.executable, "-m", "u3v_sim", "temperature", "31"])
    assert cli.stdout == "Critical\n"
    daemon.run([sys.executable, "-m", "u3v_sim", "temperature", "0"])


# -- 4. an unplugged camera is unpowered -------------------------------------------------------

def test_an_unplugged_camera_takes_input_levels_but_nothing_that_needs_power(daemon, tmp_path):
    """The outside world acts on an unpowered camera (a level held on an input is there when
    it boots); what needs the camera running is refused as unavailable."""
    assert ask(daemon, command="unplug") == {"code": "ok"}
    try:
        assert ask(daemon, command="line", line="Line3", level=True)["logic"] is True
        refused = "camera 40012345 is unplugged (unpowered"
        assert ask(daemon, command="snapshot")["error"].startswith(refused)
        assert ask(daemon, command="feature_get", name="Width")["error"].startswith(refused)
        for args in (["feature", "get", "Width"], ["snapshot", "-o", str(tmp_path / "s.png")]):
            result = daemon.run([sys.executable, "-m", "u3v_sim", *args], check=False)
            # (exit status 4: unavailable, harness/results.py and cli.EXIT_CODES)
            assert result.returncode == 4 and f"[unavailable] {refused}" in result.stderr, result
            assert "Traceback" not in result.stderr
        assert not (tmp_path / "s.png").exists()
    finally:
        assert ask(daemon, command="replug") == {"code": "ok"}
    assert ask(daemon, command="feature_get", name="LineStatus", selector="Line3")["value"] is True
    assert ask(daemon, command="line", line="Line3", level=False)["logic"] is False
    assert "png" in ask(daemon, command="snapshot")


# -- 5. daemon.json names no node the camera has left ------------------------------------------

def test_daemon_json_never_names_a_node_the_camera_left(daemon):
    """After re-enumerations (new device numbers) daemon.json must not name the first node:
    `u3v-sim status` is where the current node is."""
    for _ in range(2):
        assert ask(daemon, command="replug") == {"code": "ok"}
    current = daemon.status()[0]
    assert current["plugged"]
    info = json.loads((daemon.runtime / "daemon.json").read_text())
    assert [c["serial"] for c in info["cameras"]] == ["40012345"]
    for entry in info["cameras"]:
        assert entry.get("devnode", current["devnode"]) == current["devnode"], (entry, current)


def test_open_subscriptions_never_leave_commands_busy(daemon):
    """Subscriptions have a bound of their own (32): the 33rd is told so, and commands are
    answered all the while."""
    socks = []
    try:
        for _ in range(32):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(10)
            sock.connect(daemon.info["socket"])
            sock.sendall(b'{"command": "subscribe"}\n')
            assert json.loads(sock.makefile("rb").readline())["code"] == "ok"
            socks.append(sock)
        assert ask(daemon, command="subscribe") == {
            "code": "busy", "error": "busy: 32 subscriptions are open"}
        assert ask(daemon, command="status")["code"] == "ok"
    finally:
        for sock in socks:
            sock.close()
    time.sleep(0.5)
    assert ask(daemon, command="status")["observers"]["subscribers"] == 0


def test_features_lists_the_running_cameras_values(daemon):
    assert ask(daemon, command="feature_set", name="Width", value=2048)["value"] == 2048
    try:
        out = daemon.run([sys.executable, "-m", "u3v_sim", "features", "--category",
                          "ImageFormatControl"]).stdout
        width = next(line for line in out.splitlines() if " Width " in line)
        assert width.split()[-1] == "2048", width
    finally:
        ask(daemon, command="feature_set", name="Width", value=4096)


# -- 7. the harness's plug actions void what the daemon had scheduled --------------------------

def plug_state(daemon: Daemon) -> str:
    camera = daemon.status()[0]
    return ("reenumerating" if camera["reenumerating"] else
            "plugged" if camera["plugged"] else "unplugged")


def wait_for(condition, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_harness_replug_cancels_the_replug_an_injected_disconnect_had_pending(daemon):
    harness = daemon.harness()
    with harness:
        observed = harness.subscribe()
        harness.fault("disconnect", replug_ms=1500)
        wait_for(lambda: plug_state(daemon) == "unplugged")
        harness.replug()
        harness.set("Width", 512)
        time.sleep(2.5)                            # past the disconnect's own replug
        assert harness.get("Width") == 512         # no second power cycle
        assert plug_state(daemon) == "plugged"
        harness.close()
        plugs = [o["plugged"] for o in observed if o["event"] == "plug"]
    assert plugs == [False, True]
    harness.set("Width", 4096)


def test_an_unplug_during_a_reset_s_re_enumeration_leaves_the_camera_unplugged(daemon):
    harness = daemon.harness()
    harness.execute("DeviceReset")                  # as a host does: re-enumerates later
    harness.unplug()
    time.sleep(2.5)                                 # past the reset's return to the bus
    assert plug_state(daemon) == "unplugged"
    assert daemon.status()[0]["devnode"] is None
    harness.replug()
    assert plug_state(daemon) == "plugged" and harness.get("Width") == 4096


# -- 8. the CLI: one coded line per refusal, negative numbers, hex parameters -----------------

def cli(daemon: Daemon, *args: str):
    return daemon.run([sys.executable, "-m", "u3v_sim", *args], check=False)


def test_cli_refusals_carry_their_code_and_exit_status(daemon, tmp_path):
    for args in (["events", "--serial", "999"], ["features", "--serial", "999"]):
        result = cli(daemon, *args)
        assert (result.returncode, result.stderr.strip()) == (
            6, "Error: [no_such_camera] no camera with serial 999"), result
    result = cli(daemon, "snapshot", "-o", str(tmp_path / "no" / "such" / "dir.png"))
    assert result.returncode == 2 and "[invalid_argument]" in result.stderr, result
    # Negative numbers are values, not options.
    result = cli(daemon, "feature", "set", "ExposureTime", "-1")
    assert result.returncode == 3 and "[refused INVALID_PARAMETER]" in result.stderr, result
    result = cli(daemon, "line", "Line3", "-5V")
    assert result.returncode == 3 and "-5.0 V refused" in result.stderr, result
    assert cli(daemon, "temperature", "-10").stdout.strip() == "Ok"
    assert cli(daemon, "temperature", "0").returncode == 0
    # GenCP statuses in hex, as they are written.
    result = cli(daemon, "fault", "add", "status", "--param", "status=0x8006")
    assert result.returncode == 0, result
    assert cli(daemon, "fault", "clear").returncode == 0


def test_events_into_a_pipe_that_closes_exit_quietly(daemon):
    """`u3v-sim events | head -1`: once head is gone, events ends at its next line, quietly."""
    reader, writer = os.pipe()
    events = subprocess.Popen([sys.executable, "-m", "u3v_sim", "events"], env=daemon.env,
                              stdout=writer, stderr=subprocess.PIPE, text=True)
    os.close(writer)
    harness = daemon.harness()
    with os.fdopen(reader, "rb") as head:
        while not select.select([head], [], [], 0.1)[0]:
            harness.set("Width", 2048)              # (something to observe)
        assert head.readline()
    deadline = time.monotonic() + 30
    while events.poll() is None and time.monotonic() < deadline:
        harness.set("Width", 2048)                  # observations: events writes, and learns
        harness.set("Width", 4096)
        time.sleep(0.05)
    assert events.wait(5) == 0
    assert events.stderr.read() == ""


def test_images_of_integer_types_without_a_full_scale_are_refused(daemon):
    np = pytest.importorskip("numpy")
    harness = daemon.harness()
    with pytest.raises(HarnessError) as refused:
        harness.image(np.full((100, 100), 255))             # int64: 255 of what?
    assert refused.value.code == "invalid_argument"
    assert "int64 pixels: give uint8 (0-255), uint16 (0-65535) or floats" in refused.value.message
    with pytest.raises(HarnessError, match="NaN or infinite pixels"):
        harness.image(np.full((100, 100), np.nan))
    assert harness.image(np.full((100, 100), 255, np.uint8))["source"]
    harness.image(None)


def test_a_subscription_made_after_a_reply_never_starts_with_that_command(daemon):
    """A command's observations are published before its reply: a subscription made after
    it starts with what happens next (a test never sees the last one's teardown)."""
    harness = daemon.harness()
    for i in range(40):
        harness.execute("UserSetLoad")
        with harness:
            observed = harness.subscribe()
            harness.drive_line("Line3", level=i % 2 == 0)
            first = next(observed)
        assert first["event"] == "line_edge", first
    harness.drive_line("Line3", level=False)


def test_a_reset_answers_unavailable_if_the_camera_is_unplugged_before_it_is_back(daemon):
    harness = daemon.harness()
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(
        error=pytest.raises(HarnessError, harness.reset).value))
    thread.start()
    time.sleep(0.1)
    harness.unplug()
    thread.join(15)
    assert outcome["error"].code == "unavailable" and "unplugged" in outcome["error"].message
    harness.replug()


def test_a_key_given_twice_is_refused(daemon):
    reply = request(daemon, b'{"command": "status", "command": "reset"}\n')
    assert reply == {"code": "invalid_argument",
                     "error": "request has the key 'command' more than once"}
