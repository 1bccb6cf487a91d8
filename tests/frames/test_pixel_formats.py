"""PFNC packing: golden bytes written by hand from the byte tables in u3v-protocol.md section 7
(not from the code's output), round trips, partial groups, payload sizes."""

from __future__ import annotations

import numpy as np
import pytest

from u3v_sim.frames.pixel_formats import (
    FORMATS,
    Packer,
    pack,
    pack_mono10p,
    pack_mono12p,
    payload_size,
    unpack,
    unpack_mono10p,
    unpack_mono12p,
)

# Mono12p: B0 = P0[7:0]; B1 = P0[11:8] | P1[3:0] << 4; B2 = P1[11:4]
MONO12P_GOLDEN = [
    ([0x123, 0x456], "23 61 45"),
    ([0xABC, 0xDEF], "BC FA DE"),
    ([0xFFF, 0x000], "FF 0F 00"),
    ([0x000, 0xFFF], "00 F0 FF"),
    # odd count: the last group's missing pixel is zero bits, cut after ceil(36 / 8) = 5 bytes
    ([0x123, 0x456, 0xFFF], "23 61 45 FF 0F"),
    ([0x801], "01 08"),
]
# Mono10p: B0 = P0[7:0]; B1 = P0[9:8] | P1[5:0] << 2; B2 = P1[9:6] | P2[3:0] << 4;
#          B3 = P2[9:4] | P3[1:0] << 6; B4 = P3[9:2]
# e.g. P = 0x155, 0x2AA, 0x0F0, 0x30F: B0 = 0x55, B1 = 0b01 | 0x2A << 2 = 0xA9,
# B2 = 0xA | 0x0 << 4 = 0x0A, B3 = 0x0F | 0b11 << 6 = 0xCF, B4 = 0x30F >> 2 = 0xC3
MONO10P_GOLDEN = [
    ([0x155, 0x2AA, 0x0F0, 0x30F], "55 A9 0A CF C3"),
    ([0x3FF, 0x000, 0x3FF, 0x000], "FF 03 F0 3F 00"),
    ([0x000, 0x3FF, 0x000, 0x3FF], "00 FC 0F C0 FF"),
    ([0x155, 0x2AA, 0x0F0, 0x30F, 0x3FF], "55 A9 0A CF C3 FF 03"),            # 50 bits: 7 B
    ([0x155, 0x2AA, 0x0F0, 0x30F, 0x3FF, 0x001], "55 A9 0A CF C3 FF 07 00"),  # 60 bits: 8 B
    ([0x3FF, 0x3FF, 0x3FF], "FF FF FF 3F"),                                   # 30 bits: 4 B
    ([0x200], "00 02"),
]


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize("values, golden", MONO12P_GOLDEN)
def test_mono12p_golden(values, golden):
    packed = pack_mono12p(np.array(values, np.uint16))
    assert packed.tobytes() == hexbytes(golden)
    assert unpack_mono12p(hexbytes(golden), len(values)).tolist() == values


@pytest.mark.parametrize("values, golden", MONO10P_GOLDEN)
def test_mono10p_golden(values, golden):
    packed = pack_mono10p(np.array(values, np.uint16))
    assert packed.tobytes() == hexbytes(golden)
    assert unpack_mono10p(hexbytes(golden), len(values)).tolist() == values


def test_lsb_first_bit_stream():
    """Both packings are the little-endian bit stream sum(P_i << (i * bits))."""
    rng = np.random.default_rng(7)
    for bits, pk in ((10, pack_mono10p), (12, pack_mono12p)):
        values = rng.integers(0, 1 << bits, 37)
        stream = sum(int(v) << (i * bits) for i, v in enumerate(values))
        nbytes = (37 * bits + 7) // 8
        assert pk(values).tobytes() == stream.to_bytes(nbytes, "little")


def test_containers_golden():
    assert pack([0x3FF, 0x001], "Mono10").tobytes() == hexbytes("FF 03 01 00")
    assert pack([0xABC], "Mono12").tobytes() == hexbytes("BC 0A")
    assert pack([0, 255, 7], "Mono8").tobytes() == hexbytes("00 FF 07")
    assert unpack(hexbytes("BC 0A FF 0F"), "Mono12").tolist() == [0xABC, 0xFFF]


@pytest.mark.parametrize("name", list(FORMATS))
@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 4097, 131072 + 3])
def test_round_trip(name, count):
    fmt = FORMATS[name]
    values = np.random.default_rng(count).integers(0, fmt.max_value + 1, count).astype(np.uint16)
    data = pack(values, name)
    assert data.dtype == np.uint8
    assert data.size == payload_size(name, count) == (count * fmt.bits + 7) // 8
    np.testing.assert_array_equal(unpack(data, name, count), values)


@pytest.mark.parametrize("name", ["Mono10p", "Mono12p"])
def test_packer_matches_bit_stream_across_chunks(name):
    """The hot-path Packer (uint64 words, chunked) on a size spanning several chunks and
    ending in a partial group, and pack_range on pieces, give the bit stream."""
    fmt = FORMATS[name]
    n = 4 * Packer.CHUNK_WORDS * 2 + 4 * 7 + 3
    values = np.random.default_rng(1).integers(0, fmt.max_value + 1, n).astype(np.uint16)
    packer = Packer(fmt, n)
    out = np.full(packer.nbytes, 0xAA, np.uint8)
    packer.pack(values, out)
    np.testing.assert_array_equal(unpack(out, name, n), values)
    pieces = np.full(packer.nbytes, 0x55, np.uint8)
    for start in range(0, n, 4 * 1000):
        packer.pack_range(values[start:start + 4000], pieces, start)
    np.testing.assert_array_equal(pieces, out)


def test_out_of_range_values_are_refused():
    with pytest.raises(ValueError, match="0..4095"):
        pack_mono12p([4096])
    with pytest.raises(ValueError, match="0..1023"):
        pack([1024], "Mono10")
    with pytest.raises(ValueError, match="0..255"):
        pack([-1], "Mono8")
    with pytest.raises(ValueError, match="unknown pixel format"):
        pack([1], "Mono16")


def test_short_data_is_refused():
    with pytest.raises(ValueError, match="need 5 bytes"):
        unpack_mono10p(b"\0" * 4, 4)


def test_codes_match_the_feature_table():
    from u3v_features import acA4096_40um as table
    for entry in table.PIXEL_FORMATS:
        assert FORMATS[entry.name].pfnc == entry.value
        assert FORMATS[entry.name].bits == table.PIXEL_BITS[entry.name]
        assert FORMATS[entry.name].max_value == table.PIXEL_MAX[entry.name]
