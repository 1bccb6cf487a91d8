"""A real daemon (``u3v-sim serve``) for the client tests: unmodified programs reach it through
umockdev exactly as a user's would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from u3v_sim.harness import Harness


CLIENTS = Path(__file__).parent / "clients"
REPO = Path(__file__).resolve().parents[2]


class Daemon:
    def __init__(self, runtime: Path, serials: tuple[str, ...], state_dir: Path,
                 settings: str = "", camera_settings: str = ""):
        self.runtime = runtime
        config = state_dir / "config.toml"
        config.write_text(f'state_dir = "{state_dir}"\n{settings}' + "".join(
            f'[[camera]]\nserial = "{s}"\n{camera_settings}' for s in serials))
        env = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(runtime))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "u3v_sim", "serve", "--config", str(config),
             "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        deadline = time.monotonic() + 30
        while (info := self._own_info()) is None:  # (a killed daemon's file may be there)
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daemon did not start: {self.process.communicate()}")
            time.sleep(0.05)
        self.info = info
        self.env = dict(os.environ, UMOCKDEV_DIR=self.info["umockdev_dir"],
                        LD_PRELOAD=self.info["ld_preload"], U3V_SIM_RUNTIME_DIR=str(runtime))

    def _own_info(self) -> dict | None:
        try:
            info = json.loads((self.runtime / "daemon.json").read_text())
        except (OSError, ValueError):
            return None
        return info if info.get("pid") == self.process.pid else None

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

    def harness(self, serial: str | None = None) -> Harness:
        """The harness's Python API on this daemon (the one client every adapter uses)."""
        return Harness(self.info["socket"], serial)

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
