"""The harness's commands: one strict schema (pydantic) per command, so a request is exactly
what a command takes or one clear error naming the field. Every adapter (the control socket and
the CLI, the Python API, the pytest plugin) sends these; the daemon dispatches them per camera.

Requests are JSON objects with a ``command`` tag; ``serial`` picks a camera (default: the
first). Nothing is coerced: ``"level": "0"`` or ``0.0``, ``"voltage": "2.5"`` or ``true`` are
refused (``bool("false")`` would drive the line high), and so are unknown fields.

- ``status``; ``unplug`` / ``replug``; ``reset`` (DeviceReset, as the host's command);
- ``line`` (``line``, ``level`` true/false/0/1 or ``voltage`` volts);
- ``pulse`` (``line``, ``width_us``, ``period_us``, ``count``, ``delay_us``, ``level``): a
  pulse train the camera places on its own clock, edge by edge;
- ``feature_get`` / ``feature_set`` (``name``, ``value``, ``selector``) and ``execute``
  (``name``, ``selector``): by name, through the camera, checked as a GenCP write;
- ``temperature`` (``ambient_offset`` °C); ``image`` (``path``, or null: the synthetic scene);
- ``fault_add`` (``kind``, ``every``, ``probability``, ``seed``, ``start_ns``, ``end_ns``,
  ``count``, ``params``), ``fault_list``, ``fault_clear`` (``id``, or all): ``faults.py``;
- ``snapshot``; ``subscribe`` (the observation stream, one JSON line per observation).
"""

from __future__ import annotations

import math
import reprlib
from typing import Annotated, Any, Callable, Literal, Union

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

from ..names import check_serial
from .results import CommandError, ResultCode

__all__ = ["Command", "Execute", "FaultAdd", "FaultClear", "FaultList", "FeatureGet",
           "FeatureSet", "Image", "Line", "Plug", "Pulse", "Reset", "Snapshot", "Status",
           "Subscribe", "Temperature", "build", "parse"]


class _Command(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def request(self) -> dict:
        """The JSON object for this command (what an adapter sends; every field, since a
        null may mean something: ``count`` null is "until cleared")."""
        return self.model_dump()


Serial = Annotated[StrictStr, AfterValidator(check_serial)] | None
Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]
# A feature value as JSON carries it; the camera coerces by the feature's kind.
Value = StrictBool | StrictInt | StrictFloat | StrictStr


class Status(_Command):
    command: Literal["status"] = "status"


class Plug(_Command):
    command: Literal["unplug", "replug"]
    serial: Serial = None


class Reset(_Command):
    command: Literal["reset"] = "reset"
    serial: Serial = None


class Line(_Command):
    command: Literal["line"] = "line"
    line: StrictStr
    # A JSON boolean, or the integers 0 and 1 (not 0.0, not "0").
    level: StrictBool | Annotated[StrictInt, Field(ge=0, le=1)] | None = None
    # Volts: a JSON number (not a boolean, not a string), finite.
    voltage: Number | None = None
    serial: Serial = None

    @model_validator(mode="after")
    def _one_of(self) -> Line:
        if (self.level is None) == (self.voltage is None):
            raise ValueError("give either level or voltage (one of them)")
        return self


# The shortest pulse and gap a train may have: the daemon models each edge on its own, and
# keeps every edge at its exact device time up to 5 kHz (measured; at 20 kHz it falls
# behind real time and skips). Chosen, not a camera figure.
MIN_PULSE_US = 100


