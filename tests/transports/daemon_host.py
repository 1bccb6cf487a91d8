"""A real daemon (``u3v-sim serve``) for the client tests: unmodified programs reach it through
umockdev exactly as a user's would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from u3v_sim.pytest_plugin import DaemonProcess


CLIENTS = Path(__file__).parent / "clients"
REPO = Path(__file__).resolve().parents[2]


class Daemon(DaemonProcess):
    """The plugin's daemon process, with its output kept for the test to read, and the
    clients' ways in."""

    def __init__(self, runtime: Path, serials: tuple[str, ...], state_dir: Path,
                 settings: str = "", camera_settings: str = ""):
        super().__init__(serials, runtime, state_dir, settings=settings,
                         camera_settings=camera_settings, stdout=subprocess.PIPE,
                         start_new_session=False, start_timeout_s=30)

    def run(self, args: list[str], *, network_namespace: bool = False, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run a client under the testbed (Aravis inside a namespace with only loopback)."""
        if network_namespace:
            args = ["unshare", "-n", *args]
        result = subprocess.run(args, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result

    def client_json(self, script: str, *args: str, **kwargs) -> dict:
        out = self.run([sys.executable, str(CLIENTS / script), *args], **kwargs).stdout
        return json.loads(out.strip().splitlines()[-1])

    def aravis_grab(self, *args: str) -> dict:
        result = self.run(["/usr/bin/python3", str(REPO / "scripts" / "aravis_grab.py"), *args],
                          network_namespace=True, check=False)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def control(self, request: dict) -> dict:
        """One raw request object on the daemon's control socket, its JSON reply."""
        return self.harness().request(request)

    def status(self) -> list[dict]:
        return self.harness().status()["cameras"]

    def cli(self, *args: str) -> str:
        return self.run([sys.executable, "-m", "u3v_sim", *args]).stdout

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
