"""u3v-sim's pytest plugin (installed with the package, entry point ``pytest11``): a simulated
camera for a user's own hardware-in-the-loop tests.

Fixtures:

- ``u3v_daemon`` (session): a daemon of this pytest process's own (each pytest-xdist worker has
  one: its own private runtime directory and testbed), serving the cameras of the ini option
  ``u3v_serials`` (default ``40000001``). ``.env`` is the environment that lets a subprocess
  see the cameras; ``.harness(serial)`` the harness API.
- ``u3v_camera`` (function): the first camera's ``Harness``; after the test the camera is put
  back: acquisition stopped, no faults, input lines released (low), the synthetic scene, the
  Default user set loaded.

Clients in the pytest process itself (pypylon, Aravis through GI, pyusb called from a test)
need umockdev's preload library in the process from its start. With ``u3v_inprocess = true``
in the ini file (or ``--u3v-inprocess``), the plugin re-executes pytest once with
``LD_PRELOAD`` set, starts the daemon before any test module is imported, and sets
``UMOCKDEV_DIR`` in ``os.environ`` before any client library initialises libusb. Nothing needs
exporting by hand. (Aravis also broadcasts GigE Vision discovery: run such a pytest inside
``unshare -n``.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .harness import Harness, HarnessError
from .transports import PRELOAD_LIBRARY

START_TIMEOUT_S = 60.0
_REEXEC_MARK = "U3V_SIM_PYTEST_PRELOADED"


class DaemonProcess:
    """A ``u3v-sim serve`` of its own: its runtime directory, its config, its lifetime (the
    test suite's daemon helper is one too).

    ``runtime``: where its runtime files go; ``state_dir``: where its config and user sets
    go; ``settings`` / ``camera_settings``: more TOML for the file and for each camera.
    RuntimeError (with what the daemon said) if it is not serving within ``start_timeout_s``.
    """

    def __init__(self, serials: tuple[str, ...], runtime: Path, state_dir: Path, *,
                 settings: str = "", camera_settings: str = "", stdout=subprocess.DEVNULL,
                 start_new_session: bool = True, start_timeout_s: float = START_TIMEOUT_S):
        self.runtime = runtime
        self.serials = serials
        self.directory: Path | None = None   # removed at stop (private())
        config = state_dir / "config.toml"
        config.write_text(f'state_dir = "{state_dir}"\n{settings}' + "".join(
            f'[[camera]]\nserial = "{serial}"\n{camera_settings}' for serial in serials))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "u3v_sim", "serve", "--config", str(config),
             "--log-level", "warning"],
            env=dict(os.environ, U3V_SIM_RUNTIME_DIR=str(runtime)), stdout=stdout,
            stderr=subprocess.PIPE, text=True, start_new_session=start_new_session)
        self.info = self._wait_ready(start_timeout_s)
        self.env = dict(os.environ, UMOCKDEV_DIR=self.info["umockdev_dir"],
                        LD_PRELOAD=PRELOAD_LIBRARY, U3V_SIM_RUNTIME_DIR=str(runtime))

    @classmethod
    def private(cls, serials: tuple[str, ...]) -> DaemonProcess:
        """One in a private temporary directory (0700), removed when it stops."""
        directory = Path(tempfile.mkdtemp(prefix="u3v-sim-pytest-"))
        daemon = cls(serials, directory / "run", directory)
        daemon.directory = directory
        return daemon

    def _wait_ready(self, timeout_s: float) -> dict:
        """Its daemon.json, once it names this process (a killed daemon's file may be
        there)."""
        import json
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                info = json.loads((self.runtime / "daemon.json").read_text())
                if info.get("pid") == self.process.pid:
                    return info
            except (OSError, ValueError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"u3v-sim serve did not start: "
                                   f"{self.process.communicate()}")
            time.sleep(0.05)

    def harness(self, serial: str | None = None) -> Harness:
        return Harness(self.info["socket"], serial)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("u3v_serials", "Serials of the simulated cameras (u3v-sim)",
                  type="args", default=["40000001"])
    parser.addini("u3v_inprocess", "Clients run in the pytest process itself: preload "
                                   "umockdev (u3v-sim)", type="bool", default=False)
    parser.addoption("--u3v-inprocess", action="store_true",
                     help="u3v-sim: clients run in the pytest process (preload umockdev)")


def _inprocess(config: pytest.Config) -> bool:
    return bool(config.getoption("u3v_inprocess") or config.getini("u3v_inprocess"))


def pytest_configure(config: pytest.Config) -> None:
    if not _inprocess(config):
        return
    if PRELOAD_LIBRARY not in os.environ.get("LD_PRELOAD", ""):
        if os.environ.get(_REEXEC_MARK):
            raise pytest.UsageError("u3v-sim: the umockdev preload did not stay in LD_PRELOAD")
        # Once, before any test module is imported: the original stdout/stderr, not
        # pytest's capture files, for the new process.
        capture = config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=True)
        preload = " ".join(filter(None, (PRELOAD_LIBRARY, os.environ.get("LD_PRELOAD"))))
        env = dict(os.environ, LD_PRELOAD=preload, **{_REEXEC_MARK: "1"})
        args = [sys.executable, "-m", "pytest", *config.invocation_params.args]
        os.chdir(config.invocation_params.dir)
        os.execve(sys.executable, args, env)
    # The daemon now, so that UMOCKDEV_DIR is set before a test module imports a client.
    daemon = DaemonProcess.private(tuple(config.getini("u3v_serials")))
    config.stash[_DAEMON] = daemon
    os.environ["UMOCKDEV_DIR"] = daemon.info["umockdev_dir"]
    os.environ["U3V_SIM_RUNTIME_DIR"] = str(daemon.runtime)


def pytest_unconfigure(config: pytest.Config) -> None:
    daemon = config.stash.get(_DAEMON, None)
    if daemon is not None:
        daemon.stop()


_DAEMON = pytest.StashKey[DaemonProcess]()


@pytest.fixture(scope="session")
def u3v_daemon(pytestconfig: pytest.Config):
    """This pytest process's own u3v-sim daemon (see the module docstring)."""
    daemon = pytestconfig.stash.get(_DAEMON, None)
    if daemon is not None:
        yield daemon
        return
    daemon = DaemonProcess.private(tuple(pytestconfig.getini("u3v_serials")))
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def u3v_camera(u3v_daemon: DaemonProcess):
    """The first camera's harness; every camera is put back after the test, and the
    subscriptions the test opened with it are closed."""
    camera = u3v_daemon.harness(u3v_daemon.serials[0])
    yield camera
    camera.close()
    for serial in u3v_daemon.serials:
        restore(u3v_daemon.harness(serial))


def restore(camera: Harness, back_within_s: float = 5.0) -> None:
    """Plugged in and powered (a DeviceReset's re-enumeration waited out, a pulled cable put
    back), no faults, ambient temperature, acquisition stopped, inputs low, the synthetic
    scene, the Default user set loaded and chosen for start-up."""
    _wait_plugged(camera, back_within_s)
    try:
        _put_back(camera)
    except HarnessError as error:
        if error.code != "unavailable":
            raise
        _wait_plugged(camera, back_within_s)   # a reset's re-enumeration began meanwhile
        _put_back(camera)


def _wait_plugged(camera: Harness, within_s: float) -> None:
    """A DeviceReset's re-enumeration is waited out; a pulled cable is put back now (which
    also cancels a replug an injected disconnect has pending)."""
    deadline = time.monotonic() + within_s
    while True:
        state = _plug_state(camera)
        if state == "plugged":
            return
        if state == "unplugged" or time.monotonic() > deadline:
            camera.replug()
            return
        time.sleep(0.05)


def _put_back(camera: Harness) -> None:
    camera.clear_faults()
    camera.temperature(0)
    camera.execute("AcquisitionStop")
    for line in ("Line1", "Line3", "Line4"):
        try:
            camera.drive_line(line, level=False)
        except HarnessError:
            pass   # an output now: the Default user set makes it an input again
    camera.image(None)
    camera.set("UserSetDefault", "Default")
    camera.set("UserSetSelector", "Default")
    camera.execute("UserSetLoad")


def _plug_state(camera: Harness) -> str:
    cameras = camera.status()["cameras"]
    mine = next((c for c in cameras if c["serial"] == camera.serial), cameras[0])
    if mine["reenumerating"]:
        return "reenumerating"
    return "plugged" if mine["plugged"] else "unplugged"
