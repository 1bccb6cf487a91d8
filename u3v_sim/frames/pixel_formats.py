"""PFNC mono pixel formats of the acA4096-40um: codes, payload sizes, packing and unpacking.

Layouts (u3v-protocol.md section 7):

- ``Mono8``: one byte per pixel.
- ``Mono10`` / ``Mono12``: a little-endian 16-bit container per pixel, value in the low bits.
- ``Mono10p``: PFNC LSB-first bit stream, 4 pixels in 5 bytes::

      B0 = P0[7:0]
      B1 = P0[9:8] | P1[5:0] << 2
      B2 = P1[9:6] | P2[3:0] << 4
      B3 = P2[9:4] | P3[1:0] << 6
      B4 = P3[9:2]

- ``Mono12p``: PFNC LSB-first bit stream, 2 pixels in 3 bytes::

      B0 = P0[7:0]
      B1 = P0[11:8] | P1[3:0] << 4
      B2 = P1[11:4]

Rows are not padded: a frame is one bit stream of ``ceil(n * bits / 8)`` bytes. A pixel count
that is not a multiple of the group size (4 for Mono10p, 2 for Mono12p) ends in a partial group
whose missing pixels are zero bits, cut after the last byte that holds a bit of a real pixel.

:class:`Packer` is the allocation-free form the frame generator uses on its hot path; the
module-level functions are for tests and tools (they check their input and allocate).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FORMATS",
    "Packer",
    "PixelFormat",
    "pack",
    "pack_mono10p",
    "pack_mono12p",
    "payload_size",
    "pixel_format",
    "unpack",
    "unpack_mono10p",
    "unpack_mono12p",
]


@dataclass(frozen=True)
class PixelFormat:
    name: str
    pfnc: int             # PFNC code sent in the stream leader
    bits: int             # bits per pixel on the wire
    depth: int            # significant bits of a pixel value
    packed: bool          # PFNC "p" bit stream (else one byte or one LE uint16 per pixel)

    @property
    def max_value(self) -> int:
        return (1 << self.depth) - 1

    @property
    def group_pixels(self) -> int:
        """Pixels in the smallest whole-byte group: 1, 4 (Mono10p) or 2 (Mono12p)."""
        return {8: 1, 16: 1, 10: 4, 12: 2}[self.bits]

    @property
    def group_bytes(self) -> int:
        return self.group_pixels * self.bits // 8

    def payload_size(self, pixels: int) -> int:
        return (pixels * self.bits + 7) // 8

    def row_is_whole_bytes(self, width: int) -> bool:
        """Whether a row of ``width`` pixels ends on a byte boundary (rows pack on their own)."""
        return width * self.bits % 8 == 0


FORMATS: dict[str, PixelFormat] = {f.name: f for f in (
    PixelFormat("Mono8", 0x01080001, 8, 8, False),
    PixelFormat("Mono10", 0x01100003, 16, 10, False),
    PixelFormat("Mono10p", 0x010A0046, 10, 10, True),
    PixelFormat("Mono12", 0x01100005, 16, 12, False),
    PixelFormat("Mono12p", 0x010C0047, 12, 12, True),
)}


def pixel_format(name: str) -> PixelFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown pixel format {name!r}; expected one of "
                         f"{', '.join(FORMATS)}") from None


def payload_size(name: str, pixels: int) -> int:
    """Bytes of ``pixels`` pixels in format ``name``: ceil(pixels * bits / 8)."""
    return pixel_format(name).payload_size(pixels)


class Packer:
    """Packs uint16 values into Mono10p/Mono12p bytes without allocating (the hot path).

    Values must already be in range (no masking here). Every 4 pixels, read as one
    little-endian uint64 word ``p0 | p1 << 16 | p2 << 32 | p3 << 48``, are squeezed to
    ``p0 | p1 << b | p2 << 2b | p3 << 3b`` with a few whole-array integer operations; the
    words are then stored 5 (Mono10p) or 6 (Mono12p) bytes apart through an overlapping
    strided view, in increasing address order, so each word's zero top bytes are overwritten
    by the next word. Work runs in chunks that stay in the CPU cache.
    """

    CHUNK_WORDS = 1 << 15

    def __init__(self, fmt: PixelFormat | str, pixels: int):
        self.fmt = pixel_format(fmt) if isinstance(fmt, str) else fmt
        if not self.fmt.packed:
            raise ValueError(f"{self.fmt.name} is not a packed format")
        if sys.byteorder != "little":
            raise RuntimeError("Packer assumes a little-endian machine")
        b = self.fmt.bits
        self.pixels = pixels
        self.nbytes = self.fmt.payload_size(pixels)
        self.word_bytes = 4 * b // 8              # 5 or 6 bytes per 4 pixels
        m = (1 << b) - 1
        m2 = (1 << 2 * b) - 1
        self._m1 = np.uint64(m | m << 32)                        # p0, p2 in place
        self._s1 = np.uint64(16 - b)
        self._m2 = np.uint64(m << b | m << (32 + b))             # p1, p3 moved down
        self._m3 = np.uint64(m2)                                 # pair (p0, p1)
        self._s2 = np.uint64(32 - 2 * b)
        self._m4 = np.uint64(m2 << 2 * b)                        # pair (p2, p3) moved down
        n = min(self.CHUNK_WORDS, max(1, -(-pixels // 4)))
        self._x = np.empty(n, np.uint64)
        self._y = np.empty(n, np.uint64)
        self._tail_in = np.zeros(4, np.uint16)
        self._tail_out = np.zeros(8, np.uint8)

    def pack(self, values: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``values``: C-contiguous uint16 of ``pixels`` (any shape); ``out``: C-contiguous
        uint8 of at least ``nbytes``. Returns ``out``."""
        v = values.reshape(-1)
        step = 4 * self.CHUNK_WORDS
        for start in range(0, self.pixels, step):
            self.pack_range(v[start:start + step], out, start)
        return out

    def pack_range(self, values: np.ndarray, out: np.ndarray, start: int) -> None:
        """Packs the pixels ``start .. start + len(values)`` (``start`` a multiple of 4; a
        length that is not a multiple of 4 only for the frame's last pixels) into ``out``."""
        v = values.reshape(-1)
        words = v.size // 4
        offset = start // 4 * self.word_bytes
        for w0 in range(0, words, self.CHUNK_WORDS):
            w1 = min(words, w0 + self.CHUNK_WORDS)
            self._pack_words(v[4 * w0:4 * w1].view(np.uint64), out,
                             offset + w0 * self.word_bytes)
        tail = v.size - 4 * words
        if tail:
            self._tail_in[:] = 0
            self._tail_in[:tail] = v[4 * words:]
            self._pack_words(self._tail_in.view(np.uint64), self._tail_out, 0)
            at = offset + words * self.word_bytes
            end = self.fmt.payload_size(start + v.size)
            out.reshape(-1)[at:end] = self._tail_out[:end - at]

    def _pack_words(self, u: np.ndarray, out: np.ndarray, offset: int) -> None:
        n = u.size
        x, y = self._x[:n], self._y[:n]
        np.bitwise_and(u, self._m1, out=x)
        np.right_shift(u, self._s1, out=y)
        np.bitwise_and(y, self._m2, out=y)
        np.bitwise_or(x, y, out=x)           # two pairs of 2b bits, at bit 0 and bit 32
        np.bitwise_and(x, self._m3, out=y)
        np.right_shift(x, self._s2, out=x)
        np.bitwise_and(x, self._m4, out=x)
        np.bitwise_or(x, y, out=x)           # 4b bits from bit 0
        gb = self.word_bytes
        flat = out.reshape(-1)
        if n > 1:   # 8-byte stores gb bytes apart; the last word is stored on its own
            dst = np.ndarray((n - 1,), np.uint64, buffer=flat, offset=offset, strides=(gb,))
            np.copyto(dst, x[:n - 1])
        flat[offset + (n - 1) * gb:offset + n * gb] = x[n - 1:n].view(np.uint8)[:gb]


