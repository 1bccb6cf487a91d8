"""Daemon configuration: embedded defaults, optionally a TOML file naming several cameras.

```toml
state_dir = "~/.local/state/u3v-sim"   # user sets, per camera serial
stress = false                          # lift sensor-readout and link ceilings
direct_memory = true                    # move URB data with process_vm_readv/writev
[[camera]]
serial = "40012345"
user_id = "left"
image_source = "/data/frames"           # file or folder; default: synthetic scene
noise = true
[camera.features]
Width = 2048
PixelFormat = "Mono12p"
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_SERIAL = "40000001"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class CameraConfig:
    serial: str = DEFAULT_SERIAL
    user_id: str = ""
    image_source: str | None = None
    noise: bool = True
    features: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DaemonConfig:
    cameras: tuple[CameraConfig, ...] = (CameraConfig(),)
    state_dir: Path | None = None
    stress: bool = False
    # Copy URB data straight to and from client memory where the system permits it (same user
    # or CAP_SYS_PTRACE); otherwise, or when off, through umockdev's socket.
    direct_memory: bool = True

    def with_serials(self, serials: tuple[str, ...]) -> "DaemonConfig":
        if not serials:
            return self
        return replace(self, cameras=tuple(CameraConfig(serial=s) for s in serials))


_CAMERA_KEYS = {"serial", "user_id", "image_source", "noise", "features"}
_TOP_KEYS = {"camera", "state_dir", "stress", "direct_memory"}


def load(path: Path | None) -> DaemonConfig:
    if path is None:
        return DaemonConfig()
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    cameras = []
    for index, entry in enumerate(data.get("camera", [{}])):
        unknown = set(entry) - _CAMERA_KEYS
        if unknown:
            raise ConfigError(f"{path}: camera {index + 1}: unknown key(s) "
                              f"{', '.join(sorted(unknown))}")
        serial = str(entry.get("serial", DEFAULT_SERIAL))
        if not serial.isdigit() or len(serial) > 8:
            raise ConfigError(f"{path}: camera {index + 1}: serial must be up to 8 digits")
        cameras.append(CameraConfig(serial=serial, user_id=str(entry.get("user_id", "")),
                                    image_source=entry.get("image_source"),
                                    noise=bool(entry.get("noise", True)),
                                    features=dict(entry.get("features", {}))))
    serials = [c.serial for c in cameras]
    if len(set(serials)) != len(serials):
        raise ConfigError(f"{path}: camera serials must be distinct")
    state_dir = data.get("state_dir")
    return DaemonConfig(tuple(cameras), Path(state_dir).expanduser() if state_dir else None,
                        bool(data.get("stress", False)), bool(data.get("direct_memory", True)))
