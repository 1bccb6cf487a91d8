"""The vocabulary of the feature table: one frozen record per GenICam feature.

A feature says everything both outputs need: the GenApi XML generator turns it into nodes, the
register layout gives it an address, and the device evaluates its ranges and derived values.
Dynamic properties (a range that depends on other features, availability, locking, a derived
value) are written as expressions (see ``expr.py``) and served by the device from hidden
read-only registers, so the XML and the device can never disagree on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Union

Number = Union[int, float]
# A range bound or a derived value: a constant, or an expression over other features.
Bound = Union[Number, str, None]

INTEGER, FLOAT, ENUMERATION, BOOLEAN, COMMAND, STRING, REGISTER = (
    "Integer", "Float", "Enumeration", "Boolean", "Command", "String", "Register")
KINDS = (INTEGER, FLOAT, ENUMERATION, BOOLEAN, COMMAND, STRING, REGISTER)
ACCESS_MODES = ("RO", "RW", "WO")


@dataclass(frozen=True)
class EnumEntry:
    name: str
    value: int
    # Expression: the entry can be chosen only while it holds (a GenApi pIsAvailable on the
    # entry; the device refuses the others with INVALID_PARAMETER).
    available: str | None = None


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    category: str
    description: str
    access: str = "RW"
    # Scalar default, or a mapping {selector entry: default} for a selected feature.
    default: object = None
    minimum: Bound = None
    maximum: Bound = None
    increment: Bound = None
    unit: str | None = None
    entries: tuple[EnumEntry, ...] = ()
    selected_by: str | None = None
    # Register width in bytes (strings: the buffer size).
    length: int = 4
    signed: bool = False
    # A fixed address (bootstrap-register aliases); others are allocated by the layout.
    address: int | None = None
    # Read-only value derived by the device from other features.
    formula: str | None = None
    # Read-only value the camera model supplies (state it owns: temperature, line levels, ...).
    provided: bool = False
    available: str | None = None
    locked: str | None = None
    # (condition, value): while the condition holds the device sets the feature to the value.
    forced: tuple[str, str] | None = None
    # Chunk data feature: read from the chunk with this id, not from the register space.
    chunk_id: int | None = None
    # Event data feature: read from the last event of this name (an EventSelector entry) at
    # this byte offset, not from the register space. Offsets count from the event's SCD as
    # GenApi's U3V event adapter attaches it (0: size, 2: event id, 4: timestamp, 12: data).
    event: str | None = None
    event_offset: int = 0
    # The camera model changes this value by itself (e.g. a summary of other features).
    volatile: bool = False
    visibility: str = "Beginner"
    representation: str | None = None
    # Floats: decimals a host shows (GenApi DisplayNotation Fixed, DisplayPrecision); None:
    # GenApi's automatic notation. pylon's persistence writes and verifies values this way.
    decimals: int | None = None
    # The host's own value (GenApi <Value> in the node map, no device register): a selector
    # of chunk data, which hosts parse in a node map with no device behind it.
    host_local: bool = False
    # Streamable (saved by GenApi persistence): None follows the rule in ``streamable``.
    persisted: bool | None = None
    # Why a range or default was chosen where no public source confirms the real camera's.
    chosen: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.access not in ACCESS_MODES:
            raise ValueError(f"{self.name}: unknown access {self.access!r}")
        if self.kind == ENUMERATION and not self.entries:
            raise ValueError(f"{self.name}: an enumeration needs entries")
        if (self.chunk_id is not None or self.event is not None) and self.access != "RO":
            raise ValueError(f"{self.name}: chunk and event data are read-only")
        if (self.formula or self.provided) and self.access != "RO" and self.kind != REGISTER:
            raise ValueError(f"{self.name}: derived or provided values are read-only")
        if self.host_local and self.kind != ENUMERATION:
            raise ValueError(f"{self.name}: only an enumeration is kept by the host")
        if self.kind == REGISTER and not self.provided:
            raise ValueError(f"{self.name}: a register's bytes are the camera model's "
                             f"(provided=True)")

    @property
    def streamable(self) -> bool:
        """Saved and restored by GenApi persistence (pylon's FeaturePersistence): a writable
        setting, unless the table says otherwise (``persisted``)."""
        if self.persisted is not None:
            return self.persisted
        if self.host_local:
            return False
        return self.access == "RW" and self.kind != COMMAND and (
            not self.is_derived or self.kind == REGISTER)

    @property
    def is_derived(self) -> bool:
        """The device computes this value; it never stores a written one."""
        return self.formula is not None or self.provided

    @property
    def data_port(self) -> str | None:
        """The XML Port a chunk or event data feature is read through (None: the device's
        register space, through the Device port)."""
        if self.chunk_id is not None:
            return f"{self.name}Port"
        if self.event is not None:
            return f"Event{self.event}Port"
        return None

    @property
    def is_volatile(self) -> bool:
        """The value can change without a write to this feature, so hosts must not cache it."""
        return (self.volatile or self.is_derived or self.selected_by is not None or self.forced is not None
                or self.kind == COMMAND or isinstance(self.maximum, str)
                or isinstance(self.minimum, str))

    def entry(self, name: str) -> EnumEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"{self.name} has no entry {name!r}")

    def entry_by_value(self, value: int) -> EnumEntry | None:
        return next((e for e in self.entries if e.value == value), None)

    def default_for(self, selector_entry: str | None) -> object:
        if isinstance(self.default, Mapping):
            return self.default[selector_entry]
        return self.default


@dataclass(frozen=True)
class Category:
    """A category; its features may name other categories (its subcategories)."""
    name: str
    description: str
    features: tuple[str, ...] = field(default_factory=tuple)


def entries(*names: str, start: int = 0) -> tuple[EnumEntry, ...]:
    """Entries numbered consecutively from ``start``."""
    return tuple(EnumEntry(n, start + i) for i, n in enumerate(names))


def valued(**values: int) -> tuple[EnumEntry, ...]:
    return tuple(EnumEntry(n, v) for n, v in values.items())
