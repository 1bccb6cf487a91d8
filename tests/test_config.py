"""The daemon's TOML configuration: what a user writes, and one clear error for each mistake,
before anything starts (checked in-process for the schema, and through the real CLI)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from u3v_sim.config import DEFAULT_SERIAL, ConfigError, DaemonConfig, load

TESTS = Path(__file__).parent


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
image_source = "~/frames"
[camera.features]
Width = 2048
PixelFormat = "Mono12p"
ExposureTime = 1e4
ReverseX = true
[[camera]]
serial = 40012346
"""))
    left, right = config.cameras
    assert (left.serial, left.user_id, left.noise) == ("40012345", "left", False)
    # values keep their TOML type and their order (features are written in this order)
    assert list(left.features.items()) == [("Width", 2048), ("PixelFormat", "Mono12p"),
                                           ("ExposureTime", 1e4), ("ReverseX", True)]
    assert type(left.features["Width"]) is int and type(left.features["ReverseX"]) is bool
    assert left.image_source == str(Path("~/frames").expanduser())
    assert right.serial == "40012346" and right.features == {}  # a TOML integer serial
    assert config.state_dir == Path("~/u3v-state").expanduser()
    assert config.stress is True and config.direct_memory is False
    # --serial on the command line replaces the cameras and keeps every other setting
    replaced = config.with_serials(("1", "2"))
    assert [c.serial for c in replaced.cameras] == ["1", "2"]
    assert replaced.direct_memory is False and replaced.stress is True