def _checked_values(values, depth: int) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype.kind not in "ui":
        raise ValueError(f"pixel values must be integers, not {v.dtype}")
    v = v.reshape(-1)
    if v.size and (int(v.min()) < 0 or int(v.max()) >= 1 << depth):
        raise ValueError(f"pixel values must be in 0..{(1 << depth) - 1}")
    return np.ascontiguousarray(v, dtype=np.uint16)


def _pack(values, name: str, out: np.ndarray | None) -> np.ndarray:
    fmt = FORMATS[name]
    v = _checked_values(values, fmt.depth)
    packer = Packer(fmt, v.size)
    if out is None:
        out = np.empty(packer.nbytes, np.uint8)
    elif out.dtype != np.uint8 or out.size != packer.nbytes:
        raise ValueError(f"out must be uint8 of {packer.nbytes} bytes")
    return packer.pack(v, out)


def pack_mono10p(values, out: np.ndarray | None = None) -> np.ndarray:
    """Values 0..1023 -> Mono10p bytes (uint8 array of ceil(n * 10 / 8))."""
    return _pack(values, "Mono10p", out)


def pack_mono12p(values, out: np.ndarray | None = None) -> np.ndarray:
    """Values 0..4095 -> Mono12p bytes (uint8 array of ceil(n * 12 / 8))."""
    return _pack(values, "Mono12p", out)


