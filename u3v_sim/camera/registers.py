"""The device's address space: regions made of registers (fields), as a host sees it.

A read may cover any bytes of mapped regions, at any alignment (hosts read strings and the
GenICam file in arbitrary pieces); unallocated bytes inside a region read as zero. A write must
hit exactly one register: from its first byte (else BAD_ALIGNMENT), with its length (strings:
up to it), on a writable register (else WRITE_PROTECT); a block register (a GenApi Register
node, larger than one host command carries) takes 4-byte-aligned pieces anywhere inside it.
Outside every region is INVALID_ADDRESS.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable, Iterable

from ..protocol.gencp import ProtocolError, Status

Reader = Callable[[], bytes]
# A writer returns how long the device is busy with the write (seconds; 0.0 = at once).
Writer = Callable[[bytes], float]


@dataclass(frozen=True)
class Field:
    address: int
    length: int
    read: Reader | None = None      # None: write-only, reads as zeros
    write: Writer | None = None     # None: read-only
    variable_length: bool = False   # strings: a write may be shorter than the register
    name: str = ""
    # A block register: write_at(offset, data) takes any 4-byte-aligned piece inside it.
    write_at: Callable[[int, bytes], float] | None = None

    @property
    def end(self) -> int:
        return self.address + self.length


class Region:
    """A contiguous address range holding registers."""

    def __init__(self, name: str, base: int, size: int, fields: Iterable[Field]):
        self.name, self.base, self.size = name, base, size
        self.fields = sorted(fields, key=lambda f: f.address)
        self._starts = [f.address for f in self.fields]
        for f in self.fields:
            if not (base <= f.address and f.end <= base + size):
                raise ValueError(f"{name}: field {f.name} outside the region")
        for a, b in zip(self.fields, self.fields[1:]):
            if b.address < a.end:
                raise ValueError(f"{name}: fields {a.name} and {b.name} overlap")

    @property
    def end(self) -> int:
        return self.base + self.size

    def read(self, address: int, length: int) -> bytes:
        out = bytearray(length)
        end = address + length
        first = max(bisect_right(self._starts, address) - 1, 0)
        for f in self.fields[first:]:
            if f.address >= end:
                break
            if f.end <= address or f.read is None:
                continue
            data = f.read()
            lo, hi = max(f.address, address), min(f.end, end)
            out[lo - address:hi - address] = data[lo - f.address:hi - f.address]
        return bytes(out)

    def field_at(self, address: int) -> Field | None:
        index = bisect_right(self._starts, address) - 1
        if index >= 0 and self.fields[index].address <= address < self.fields[index].end:
            return self.fields[index]
        return None

    def write(self, address: int, data: bytes) -> float:
        f = self.field_at(address)
        if f is None:
            raise ProtocolError(Status.INVALID_ADDRESS, f"no register at 0x{address:x}")
        if f.write_at is not None:
            offset = address - f.address
            if offset % 4 or len(data) % 4:
                raise ProtocolError(Status.BAD_ALIGNMENT,
                                    f"{f.name} takes 4-byte-aligned pieces")
            if offset + len(data) > f.length:
                raise ProtocolError(Status.INVALID_PARAMETER,
                                    f"{f.name}: {len(data)} bytes at {offset} run past its end")
            return f.write_at(offset, bytes(data))
        if f.address != address:
            raise ProtocolError(Status.BAD_ALIGNMENT,
                                f"0x{address:x} is inside register {f.name}")
        if f.write is None:
            raise ProtocolError(Status.WRITE_PROTECT, f"{f.name} is read-only")
        if len(data) != f.length and not (f.variable_length and len(data) < f.length):
            raise ProtocolError(Status.INVALID_PARAMETER,
                                f"{f.name} takes {f.length} bytes, not {len(data)}")
        return f.write(bytes(data))


class RegisterSpace:
    def __init__(self, regions: Iterable[Region]):
        self.regions = sorted(regions, key=lambda r: r.base)
        for a, b in zip(self.regions, self.regions[1:]):
            if b.base < a.end:
                raise ValueError(f"regions {a.name} and {b.name} overlap")

    def _region_at(self, address: int) -> Region | None:
        for r in self.regions:
            if r.base <= address < r.end:
                return r
        return None

    def read(self, address: int, length: int) -> bytes:
        """Bytes of [address, address+length); every byte must be mapped (regions that touch
        may be read across)."""
        out = bytearray()
        cursor, end = address, address + length
        while cursor < end:
            region = self._region_at(cursor)
            if region is None:
                raise ProtocolError(Status.INVALID_ADDRESS, f"0x{cursor:x} is not mapped")
            piece_end = min(end, region.end)
            out += region.read(cursor, piece_end - cursor)
            cursor = piece_end
        return bytes(out)

    def write(self, address: int, data: bytes) -> float:
        region = self._region_at(address)
        if region is None or address + len(data) > region.end:
            raise ProtocolError(Status.INVALID_ADDRESS, f"0x{address:x} is not mapped")
        return region.write(address, data)
