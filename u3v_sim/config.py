"""Daemon configuration: embedded defaults, optionally a TOML file naming several cameras.

```toml
state_dir = "~/.local/state/u3v-sim"   # user sets, per camera serial
stress = false                          # lift sensor-readout and link ceilings
direct_memory = true                    # move URB data with process_vm_readv/writev
usbfs_memory_mb = 16                    # usbfs's limit on submitted URBs (0: none)
[[camera]]
serial = "40012345"
user_id = "left"
image_source = "frames"                 # file or folder; default: synthetic scene
noise = true
[camera.features]
Width = 2048
PixelFormat = "Mono12p"
```

The file is checked whole by a strict schema (pydantic): every key known, every value of its
type (``stress = "no"`` is an error, not ``bool("no")``), serials valid and distinct. What only
the camera can judge, the ``[camera.features]`` (names, writability, ranges) and the state
directory, the daemon checks when it builds each camera, before any camera is on the bus.
Every mistake is one ``ConfigError`` line naming the file, the key, the value and why.

Paths (``state_dir``, ``image_source``) may start with ``~``; a relative one is relative to the
directory of the config file (not to where the daemon was started).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat,
                      StrictInt, StrictStr, ValidationError)

from .names import check_serial
from .small_files import SmallFileError, read_small_text

DEFAULT_SERIAL = "40000001"
# A config file is a few hundred bytes; this refuses /dev/zero or a mistyped binary at once.
MAX_FILE_BYTES = 1 << 20
# Linux's usbcore.usbfs_memory_mb: default 16 (devio.c), a module parameter of type uint.
DEFAULT_USBFS_MEMORY_MB = 16
MAX_USBFS_MEMORY_MB = 0xFFFFFFFF
# DeviceUserID and the ABRM user-defined name are 64-byte registers.
USER_ID_BYTES = 64


class ConfigError(ValueError):
    """A configuration the daemon refuses; the message is one line for the user."""


@dataclass(frozen=True)
class CameraConfig:
    serial: str = DEFAULT_SERIAL
    user_id: str = ""
    image_source: str | None = None
    noise: bool = True
    # Initial feature values {name: value}, written in order through Camera.write_feature.
    features: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DaemonConfig:
    cameras: tuple[CameraConfig, ...] = (CameraConfig(),)
    state_dir: Path | None = None
    stress: bool = False
    # Copy URB data straight to and from client memory where the system permits it (same user
    # or CAP_SYS_PTRACE); otherwise, or when off, through umockdev's socket.
    direct_memory: bool = True
    # The usbfs limit on memory held by submitted URBs, all nodes together, in MiB (0: only
    # devio.c's hard limit), as /sys/module/usbcore/parameters/usbfs_memory_mb.
    usbfs_memory_mb: int = DEFAULT_USBFS_MEMORY_MB

    def with_serials(self, serials: tuple[str, ...]) -> "DaemonConfig":
        """The cameras replaced by default ones with these serials (``--serial``), every other
        setting kept; ConfigError for an invalid or repeated serial."""
        if not serials:
            return self
        try:
            checked = [check_serial(s) for s in serials]
        except ValueError as error:
            raise ConfigError(f"--serial: {error}") from None
        _check_distinct(checked, "--serial")
        if len(checked) > MAX_CAMERAS:
            raise ConfigError(f"--serial: {len(checked)} cameras: one daemon serves at most "
                              f"{MAX_CAMERAS}")
        return replace(self, cameras=tuple(CameraConfig(serial=s) for s in checked))


# -- the schema ------------------------------------------------------------------------------

def _path_text(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if "\0" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _user_id(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain a NUL character")
    if len(value.encode()) > USER_ID_BYTES:
        raise ValueError(f"at most {USER_ID_BYTES} bytes (UTF-8), the camera's register")
    return value


PathText = Annotated[StrictStr, AfterValidator(_path_text)]
FeatureValue = StrictBool | StrictInt | StrictFloat | StrictStr


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _CameraSchema(_Strict):
    # A TOML integer serial (40012345) is accepted as its digits; names.check_serial decides.
    serial: Annotated[StrictStr | StrictInt, AfterValidator(check_serial)] = DEFAULT_SERIAL
    user_id: Annotated[StrictStr, AfterValidator(_user_id)] = ""
    image_source: PathText | None = None
    noise: StrictBool = True
    features: dict[StrictStr, FeatureValue] = {}


# Cameras one daemon serves: they share one bus of 126 device numbers, which replugs use up
# while clients still hold old nodes open, and a pacing thread each. Chosen.
MAX_CAMERAS = 32


class _DaemonSchema(_Strict):
    camera: Annotated[list[_CameraSchema], Field(min_length=1, max_length=MAX_CAMERAS)] = \
        [_CameraSchema()]
    state_dir: PathText | None = None
    stress: StrictBool = False
    direct_memory: StrictBool = True
    usbfs_memory_mb: Annotated[StrictInt, Field(ge=0, le=MAX_USBFS_MEMORY_MB)] = \
        DEFAULT_USBFS_MEMORY_MB


# -- loading ---------------------------------------------------------------------------------

def load(path: Path | None) -> DaemonConfig:
    """The configuration in the TOML file ``path`` (None: the defaults, one camera).

    Raises ConfigError, one line naming the file and what is wrong: unreadable, not UTF-8, a
    TOML syntax error, an unknown key, a value of the wrong type or out of its rule, repeated
    serials."""
    if path is None:
        return DaemonConfig()
    data = _parse(Path(path))
    try:
        schema = _DaemonSchema.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_describe(error, data)}") from None
    _check_distinct([c.serial for c in schema.camera], str(path))
    base = Path(path).absolute().parent
    cameras = tuple(CameraConfig(serial=c.serial, user_id=c.user_id,
                                 image_source=(str(_resolve(c.image_source, base))
                                               if c.image_source else None),
                                 noise=c.noise, features=dict(c.features))
                    for c in schema.camera)
    state_dir = _resolve(schema.state_dir, base) if schema.state_dir else None
    return DaemonConfig(cameras, state_dir, schema.stress, schema.direct_memory,
                        schema.usbfs_memory_mb)


def _resolve(text: str, base: Path) -> Path:
    """A path of the file: ``~`` expanded, a relative one taken from ``base`` (the config
    file's directory)."""
    return base / Path(text).expanduser()


def _parse(path: Path) -> dict:
    try:
        text = read_small_text(path, MAX_FILE_BYTES, "a config file")
    except SmallFileError as error:
        raise ConfigError(str(error)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def _check_distinct(serials: list[str], where: str) -> None:
    seen = set()
    for serial in serials:
        if serial in seen:
            raise ConfigError(f"{where}: serial {serial} is given to more than one camera "
                              f"(each camera needs its own)")
        seen.add(serial)


def _describe(error: ValidationError, data: dict) -> str:
    """pydantic's errors as one line: where (``camera 2 (serial 40012345): noise``), the value
    and why; several errors joined with "; "."""
    found: dict[str, tuple[object, list[str], str]] = {}
    for item in error.errors():
        location = list(item["loc"])
        where = []
        if location[:1] == ["camera"] and len(location) > 1 and isinstance(location[1], int):
            index = location[1]
            entry = data.get("camera", [])[index]
            serial = entry.get("serial") if isinstance(entry, dict) else None
            location = location[2:]
            named = isinstance(serial, str) and location[:1] != ["serial"]
            where.append(f"camera {index + 1}" + (f" (serial {serial})" if named else ""))
        # A union's member name (``str``, ``int``) ends the location: pydantic's, not the user's.
        if len(location) > 1 and item["type"].endswith("_type") and \
                location[-1] in _UNION_MEMBERS:
            location = location[:-1]
        key = ".".join(str(p) for p in location)
        if key.startswith("features."):
            key = "[camera.features] " + key.removeprefix("features.")
        if key:
            where.append(key)
        label = ": ".join(where) or "top level"
        if item["type"] == "extra_forbidden":
            why = f"unknown key (known: {_known(item['loc'])})"
        elif item["type"] == "value_error":
            why = item["msg"].removeprefix("Value error, ")
            if key == "serial":  # names.check_serial names the value itself
                why = why.split(": ", 1)[-1]
        elif item["type"] == "greater_than_equal":
            why = f"must be {item['ctx']['ge']} or more"
        elif item["type"] == "less_than_equal":
            why = f"must be at most {item['ctx']['le']}"
        elif item["type"] == "too_long":
            why = (f"{item['ctx']['actual_length']} [[camera]] tables: one daemon serves at "
                   f"most {MAX_CAMERAS} cameras")
        else:
            why = _WHY.get(item["type"], item["msg"])
        _, whys, kind = found.setdefault(label, (item["input"], [], item["type"]))
        whys.append(why)
    parts = []
    for label, (value, whys, kind) in found.items():
        if len(set(whys)) > 1 and "[camera.features]" in label:  # each member failed
            why = "must be a boolean, a number or a string (a feature value)"
        elif len(set(whys)) > 1:
            why = "must be " + " or ".join(w.removeprefix("must be ") for w in whys)
        else:
            why = whys[0]
        parts.append(f"{label}: {why}" if kind in ("extra_forbidden", "too_long")
                     else f"{label} = {_short(value)}: {why}")
    return "; ".join(parts)


# pydantic's error types, said in TOML's terms.
_WHY = {
    "bool_type": "must be true or false (unquoted)",
    "string_type": "must be a quoted string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "list_type": "must be an array of tables, written [[camera]]",
    "dict_type": "must be a table",
    "too_short": "at least one [[camera]] is needed",
}
_UNION_MEMBERS = {"str", "int", "float", "bool"}


def _known(location: tuple) -> str:
    schema = _CameraSchema if location[:1] == ("camera",) else _DaemonSchema
    return ", ".join(schema.model_fields)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
