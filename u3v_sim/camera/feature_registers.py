"""The register view of the features: value bytes in the layout's encoding, and the hidden
registers GenApi reads for dynamic ranges, availability and locking."""

from __future__ import annotations

import struct

from u3v_features.layout import VALUE, Layout, Register
from u3v_features.model import BOOLEAN, ENUMERATION, Feature

from ..protocol.gencp import ProtocolError, Status
from .features import FeatureStore
from .registers import Field

_INT_FORMATS = {(4, False): "<I", (4, True): "<i", (8, False): "<Q", (8, True): "<q"}
_FLOAT_FORMATS = {4: "<f", 8: "<d"}


def encode(register: Register, feature: Feature, value: object) -> bytes:
    if register.encoding == "bytes":
        return bytes(value)[:register.length].ljust(register.length, b"\0")
    if register.encoding == "string":
        return str(value).encode("utf-8")[:register.length].ljust(register.length, b"\0")
    if register.encoding == "float":
        return struct.pack(_FLOAT_FORMATS[register.length], float(value))
    if register.role == VALUE and feature.kind == ENUMERATION:
        value = feature.entry(value).value
    number = int(value)
    bits = register.length * 8
    if not register.signed:
        number &= (1 << bits) - 1
    return struct.pack(_INT_FORMATS[(register.length, register.signed)], number)


def decode(register: Register, feature: Feature, data: bytes) -> object:
    if register.encoding == "bytes":
        return bytes(data)
    if register.encoding == "string":
        try:
            return data.split(b"\0", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(Status.INVALID_PARAMETER, f"{feature.name}: not UTF-8") from None
    if register.encoding == "float":
        return struct.unpack(_FLOAT_FORMATS[register.length], data)[0]
    (number,) = struct.unpack(_INT_FORMATS[(register.length, register.signed)], data)
    if feature.kind == ENUMERATION:
        entry = feature.entry_by_value(number)
        if entry is None:
            raise ProtocolError(Status.INVALID_PARAMETER,
                                f"{feature.name}: no entry with value {number}")
        return entry.name
    if feature.kind == BOOLEAN and number not in (0, 1):
        raise ProtocolError(Status.INVALID_PARAMETER, f"{feature.name}: a boolean is 0 or 1")
    return number


def _hidden_value(store: FeatureStore, register: Register) -> object:
    if register.role in ("min", "max", "inc"):
        return store.bound(register.feature, register.role)
    if register.role == "available":
        return store.is_available(register.feature)
    if register.role.startswith("available:"):
        return store.entry_available(register.feature, register.role.partition(":")[2])
    return store.is_locked(register.feature)


def feature_fields(store: FeatureStore, layout: Layout) -> list[Field]:
    fields = []
    for register in layout.registers:
        feature = store.features[register.feature]

        def read(register=register, feature=feature) -> bytes:
            if register.role == VALUE:
                return encode(register, feature, store.get(feature.name))
            return encode(register, feature, _hidden_value(store, register))

        def write(data: bytes, register=register, feature=feature) -> float:
            return store.write(feature.name, decode(register, feature, data))

        def write_at(offset: int, data: bytes, feature=feature) -> float:
            return store.write_register(feature.name, offset, data)

        writable = register.role == VALUE and register.access != "RO"
        block = register.encoding == "bytes"
        fields.append(Field(register.address, register.length,
                            read=read if register.access != "WO" else None,
                            write=write if writable and not block else None,
                            variable_length=register.encoding == "string",
                            name=register.node,
                            write_at=write_at if writable and block else None))
    return fields