class Pulse(_Command):
    """``count`` pulses of ``level`` lasting ``width_us`` every ``period_us``, the first
    ``delay_us`` after the command arrives; the line rests at the other level."""
    command: Literal["pulse"] = "pulse"
    line: StrictStr
    # (at most an hour each: longer is no pulse a test waits for)
    width_us: Annotated[StrictFloat | StrictInt, Field(gt=0, le=3.6e9, allow_inf_nan=False)]
    period_us: Annotated[StrictFloat | StrictInt, Field(gt=0, le=3.6e9, allow_inf_nan=False)]
    count: Annotated[StrictInt, Field(ge=1, le=10_000_000)] = 1
    delay_us: Annotated[StrictFloat | StrictInt,
                        Field(ge=0, le=3.6e9, allow_inf_nan=False)] = 0
    level: StrictBool = True
    serial: Serial = None

    @model_validator(mode="after")
    def _fits(self) -> Pulse:
        if self.count > 1 and self.width_us >= self.period_us:
            raise ValueError("width_us must be shorter than period_us")
        gap_us = self.period_us - self.width_us if self.count > 1 else self.width_us
        if min(self.width_us, gap_us) < MIN_PULSE_US:
            raise ValueError(f"pulses and the gaps between them must last at least "
                             f"{MIN_PULSE_US} us (the simulator places each edge at its "
                             f"exact time up to {1e6 / (2 * MIN_PULSE_US):g} Hz)")
        return self


class FeatureGet(_Command):
    command: Literal["feature_get"] = "feature_get"
    name: StrictStr
    # The selector entry to read (LineStatus of "Line1"), without changing the selector.
    selector: StrictStr | StrictInt | None = None
    serial: Serial = None


class FeatureSet(_Command):
    command: Literal["feature_set"] = "feature_set"
    name: StrictStr
    value: Value
    selector: StrictStr | StrictInt | None = None
    serial: Serial = None


class Execute(_Command):
    command: Literal["execute"] = "execute"
    name: StrictStr
    selector: StrictStr | StrictInt | None = None
    serial: Serial = None


class Temperature(_Command):
    command: Literal["temperature"] = "temperature"
    # °C above the camera's rest temperature, from its surroundings (a harness heating it to
    # its CriticalTemperature / OverTemperature states, thermal.py).
    ambient_offset: Annotated[StrictFloat | StrictInt,
                              Field(allow_inf_nan=False, ge=-40, le=100)]
    serial: Serial = None


class Image(_Command):
    """What the camera sees from the next frame on: an image file or a folder of them (PNG,
    TIFF, NumPy .npy; a folder plays in name order), or null for the synthetic scene."""
    command: Literal["image"] = "image"
    path: StrictStr | None = None
    serial: Serial = None


class Snapshot(_Command):
    command: Literal["snapshot"] = "snapshot"
    serial: Serial = None

    @model_validator(mode="before")
    @classmethod
    def _no_path(cls, data):
        if isinstance(data, dict) and "path" in data:
            raise ValueError("snapshot takes no path: the client writes the file "
                             "(u3v-sim snapshot -o FILE)")
        return data


class FaultAdd(_Command):
    """Inject a fault (``faults.KINDS``): when it fires and with which parameters."""
    command: Literal["fault_add"] = "fault_add"
    kind: StrictStr
    every: Annotated[StrictInt, Field(ge=1)] = 1
    probability: Annotated[StrictFloat | StrictInt, Field(gt=0, le=1)] = 1.0
    seed: StrictInt = 0
    start_ns: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] = 0
    end_ns: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    # How many times it fires (null: until cleared).
    count: Annotated[StrictInt, Field(ge=1)] | None = 1
    params: dict[StrictStr, Number] = {}
    serial: Serial = None

    @model_validator(mode="after")
    def _known(self) -> FaultAdd:
        self.fault()  # raises ValueError naming the kind or parameter
        return self

    def fault(self):
        from ..faults import Fault
        return Fault(self.kind, every=self.every, probability=float(self.probability),
                     seed=self.seed, start_ns=self.start_ns, end_ns=self.end_ns,
                     count=self.count, params={k: float(v) for k, v in self.params.items()})


class FaultList(_Command):
    command: Literal["fault_list"] = "fault_list"
    serial: Serial = None


class FaultClear(_Command):
    """Clear one fault (its id) or every fault of the camera (no id)."""
    command: Literal["fault_clear"] = "fault_clear"
    id: Annotated[StrictInt, Field(ge=1)] | None = None
    serial: Serial = None


class Subscribe(_Command):
    """The observation stream of one camera (``serial``) or of all (null)."""
    command: Literal["subscribe"] = "subscribe"
    serial: Serial = None


