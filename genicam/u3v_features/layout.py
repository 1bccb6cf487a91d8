"""The device's register layout, derived from the feature table.

Every feature that lives in the register space gets a value register; every dynamic property
(an expression range bound, availability, locking) gets a hidden read-only register that the
device computes. Addresses are allocated here and nowhere else, so the XML and the device agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .bootstrap import FEATURE_BASE, FEATURE_LIMIT
from .model import FLOAT, INTEGER, REGISTER, STRING, Feature

VALUE, MIN, MAX, INC, AVAILABLE, LOCKED = "value", "min", "max", "inc", "available", "locked"
HIDDEN_SUFFIX = {MIN: "_Min", MAX: "_Max", INC: "_Inc", AVAILABLE: "_Available",
                 LOCKED: "_Locked"}


@dataclass(frozen=True)
class Register:
    node: str              # name of the register node in the XML
    feature: str           # the feature it belongs to
    role: str              # VALUE or one of the hidden roles
    address: int
    length: int
    encoding: str          # "int", "float", "string" or "bytes" (a Register feature)
    access: str            # RO, RW or WO
    signed: bool = False
    expression: str | None = None  # hidden roles: what the device evaluates

    @property
    def end(self) -> int:
        return self.address + self.length


def entry_available_role(entry: str) -> str:
    """The hidden-register role of an enumeration entry's availability."""
    return f"{AVAILABLE}:{entry}"


def encoding_of(feature: Feature) -> str:
    return {FLOAT: "float", STRING: "string", REGISTER: "bytes"}.get(feature.kind, "int")


def is_feature_name(bound: object, names) -> bool:
    return isinstance(bound, str) and bound in names


def snaps_to_increment(f: Feature, role: str) -> bool:
    """An integer's dynamic maximum is brought onto its increment grid by the device (a
    GenApi host sets ``Max`` as a value: it must be one the feature takes), so it is served
    from a hidden register even where it names another feature (Width's WidthMax)."""
    return (role == MAX and f.kind == INTEGER and isinstance(f.maximum, str)
            and f.increment not in (None, 1))


def points_at_feature(f: Feature, role: str, expression: object,
                      features: dict[str, Feature]) -> bool:
    """The XML's pointer for this bound is the named feature itself (no hidden register):
    unless the device must snap it (``snaps_to_increment``), or the named feature bounds
    this one in turn (a lower and an upper limit bounding each other: GenApi refuses that
    cycle of pointers, so the device serves each bound from a hidden register)."""
    if not is_feature_name(expression, features) or snaps_to_increment(f, role):
        return False
    other = features[expression]
    return f.name not in (other.minimum, other.maximum, other.increment)


class Layout:
    def __init__(self, registers: Iterable[Register]):
        self.registers = tuple(sorted(registers, key=lambda r: r.address))
        self._values = {r.feature: r for r in self.registers if r.role == VALUE}
        self._hidden = {(r.feature, r.role): r for r in self.registers if r.role != VALUE}
        for a, b in zip(self.registers, self.registers[1:]):
            if b.address < a.end:
                raise ValueError(f"registers {a.node} and {b.node} overlap")

    def value_register(self, feature: str) -> Register | None:
        return self._values.get(feature)

    def hidden_register(self, feature: str, role: str) -> Register | None:
        return self._hidden.get((feature, role))



def _align(address: int, alignment: int) -> int:
    return -(-address // alignment) * alignment


def build_layout(features: Iterable[Feature]) -> Layout:
    features = tuple(features)
    names = {f.name: f for f in features}
    registers: list[Register] = []
    cursor = FEATURE_BASE

    def allocate(length: int) -> int:
        nonlocal cursor
        address = _align(cursor, 8 if length >= 8 else 4)
        cursor = address + length
        if cursor > FEATURE_LIMIT:
            raise ValueError("feature registers overflow the feature region")
        return address

    for f in features:
        if f.data_port is not None or f.host_local:
            continue
        encoding = encoding_of(f)
        address = f.address if f.address is not None else allocate(f.length)
        registers.append(Register(f.name if encoding in ("string", "bytes") else f"{f.name}Reg",
                                  f.name,
                                  VALUE, address, f.length, encoding, f.access, f.signed))
        dynamic = {MIN: f.minimum, MAX: f.maximum, INC: f.increment,
                   AVAILABLE: f.available, LOCKED: f.locked}
        for role, expression in dynamic.items():
            if not isinstance(expression, str) or points_at_feature(f, role, expression, names):
                continue
            bound_is_float = f.kind == FLOAT and role in (MIN, MAX, INC)
            length = 8 if bound_is_float else 4
            registers.append(Register(f.name + HIDDEN_SUFFIX[role], f.name, role,
                                      allocate(length), length,
                                      "float" if bound_is_float else "int", "RO",
                                      expression=expression))
        for entry in f.entries:
            if entry.available is not None:
                registers.append(Register(f"{f.name}_{entry.name}{HIDDEN_SUFFIX[AVAILABLE]}",
                                          f.name, entry_available_role(entry.name),
                                          allocate(4), 4, "int", "RO",
                                          expression=entry.available))
    return Layout(registers)
