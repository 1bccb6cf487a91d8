"""The control socket's requests: one strict schema (pydantic) for every command, so a request
is either exactly what a command takes or one clear error line naming the field.

Requests (JSON objects; ``serial`` picks a camera, default the first):

- ``{"command": "status"}``
- ``{"command": "unplug" | "replug", "serial": S}``
- ``{"command": "line", "line": "Line1", "level": true | false | 0 | 1, "serial": S}`` or with
  ``"voltage": 3.3`` (a JSON number, finite) instead of ``level``
- ``{"command": "snapshot", "serial": S}``
- ``{"command": "temperature", "ambient_offset": 31.0, "serial": S}``: the camera's
  surroundings are that many °C warmer than at rest (a JSON number, finite, -40..100)

Nothing is coerced: ``"level": "0"``, ``"false"``, ``[0]`` or ``0.0`` and ``"voltage": "2.5"``
or ``true`` are refused (``bool("false")`` would drive the line high). Unknown fields are
refused too.
"""

from __future__ import annotations

import reprlib
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .names import check_serial

__all__ = ["ControlError", "Line", "Plug", "Snapshot", "Status", "Temperature", "parse"]


class ControlError(ValueError):
    """A request the daemon refuses; the message is one line for the client."""


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


Serial = Annotated[StrictStr, AfterValidator(check_serial)] | None


class Status(_Request):
    command: Literal["status"]


class Plug(_Request):
    command: Literal["unplug", "replug"]
    serial: Serial = None


class Line(_Request):
    command: Literal["line"]
    line: StrictStr
    # A JSON boolean, or the integers 0 and 1 (not 0.0, not "0").
    level: StrictBool | Annotated[StrictInt, Field(ge=0, le=1)] | None = None
    # Volts: a JSON number (not a boolean, not a string), finite.
    voltage: Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)] | None = None
    serial: Serial = None

    @model_validator(mode="after")
    def _one_of(self) -> Line:
        if (self.level is None) == (self.voltage is None):
            raise ValueError("give either level or voltage (one of them)")
        return self


class Snapshot(_Request):
    command: Literal["snapshot"]
    serial: Serial = None

    @model_validator(mode="before")
    @classmethod
    def _no_path(cls, data):
        if isinstance(data, dict) and "path" in data:
            raise ValueError("snapshot takes no path: the client writes the file "
                             "(u3v-sim snapshot -o FILE)")
        return data


class Temperature(_Request):
    command: Literal["temperature"]
    # °C above the camera's rest temperature, from its surroundings (a harness heating it to
    # its CriticalTemperature / OverTemperature states, thermal.py).
    ambient_offset: Annotated[StrictFloat | StrictInt,
                              Field(allow_inf_nan=False, ge=-40, le=100)]
    serial: Serial = None


Request = Annotated[Status | Plug | Line | Snapshot | Temperature,
                    Field(discriminator="command")]
_ADAPTER = TypeAdapter(Request)
COMMANDS = ("status", "unplug", "replug", "line", "snapshot", "temperature")

# What a refused value is said to have to be, by pydantic error type.
_WHY = {
    "bool_type": "must be true or false",
    "literal_error": "must be true, false, 0 or 1",
    "string_type": "must be a string",
    "int_type": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "missing": "is missing",
    "extra_forbidden": "is not a field of this command",
}
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40
_short.maxlevel = 2


def parse(request: dict) -> Status | Plug | Line | Snapshot | Temperature:
    """The typed command for a request object; ControlError (one line: the command, the field,
    the value and why) if it is not exactly one."""
    command = request.get("command")
    if not isinstance(command, str) or command not in COMMANDS:
        raise ControlError(f"unknown command {_short.repr(command)} "
                           f"(commands: {', '.join(COMMANDS)})")
    try:
        return _ADAPTER.validate_python(request)
    except ValidationError as error:
        raise ControlError(f"{command}: {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    """pydantic's errors as one line, one part per field: ``level = '0': must be ...``."""
    parts: dict[str, tuple[str, list[str]]] = {}
    for item in error.errors():
        # the location starts with the union's tag (the command), then the field, then for a
        # union field the member that failed (pydantic's, not the user's)
        location = [str(p) for p in item["loc"][1:2]]
        field = location[0] if location else ""
        if item["type"] == "value_error":
            why = item["msg"].removeprefix("Value error, ")
            if field == "serial":  # names.check_serial names the value itself
                why = why.split(": ", 1)[-1]
        else:
            why = _WHY.get(item["type"], item["msg"])
        value = "" if item["type"] in ("missing", "extra_forbidden") or not field \
            else f" = {_short.repr(item['input'])}"
        label = f"{field}{value}"
        whys = parts.setdefault(field, (label, []))[1]
        if why not in whys:
            whys.append(why)
    said = []
    for field, (label, whys) in parts.items():
        if field == "level":  # each member of the union said its part
            whys = [_WHY["literal_error"]]
        elif field == "voltage" and _WHY["finite_number"] not in whys:
            whys = ["must be a number (volts)"]
        elif field == "ambient_offset" and _WHY["missing"] not in whys:
            whys = ["must be a finite number of °C from -40 to 100"]
        said.append(f"{label}: {' or '.join(whys)}" if label else " or ".join(whys))
    return "; ".join(said)