def test_relative_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    """Not to the daemon's working directory (a test config once created ./relative/ in the
    repository): relative to the directory the config file is in."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load(write(tmp_path / "conf", 'state_dir = "state"\n[[camera]]\n'
                                           'image_source = "frames/x.png"\n'))
    assert config.state_dir == tmp_path / "conf" / "state"
    assert config.cameras[0].image_source == str(tmp_path / "conf" / "frames" / "x.png")
    # also for a config file named relatively
    config = load(Path("..") / "conf" / "u3v-sim.toml")
    assert config.state_dir.resolve() == tmp_path / "conf" / "state"
    assert config.state_dir.is_absolute()
    # ~ and absolute paths stay what they say
    config = load(write(tmp_path / "conf", f'state_dir = "~/s"\n[[camera]]\n'
                                           f'image_source = "{tmp_path}/y.png"\n'))
    assert config.state_dir == Path("~/s").expanduser()
    assert config.cameras[0].image_source == str(tmp_path / "y.png")


def test_usbfs_memory_mb(tmp_path):
    assert load(None).usbfs_memory_mb == 16  # the Linux kernel's default
    for value in (0, 1, 1000, 0xFFFFFFFF):
        assert load(write(tmp_path, f"usbfs_memory_mb = {value}\n")).usbfs_memory_mb == value


@pytest.mark.parametrize("text, message", [
    # booleans are TOML booleans: bool("no") would be True
    ('stress = "no"\n', "stress = 'no': must be true or false"),
    ('direct_memory = "false"\n', "direct_memory = 'false': must be true or false"),
    ('[[camera]]\nnoise = "false"\n', "camera 1: noise = 'false': must be true or false"),
    ("stress = 1\n", "stress = 1: must be true or false"),
    ("speed = 3\n", ("speed: unknown key (known: camera, state_dir, stress, direct_memory, "
                    "usbfs_memory_mb)")),
    ('[[camera]]\nserial = "1"\ncolour = 1\n', "camera 1 (serial 1): colour: unknown key"),
    ('[[camera]]\nserial = "ABC"\n', "camera 1: serial = 'ABC': must be 1 to 8 decimal digits"),
    ('[[camera]]\nserial = "../x"\n', "serial = '../x': must be 1 to 8 decimal digits"),
    ('[[camera]]\nserial = "1"\n[[camera]]\nserial = "1"\n',
     "serial 1 is given to more than one camera"),
    ('[camera]\nserial = "1"\n', "camera = {'serial': '1'}: must be an array of tables"),
    ("camera = []\n", "at least one [[camera]] is needed"),
    ('[[camera]]\n[camera.features]\nWidth = [1, 2]\n',
     "camera 1: [camera.features] Width = [1, 2]: must be a boolean, a number or a string"),
    ('state_dir = "a\\u0000b"\n', "state_dir = 'a\\x00b': must not contain a NUL"),
    ("stress = \n", "not valid TOML: Invalid value (at line 1, column 10)"),
    ('usbfs_memory_mb = "16"\n', "usbfs_memory_mb = '16': must be an integer"),
    ("usbfs_memory_mb = true\n", "usbfs_memory_mb = True: must be an integer"),
    ("usbfs_memory_mb = 1.5\n", "usbfs_memory_mb = 1.5: must be an integer"),
    ("usbfs_memory_mb = -1\n", "usbfs_memory_mb = -1: must be 0 or more"),
    ("usbfs_memory_mb = 4294967296\n", "usbfs_memory_mb = 4294967296: must be at most 4294967295"),
    ("".join(f'[[camera]]\nserial = "{n}"\n' for n in range(1, 41)),
     "camera: 40 [[camera]] tables: one daemon serves at most 32 cameras"),
])
def test_mistakes_get_a_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, text))
    assert message in str(error.value)
    assert str(error.value).startswith(str(tmp_path / "u3v-sim.toml") + ": ")
    assert "\n" not in str(error.value)


def test_several_mistakes_are_all_named_on_one_line(tmp_path):
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, 'stress = "no"\n[[camera]]\nnoise = 0\n'))
    assert "stress = 'no'" in str(error.value) and "camera 1: noise = 0" in str(error.value)


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="missing.toml: cannot be read"):
        load(tmp_path / "missing.toml")


def test_serials_from_the_command_line_are_checked():
    with pytest.raises(ConfigError, match=r"--serial: serial '\.\./x': must be 1 to 8"):
        DaemonConfig().with_serials(("../x",))
    with pytest.raises(ConfigError, match="serial 7 is given to more than one camera"):
        DaemonConfig().with_serials(("7", "7"))


def test_defaults_are_a_plain_value():
    assert DaemonConfig() == load(None)


# -- through the real CLI: each bad file stops `u3v-sim serve` with one line ------------------

def _user_sets(state: dict):
    def setup(tmp_path: Path) -> None:
        directory = tmp_path / "state" / "40012345"
        directory.mkdir(parents=True, mode=0o700)
        text = state if isinstance(state, (str, bytes)) else json.dumps(state)
        (directory / "usersets.json").write_bytes(
            text if isinstance(text, bytes) else text.encode())
    return setup


def _foreign_state_dir(tmp_path: Path) -> None:
    (tmp_path / "foreign").mkdir()
    os.chown(tmp_path / "foreign", 65534, 65534)


CAMERA = '[[camera]]\nserial = "40012345"\n'
FEATURES = CAMERA + "[camera.features]\n"
STATE = 'state_dir = "{tmp}/state"\n'
# (id, file text, what the one error line must say, set-up)
BAD_CONFIGS = [
    ("toml-syntax", "stress = \n", ["not valid TOML", "line 1"], None),
    ("toml-duplicate-key", "stress = true\nstress = false\n", ["not valid TOML"], None),
    ("not-utf8", b"stress = \xff\n", ["not UTF-8"], None),
    ("missing-file", None, ["missing.toml: cannot be read"], None),
    ("a-directory", "{tmp}", ["cannot be read"], None),
    ("dev-zero", "/dev/zero", ["/dev/zero: not a regular file"], None),
    ("huge-file", "#" * (2 << 20), ["larger than 1048576 bytes"], None),
    ("unknown-top-key", "speed = 3\n", ["speed: unknown key"], None),
    ("unknown-camera-key", CAMERA + "colour = 1\n", ["camera 1 (serial 40012345): colour"],
     None),
    ("stress-string", 'stress = "no"\n', ["stress = 'no'", "true or false"], None),
    ("direct-memory-string", 'direct_memory = "false"\n', ["direct_memory = 'false'"], None),
    ("noise-string", CAMERA + 'noise = "false"\n', ["noise = 'false'", "true or false"], None),
    ("stress-integer", "stress = 1\n", ["stress = 1", "true or false"], None),
    ("serial-letters", '[[camera]]\nserial = "ABC"\n', ["serial = 'ABC'", "decimal digits"],
     None),
    ("serial-path", '[[camera]]\nserial = "../x"\n', ["serial = '../x'", "decimal digits"],
     None),
    ("serial-too-long", '[[camera]]\nserial = "123456789"\n', ["serial = '123456789'"], None),
    ("serial-boolean", "[[camera]]\nserial = true\n", ["serial = True"], None),
    ("serial-duplicate", CAMERA + CAMERA, ["serial 40012345 is given to more than one"], None),
    ("camera-not-array", '[camera]\nserial = "1"\n', ["[[camera]]"], None),
    ("no-camera", "camera = []\n", ["at least one [[camera]]"], None),
    ("state-dir-empty", 'state_dir = ""\n', ["state_dir = ''", "must not be empty"], None),
    ("state-dir-nul", 'state_dir = "a\\u0000b"\n', ["state_dir", "NUL"], None),
    ("state-dir-is-a-file", 'state_dir = "{tmp}/file"\n', ["{tmp}/file: not a directory"],
     lambda tmp: (tmp / "file").write_text("")),
    ("state-dir-uncreatable", 'state_dir = "/proc/u3v-sim-state"\n',
     ["state_dir /proc/u3v-sim-state: cannot be created"], None),
    ("state-dir-not-ours", 'state_dir = "{tmp}/foreign"\n',
     ["state_dir {tmp}/foreign: owned by uid 65534"], _foreign_state_dir),
    ("user-id-too-long", CAMERA + f'user_id = "{"x" * 65}"\n', ["user_id", "at most 64 bytes"],
     None),
    ("image-source-missing", CAMERA + 'image_source = "{tmp}/none.png"\n',
     ["camera 40012345: image_source", "no such file"], None),
    # relative to the config file's directory, not to the working directory
    ("image-source-relative", CAMERA + 'image_source = "none.png"\n',
     ["camera 40012345: image_source = '{tmp}/none.png'", "no such file"], None),
    ("usbfs-memory-negative", "usbfs_memory_mb = -16\n",
     ["usbfs_memory_mb = -16: must be 0 or more"], None),
    ("image-source-not-an-image", CAMERA + 'image_source = "{tmp}/x.png"\n',
     ["camera 40012345: image_source", "cannot read image file"],
     lambda tmp: (tmp / "x.png").write_text("not a png")),
    ("features-not-a-table", CAMERA + "features = 3\n", ["features = 3: must be a table"], None),
    ("feature-value-array", FEATURES + "Width = [1, 2]\n", ["Width = [1, 2]"], None),
    ("feature-out-of-range", FEATURES + "Width = 99999\n",
     ["camera 40012345: [camera.features] Width = 99999", "above maximum 4104"], None),
    ("feature-increment", FEATURES + "Width = 2047\n", ["Width = 2047", "increment 8"], None),
    ("feature-beyond-register", FEATURES + "Width = 4294967296\n",
     ["Width = 4294967296: outside Width's range 16..4104"], None),
    ("feature-command", FEATURES + "AcquisitionStart = 1\n",
     ["AcquisitionStart = 1: AcquisitionStart is a command"], None),
    ("feature-read-only", FEATURES + "SensorWidth = 100\n", ["SensorWidth is read-only"], None),
    ("feature-unknown", FEATURES + "Widht = 100\n", ["Widht: the camera has no such feature",
                                                     "did you mean Width"], None),
    ("feature-bad-entry", FEATURES + 'PixelFormat = "RGB8"\n',
     ["PixelFormat = 'RGB8'", "one of Mono8"], None),
    ("feature-bad-boolean", FEATURES + 'ReverseX = "maybe"\n', ["ReverseX = 'maybe'"], None),
    ("feature-locked", FEATURES + "DeviceLinkThroughputLimit = 100000000\n",
     ["DeviceLinkThroughputLimit = 100000000", "not writable now"], None),
    ("feature-overwritten", FEATURES + "Width = 4104\nBinningHorizontal = 2\n",
     ["Width = 4104: a later setting changed it to 2048"], None),
    ("usersets-not-json", STATE + CAMERA, ["{tmp}/state/40012345/usersets.json: not valid JSON"],
     _user_sets('{"sets": ')),
    ("usersets-wrong-shape", STATE + CAMERA, ["usersets.json: sets"],
     _user_sets({"sets": []})),
    ("usersets-startup-refused", STATE + CAMERA,
     ["usersets.json: user set UserSet1: Width = 99999", "above maximum 4104"],
     _user_sets({"startup_set": "UserSet1", "sets": {"UserSet1": {"Width": {"": 99999}}}})),
    ("usersets-unknown-set", STATE + CAMERA, ["no user set 'Mine'"],
     _user_sets({"sets": {"Mine": {"Width": {"": 1024}}}})),
    ("serial-option", None, ["--serial", "serial '../x': must be 1 to 8"], None),
]


def _serve(tmp_path: Path, args: list[str], cwd: Path | None = None
           ) -> subprocess.CompletedProcess:
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(tmp_path / "run"), TMPDIR=str(scratch))
    return subprocess.run([sys.executable, "-m", "u3v_sim", "serve", *args], env=env,
                          capture_output=True, text=True, timeout=30, cwd=cwd)


@pytest.mark.parametrize("name, text, says, setup", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_a_bad_config_stops_serve_with_one_clear_line(tmp_path, name, text, says, setup):
    if setup is _foreign_state_dir and os.getuid() != 0:
        pytest.skip("making a directory of another user needs root")
    if setup:
        setup(tmp_path)
    config = tmp_path / "config.toml"
    args = ["--config", str(config)]
    if name == "missing-file":
        config = tmp_path / "missing.toml"
        args = ["--config", str(config)]
    elif name == "serial-option":
        args = ["--serial", "../x"]
    elif text in ("{tmp}", "/dev/zero"):
        args = ["--config", text.format(tmp=tmp_path)]
    elif isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text.replace("{tmp}", str(tmp_path)))
    started = time.monotonic()
    result = _serve(tmp_path, args, cwd=tmp_path / "tmp")
    assert time.monotonic() - started < 10
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    if name == "serial-option":  # a command-line option: click's usage message, one Error line
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.stderr
    else:  # a config file: nothing but one line
        errors = result.stderr.splitlines()
        assert len(errors) == 1 and errors[0].startswith("Error: "), result.stderr
    for part in says:
        assert part.replace("{tmp}", str(tmp_path)) in errors[0], result.stderr
    assert "ready" not in result.stdout
    # nothing started: no daemon files, no umockdev testbed left behind
    assert not (tmp_path / "run" / "daemon.json").exists()
    assert not list((tmp_path / "tmp").iterdir())


def test_there_are_at_least_29_bad_files():
    assert len(BAD_CONFIGS) >= 29


# -- and a good one reaches the camera: a pyusb client sees the configured Width ----------------

def test_configured_features_reach_a_real_client(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "{tmp_path}/state"\n' + FEATURES
                      + 'Width = "2048"\nHeight = 64\nPixelFormat = "Mono8"\n')
    runtime = tmp_path / "run"
    env = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(runtime))
    daemon = subprocess.Popen([sys.executable, "-m", "u3v_sim", "serve", "--config", str(config),
                               "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (runtime / "daemon.json").exists():
            assert daemon.poll() is None and time.monotonic() < deadline, daemon.communicate()
            time.sleep(0.05)
        info = json.loads((runtime / "daemon.json").read_text())
        client_env = dict(os.environ, UMOCKDEV_DIR=info["umockdev_dir"],
                          LD_PRELOAD=info["ld_preload"])
        result = subprocess.run(
            [sys.executable, str(TESTS / "transports" / "clients" / "pyusb_u3v.py"), "grab", "1"],
            env=client_env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        frame = json.loads(result.stdout.strip().splitlines()[-1])["frames"][0]
        assert (frame["width"], frame["height"], frame["bytes"]) == (2048, 64, 2048 * 64)
        assert (tmp_path / "state" / "40012345").stat().st_mode & 0o777 == 0o700
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


# -- usbfs_memory_mb reaches the device node: raw ioctls see its limit ---------------------------

USBFS_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from usbfs_raw import EP_STREAM, Buffer, Node, Urb, name
from u3v_sim.transports import usbfs
node = Node()
for interface in (0, 2):
    assert node.claim(interface) == 0
report = {}
for mib in (2, 0.5):
    urb = Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(int(mib * (1 << 20))))
    report[str(mib)] = name(node.submit(urb))
    if report[str(mib)] == "ok":
        node.ioctl(usbfs.DISCARDURB, urb.address)
        node.reap_wait()
print(json.dumps(report))
"""


def test_usbfs_memory_mb_limits_the_urbs_a_client_submits(tmp_path):
    """usbfs_memory_mb = 1: a 2 MiB URB is refused with ENOMEM as devio.c refuses it (the
    default 16 would take it), a 512 KiB one is taken; status --json shows the limit."""
    from transports.daemon_host import CLIENTS, Daemon
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path, "usbfs_memory_mb = 1\n")
    try:
        result = daemon.run([sys.executable, "-c", USBFS_PROBE, str(CLIENTS)])
        assert json.loads(result.stdout) == {"2": "ENOMEM", "0.5": "ok"}, result
        status = json.loads(daemon.cli("status", "--json"))
        memory = status["cameras"][0]["usbfs_memory"]
        assert memory["limit"] == 1 << 20 and memory["refused"] >= 1, memory
    finally:
        daemon.stop()


def test_more_cameras_on_the_command_line_than_a_daemon_serves_is_one_clear_error():
    with pytest.raises(ConfigError) as error:
        DaemonConfig().with_serials(tuple(str(40000000 + n) for n in range(33)))
    assert str(error.value) == "--serial: 33 cameras: one daemon serves at most 32"
