"""Where a running daemon says how to reach it: a small JSON file and a control socket."""

from __future__ import annotations

import json
import os
from pathlib import Path


def runtime_dir() -> Path:
    base = os.environ.get("U3V_SIM_RUNTIME_DIR") or os.environ.get("XDG_RUNTIME_DIR") \
        or f"/tmp/u3v-sim-{os.getuid()}"
    return Path(base) / "u3v-sim" if "U3V_SIM_RUNTIME_DIR" not in os.environ else Path(base)


def info_path() -> Path:
    return runtime_dir() / "daemon.json"


def socket_path() -> Path:
    return runtime_dir() / "control.sock"


def write_info(info: dict) -> Path:
    path = info_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info, indent=1))
    os.replace(temporary, path)
    return path


def read_info() -> dict | None:
    """The running daemon's info, or None if none runs (a stale file is ignored)."""
    try:
        info = json.loads(info_path().read_text())
        os.kill(info["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    return info


def remove_info() -> None:
    info_path().unlink(missing_ok=True)
    socket_path().unlink(missing_ok=True)