Command = Union[Status, Plug, Reset, Line, Pulse, FeatureGet, FeatureSet, Execute,
                Temperature, Image, Snapshot, FaultAdd, FaultList, FaultClear, Subscribe]
_ADAPTER: TypeAdapter | None = None   # built on the first parse: clients only send
COMMANDS = ("status", "unplug", "replug", "reset", "line", "pulse", "feature_get",
            "feature_set", "execute", "temperature", "image", "snapshot", "fault_add",
            "fault_list", "fault_clear", "subscribe")

# What a refused value is said to have to be, by pydantic error type.
_WHY = {
    "bool_type": "must be true or false",
    "literal_error": "must be true, false, 0 or 1",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "missing": "is missing",
    "extra_forbidden": "is not a field of this command",
    "greater_than": "is too small",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
}
# Fields whose every error says the same (a union's members would each say their part).
_FIELD_WHY = {
    "level": "must be true, false, 0 or 1",
    "voltage": "must be a number (volts)",
    "ambient_offset": "must be a number of °C from -40 to 100",
    "value": "must be a string, a number or true/false",
    "selector": "must be a string or an integer",
}
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40
_short.maxlevel = 2


def parse(request: dict) -> Command:
    """The typed command for a request object; CommandError(invalid_argument), one line: the
    command, the field, the value and why, if it is not exactly one."""
    command = request.get("command")
    if not isinstance(command, str) or command not in COMMANDS:
        raise CommandError(ResultCode.INVALID_ARGUMENT,
                           f"unknown command {_short.repr(command)} "
                           f"(commands: {', '.join(COMMANDS)})")
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(Annotated[Command, Field(discriminator="command")])
    return _validated(command, lambda: _ADAPTER.validate_python(request), tagged=True)


def build(command_type: type[Command], **fields) -> Command:
    """A command from Python values (the Python API's way in); CommandError(invalid_argument,
    one line naming the field) if they are not what it takes."""
    name = command_type.model_fields["command"].default or fields.get("command")
    fields = {key: _plain(value) for key, value in fields.items()}
    return _validated(name, lambda: command_type(**fields), tagged=False)


def _validated(name: str, make: Callable[[], Command], tagged: bool) -> Command:
    """``make()``; its validation errors as one CommandError(invalid_argument) line naming
    the command (``tagged``: validated as the union, whose tag starts each error's place)."""
    try:
        return make()
    except UnicodeError:   # (pydantic cannot even say why: a lone surrogate in some text)
        raise CommandError(ResultCode.INVALID_ARGUMENT,
                           f"{name}: a text field is not UTF-8 (a lone surrogate)") from None
    except ValidationError as error:
        raise CommandError(ResultCode.INVALID_ARGUMENT,
                           f"{name}: {_describe(error, tagged=tagged)}") from None


def _plain(value: Any) -> Any:
    """NumPy scalars (np.int64(1024), np.True_) as the Python values they stand for, also in
    a dict's values; everything else as it is."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def _describe(error: ValidationError, tagged: bool = True) -> str:
    """pydantic's errors as one line, one part per field: ``level = '0': must be ...``."""
    parts: dict[str, tuple[str, list[str]]] = {}
    first = 1 if tagged else 0
    for item in error.errors():
        # the location starts with the union's tag (the command) when validated as the union,
        # then the field, then for a union field the member that failed (pydantic's)
        location = [str(p) for p in item["loc"][first:first + 2]]
        field = location[0] if location else ""
        if field == "params" and len(location) > 1:   # (a fault's parameter by its name)
            field = f"params.{location[1]}"
        number = item.get("input")
        if isinstance(number, float) and not math.isfinite(number):
            why = _WHY["finite_number"]
        elif item["type"] == "value_error":
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
        if _WHY["float_type"] in whys and _WHY["int_type"] in whys:   # (a float or an int)
            whys = [w for w in whys if w != _WHY["int_type"]]
        said_already = (_WHY["missing"], _WHY["extra_forbidden"], _WHY["finite_number"])
        if field in _FIELD_WHY and not any(why in whys for why in said_already):
            whys = [_FIELD_WHY[field]]
        said.append(f"{label}: {' or '.join(whys)}" if label else " or ".join(whys))
    return "; ".join(said)