def _bytes(data) -> np.ndarray:
    return np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)


def _unpack_groups(data, pixels: int, fmt: PixelFormat) -> np.ndarray:
    b = _bytes(data)
    need = fmt.payload_size(pixels)
    if b.size < need:
        raise ValueError(f"{fmt.name}: {pixels} pixels need {need} bytes, got {b.size}")
    g, gb = fmt.group_pixels, fmt.group_bytes
    groups = -(-pixels // g)
    padded = np.zeros(groups * gb, np.uint16)
    padded[:need] = b[:need]
    c = padded.reshape(groups, gb)
    out = np.empty((groups, g), np.uint16)
    if fmt.bits == 12:
        out[:, 0] = c[:, 0] | (c[:, 1] & 0x0F) << 8
        out[:, 1] = c[:, 1] >> 4 | c[:, 2] << 4
    else:
        out[:, 0] = c[:, 0] | (c[:, 1] & 0x03) << 8
        out[:, 1] = c[:, 1] >> 2 | (c[:, 2] & 0x0F) << 6
        out[:, 2] = c[:, 2] >> 4 | (c[:, 3] & 0x3F) << 4
        out[:, 3] = c[:, 3] >> 6 | c[:, 4] << 2
    return out.reshape(-1)[:pixels]


def unpack_mono10p(data, pixels: int) -> np.ndarray:
    """Mono10p bytes -> uint16 array of ``pixels`` values."""
    return _unpack_groups(data, pixels, FORMATS["Mono10p"])


def unpack_mono12p(data, pixels: int) -> np.ndarray:
    """Mono12p bytes -> uint16 array of ``pixels`` values."""
    return _unpack_groups(data, pixels, FORMATS["Mono12p"])


def pack(values, name: str) -> np.ndarray:
    """Pixel values (any integer array) -> the format's payload bytes (uint8 array)."""
    fmt = pixel_format(name)
    if fmt.packed:
        return _pack(values, name, None)
    v = _checked_values(values, fmt.depth)
    if fmt.bits == 8:
        return v.astype(np.uint8)
    return v.astype("<u2").view(np.uint8)


def unpack(data, name: str, pixels: int | None = None) -> np.ndarray:
    """Payload bytes -> uint16 pixel values (``pixels`` defaults to what the bytes hold)."""
    fmt = pixel_format(name)
    b = _bytes(data)
    if pixels is None:
        pixels = b.size * 8 // fmt.bits
    if fmt.packed:
        return _unpack_groups(b, pixels, fmt)
    need = fmt.payload_size(pixels)
    if b.size < need:
        raise ValueError(f"{fmt.name}: {pixels} pixels need {need} bytes, got {b.size}")
    if fmt.bits == 8:
        return b[:pixels].astype(np.uint16)
    return b[:need].view("<u2").astype(np.uint16)
