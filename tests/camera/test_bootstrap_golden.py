"""The bootstrap register maps (ABRM, SBRM, SIRM, manifest, GenICam file) read as a U3V host reads
them: golden values from u3v-protocol.md section 3 (written by hand, not copied from the code),
the exact Aravis bootstrap sequence of section 5, unaligned reads, the timestamp latch, and SIRM
programming as Aravis does it (section 4.4).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile

import pytest
from lxml import etree
from u3v_features import acA4096_40um as table

from u3v_sim.camera.camera import Camera
from u3v_sim.protocol import gencp
from u3v_sim.transports.inproc import ControlError, InProcessHost

SBRM = 0xAFFC0000
SIRM = 0xAFFD0000
EIRM = 0xAFFE0000
MANIFEST = 0xAFFF0000
ABRM_SIZE = 0x250
SERIAL = "21234567"
USER_ID = "line-cam"


def u32(data: bytes) -> int:
    assert len(data) == 4
    return int.from_bytes(data, "little")


def u64(data: bytes) -> int:
    assert len(data) == 8
    return int.from_bytes(data, "little")


def text(value: str, size: int = 64) -> bytes:
    return value.encode("ascii").ljust(size, b"\0")


def expected_abrm() -> bytes:
    """The whole ABRM of a fresh camera, written field by field from reference section 3.1."""
    image = bytearray(ABRM_SIZE)

    def put(offset: int, data: bytes) -> None:
        image[offset:offset + len(data)] = data

    put(0x000, bytes.fromhex("00 00 01 00"))                 # GenCP version 1.0
    put(0x004, text("Basler"))                               # Manufacturer Name
    put(0x044, text("acA4096-40um"))                         # Model Name
    # 0x084 Family Name: not supported (capability bit 8 clear) -> zeros
    put(0x0C4, text(table.BY_NAME["DeviceVersion"].default))  # Device Version (chosen text)
    put(0x104, text(table.BY_NAME["DeviceManufacturerInfo"].default))
    put(0x144, text(SERIAL))                                 # Serial Number
    put(0x184, text(USER_ID))                                # User Defined Name
    put(0x1C4, bytes.fromhex("09 0e 00 00 00 00 00 00"))     # Device Capability 0x0E09
    put(0x1CC, bytes.fromhex("32 00 00 00"))                 # Max Device Response Time 50 ms
    put(0x1D0, bytes.fromhex("00 00 ff af 00 00 00 00"))     # Manifest Table Address
    put(0x1D8, bytes.fromhex("00 00 fc af 00 00 00 00"))     # SBRM Address
    # 0x1E0 Device Configuration 0; 0x1E8 / 0x1EC heartbeat, message channel: not supported
    # 0x1F0 Timestamp: 0 until latched; 0x1F8 Timestamp Latch: write-only, reads 0
    put(0x1FC, bytes.fromhex("01 00 00 00 00 00 00 00"))     # Timestamp Increment 1 ns
    put(0x208, bytes.fromhex("ff ff ff ff"))                 # Protocol Endianness: little
    put(0x20C, bytes.fromhex("ff ff ff ff"))                 # Implementation Endianness
    return bytes(image)


def expected_sbrm() -> bytes:
    return bytes.fromhex(
        "00 00 01 00"                   # 0x00 U3V version 1.0
        "03 00 00 00 00 00 00 00"       # 0x04 U3VCP capability: SIRM + EIRM
        "00 00 00 00 00 00 00 00"       # 0x0C U3VCP configuration
        "00 04 00 00"                   # 0x14 max command transfer length 1024
        "00 04 00 00"                   # 0x18 max ack transfer length 1024
        "01 00 00 00"                   # 0x1C number of stream channels
        "00 00 fd af 00 00 00 00"       # 0x20 SIRM address
        "30 00 00 00"                   # 0x28 SIRM length
        "00 00 fe af 00 00 00 00"       # 0x2C EIRM address
        "0c 00 00 00"                   # 0x34 EIRM length
        "00 00 00 00 00 00 00 00"       # 0x38 IIDC2 address: none
        "08 00 00 00")                  # 0x40 current speed: SuperSpeed


def expected_sirm() -> bytes:
    return bytes.fromhex(
        "00 00 00 02"                   # 0x00 SI info: alignment 2^2 = 4 bytes
        "00 00 00 00"                   # 0x04 SI control: disabled
        "00 80 87 00 00 00 00 00"       # 0x08 required payload 8,880,128 = 4096 x 2168 Mono8
        "00 04 00 00"                   # 0x10 required leader size 1024
        "00 04 00 00") + bytes(0x30 - 0x18)  # 0x14 required trailer 1024; host registers 0


@pytest.fixture
def cam() -> Camera:
    return Camera(serial=SERIAL, user_id=USER_ID)


class RecordingHost(InProcessHost):
    """InProcessHost that keeps every (command, acks) exchange."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.log: list[tuple[bytes, list[bytes]]] = []
        receive = self.channel.receive

        def recording_receive(packet: bytes, now: float) -> list[bytes]:
            acks = receive(packet, now)
            self.log.append((packet, acks))
            return acks

        self.channel.receive = recording_receive


def status_of(host: InProcessHost, address: int, length: int) -> int:
    with pytest.raises(ControlError) as error:
        host.read(address, length)
    return error.value.status


# -- golden register maps -----------------------------------------------------------------


def test_abrm_whole_map(cam):
    host = InProcessHost(cam)
    assert host.read(0, ABRM_SIZE) == expected_abrm()


def test_abrm_fields(cam):
    host = InProcessHost(cam)
    assert u32(host.read(0x000, 4)) == 0x00010000
    assert host.read(0x004, 64) == text("Basler")
    assert host.read(0x044, 64) == text("acA4096-40um")
    assert host.read(0x144, 64) == text(SERIAL)
    assert host.read(0x184, 64) == text(USER_ID)
    assert u64(host.read(0x1C4, 8)) == 0x0E09
    assert u32(host.read(0x1CC, 4)) == 50
    assert u64(host.read(0x1D0, 8)) == MANIFEST
    assert u64(host.read(0x1D8, 8)) == SBRM
    assert u64(host.read(0x1FC, 8)) == 1
    assert u32(host.read(0x208, 4)) == 0xFFFFFFFF
    assert u32(host.read(0x20C, 4)) == 0xFFFFFFFF


def test_sbrm_sirm_eirm_whole_maps(cam):
    host = InProcessHost(cam)
    assert host.read(SBRM, 0x44) == expected_sbrm()
    assert host.read(SIRM, 0x30) == expected_sirm()
    assert host.read(EIRM, 0x0C) == bytes.fromhex("00 00 00 00  00 04 00 00  00 00 00 00")
    assert u32(host.read(SIRM + 0x00, 4)) == 0x02000000
    assert u64(host.read(SIRM + 0x08, 8)) == 8_880_128 == 4096 * 2168
    assert u64(host.read(SIRM + 0x08, 8)) == cam.store.get("PayloadSize")


def test_manifest_and_genicam_file(cam):
    host = InProcessHost(cam)
    assert u64(host.read(MANIFEST, 8)) == 1
    entry = host.read(MANIFEST + 8, 64)
    version, info, address, size = struct.unpack_from("<IIQQ", entry)
    assert entry[0:4] == bytes.fromhex("00 00 00 01")       # file version 1.0.0
    assert entry[4:8] == bytes.fromhex("00 04 01 01")       # Device XML, ZIP, schema 1.1
    assert (version, info) == (0x01000000, 0x01010400)
    assert info & 0x7 == 0 and (info >> 10) & 0x3F == 1
    assert address == 0xB0000000
    assert entry[0x2C:] == bytes(20)                        # reserved
    data = host.read(address, size)
    assert entry[0x18:0x2C] == hashlib.sha1(data).digest()
    assert data == cam.genicam_zip

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 1 and names[0].endswith(".xml")
    root = etree.fromstring(archive.read(names[0]))
    assert etree.QName(root).localname == "RegisterDescription"
    assert root.get("VendorName") == "Basler"
    # The XML names itself as Basler's ace USB XML does (pylon copies this into saved files).
    assert (root.get("ModelName"), root.get("ProductGuid")) == (
        "UsbCameraParams", "5a809e15-f447-480f-a21f-0fb7256b8400")
    # The manifest's versions are those the XML itself states.
    file_version = tuple(int(root.get(k)) for k in ("MajorVersion", "MinorVersion",
                                                    "SubMinorVersion"))
    schema = tuple(int(root.get(k)) for k in ("SchemaMajorVersion", "SchemaMinorVersion"))
    assert (version >> 24, (version >> 16) & 0xFF, version & 0xFFFF) == file_version
    assert (info >> 24, (info >> 16) & 0xFF) == schema


# -- the Aravis bootstrap, step by step ------------------------------------------------------


def test_aravis_bootstrap_sequence(cam):
    host = RecordingHost(cam, request_id=65300)  # Aravis's first request id is 65301
    steps: list[tuple[int, int]] = []

    def read(address: int, length: int) -> bytes:
        steps.append((address, length))
        data = host.read(address, length)
        assert len(data) == length
        return data

    assert read(0x0004, 64) == text("Basler")                       # 1
    sbrm = u64(read(0x01D8, 8))                                     # 2
    assert sbrm == SBRM
    assert u32(read(0x01CC, 4)) == 50                               # 3
    assert u64(read(0x01C4, 8)) == 0x0E09                           # 4
    manifest = u64(read(0x01D0, 8))                                 # 5
    assert manifest == MANIFEST
    assert u64(read(sbrm + 0x04, 8)) & 0x1                          # 6: SIRM available
    cmd_max = u32(read(sbrm + 0x14, 4))                             # 7
    ack_max = u32(read(sbrm + 0x18, 4))                             # 8
    assert (cmd_max, ack_max) == (1024, 1024)
    sirm = u64(read(sbrm + 0x20, 8))                                # 9
    assert sirm == SIRM
    sirm_values = [u32(read(sirm + 0x00, 4)), u32(read(sirm + 0x04, 4)),  # 10-20
                   u64(read(sirm + 0x08, 8))]
    sirm_values += [u32(read(sirm + offset, 4))
                    for offset in (0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C)]
    assert sirm_values == [0x02000000, 0, 8_880_128, 1024, 1024, 0, 0, 0, 0, 0, 0]
    assert u64(read(manifest, 8)) == 1                              # 21
    entry = read(manifest + 8, 64)                                  # 22
    _, info, address, size = struct.unpack_from("<IIQQ", entry)
    assert (info >> 10) & 0x1F == 1                                 # ZIP
    # 23: the file, in ack_max - 12 = 1012-byte chunks.
    chunk = ack_max - 12
    data = b"".join(read(address + offset, min(chunk, size - offset))
                    for offset in range(0, size, chunk))
    assert data == cam.genicam_zip
    assert hashlib.sha1(data).digest() == entry[0x18:0x2C]

    assert len(steps) == 22 + -(-size // chunk)
    # Every read was one command with one successful ack of exactly the requested length.
    assert len(host.log) == len(steps)
    for request_id, ((address, length), (packet, acks)) in enumerate(zip(steps, host.log),
                                                                    start=65301):
        assert packet == gencp.readmem_command(request_id, address, length)
        assert len(acks) == 1
        assert acks[0][:12] == struct.pack("<IHHHH", 0x43563355, 0, 0x0801, length, request_id)
        assert len(acks[0]) == 12 + length
    assert host.pending_acks_seen == 0


@pytest.mark.parametrize("start", [1, 2, 3, 1013, 2047, 4093])
def test_genicam_file_read_at_unaligned_offsets(cam, start):
    host = RecordingHost(cam)
    size = len(cam.genicam_zip)
    data = host.read(0xB0000000 + start, size - start)  # 1012-byte pieces from an odd start
    assert data == cam.genicam_zip[start:]
    assert len(host.log) == -(-(size - start) // 1012)
    # Odd lengths too.
    for length in (1, 3, 7, 1011):
        assert host.read(0xB0000000 + start, length) == cam.genicam_zip[start:start + length]


# -- unaligned reads and region edges ------------------------------------------------------


ODD_READS = [(0x001, 3), (0x003, 2), (0x041, 7), (0x043, 5), (0x0C2, 5), (0x180, 9),
             (0x1C1, 13), (0x1C7, 2), (0x1CB, 3), (0x1CF, 11), (0x1D7, 2), (0x1DD, 7),
             (0x1EF, 3), (0x1F5, 9), (0x1FB, 3), (0x203, 6), (0x207, 6), (0x20B, 9),
             (0x24F, 1), (0x001, 0x24F), (0x0FF, 0x151), (0x000, 1)]


@pytest.mark.parametrize("address,length", ODD_READS)
def test_abrm_reads_across_register_boundaries(cam, address, length):
    host = InProcessHost(cam)
    assert host.read(address, length) == expected_abrm()[address:address + length]


def test_abrm_every_start_every_small_length(cam):
    host = InProcessHost(cam)
    image = expected_abrm()
    for length in (1, 2, 3, 5, 7, 13):
        for address in range(ABRM_SIZE - length + 1):
            assert host.read(address, length) == image[address:address + length], \
                (hex(address), length)


def test_sbrm_sirm_odd_reads(cam):
    host = InProcessHost(cam)
    sbrm, sirm = expected_sbrm(), expected_sirm()
    for address, length in ((0x01, 5), (0x13, 6), (0x27, 9), (0x2B, 10), (0x3F, 5)):
        assert host.read(SBRM + address, length) == sbrm[address:address + length]
    for address, length in ((0x03, 2), (0x07, 5), (0x0F, 6), (0x15, 27)):
        assert host.read(SIRM + address, length) == sirm[address:address + length]


@pytest.mark.parametrize("address,length", [
    (0x24C, 8),             # ABRM end
    (0x000, ABRM_SIZE + 1),
    (SBRM + 0x40, 8),       # SBRM end
    (SBRM - 4, 8),          # from unmapped into SBRM
    (SIRM + 0x2C, 8),
    (EIRM + 0x08, 8),
    (MANIFEST + 0x40, 16),  # the manifest holds one entry: 0x48 bytes
    (0xB0000000 - 1, 2),
])
def test_read_from_mapped_into_unmapped_fails(cam, address, length):
    host = InProcessHost(cam)
    assert status_of(host, address, length) == gencp.Status.INVALID_ADDRESS


def test_read_past_the_genicam_file_fails(cam):
    host = InProcessHost(cam)
    end = 0xB0000000 + len(cam.genicam_zip)
    assert host.read(end - 4, 4) == cam.genicam_zip[-4:]
    assert status_of(host, end - 4, 8) == gencp.Status.INVALID_ADDRESS
    assert status_of(host, end, 1) == gencp.Status.INVALID_ADDRESS


# -- timestamp latch -----------------------------------------------------------------------


def test_timestamp_latch_copies_device_clock():
    cam = Camera(now=100.0)
    host = InProcessHost(cam)
    host.clock.now = 100.0
    assert u64(host.read(0x1F0, 8)) == 0
    host.clock.now = 102.5
    host.write(0x1F8, bytes.fromhex("01 00 00 00"))
    assert host.read(0x1F0, 8) == (2_500_000_000).to_bytes(8, "little")
    assert cam.store.get("TimestampLatchValue") == 2_500_000_000
    # The latched value stays until the next latch; writing 0 latches nothing.
    host.clock.now = 103.0
    assert u64(host.read(0x1F0, 8)) == 2_500_000_000
    host.write(0x1F8, bytes(4))
    assert u64(host.read(0x1F0, 8)) == 2_500_000_000
    host.clock.now = 107.125
    host.write(0x1F8, (1).to_bytes(4, "little"))
    assert u64(host.read(0x1F0, 8)) == 7_125_000_000
    # TimestampLatch is write-only: reads as zero.
    assert host.read(0x1F8, 4) == bytes(4)


def test_timestamp_latch_counts_from_construction():
    cam = Camera(now=5.0)
    host = InProcessHost(cam)
    host.clock.now = 5.0
    host.write(0x1F8, (1).to_bytes(4, "little"))
    assert u64(host.read(0x1F0, 8)) == 0
    host.clock.now = 5.000001
    host.write(0x1F8, (1).to_bytes(4, "little"))
    assert u64(host.read(0x1F0, 8)) == 1000


# -- SIRM programming as Aravis does it ------------------------------------------------------


def aravis_sirm_values(host: InProcessHost) -> dict[int, int]:
    """Reference section 4.4 steps 1-4 with Aravis defaults (1 MiB maximum transfer)."""
    sbrm = u64(host.read(0x1D8, 8))
    sirm = u64(host.read(sbrm + 0x20, 8))
    alignment = 1 << (u32(host.read(sirm + 0x00, 4)) >> 24)
    payload = u64(host.read(sirm + 0x08, 8))
    leader = u32(host.read(sirm + 0x10, 4))
    trailer = u32(host.read(sirm + 0x14, 4))

    def align_up(value: int) -> int:
        return -(-value // alignment) * alignment

    aligned_max = (1 << 20) // alignment * alignment
    size = min(payload, aligned_max)
    return {0x18: align_up(leader) if leader else aligned_max,       # maximum leader
            0x2C: align_up(trailer) if trailer else aligned_max,     # maximum trailer
            0x1C: size,                                              # payload transfer size
            0x20: payload // size,                                   # payload transfer count
            0x24: align_up(payload % size),                          # final transfer 1
            0x28: 0}                                                 # final transfer 2


def test_sirm_programmed_like_aravis_enables_stream(cam):
    host = InProcessHost(cam)
    values = aravis_sirm_values(host)
    assert values == {0x18: 1024, 0x2C: 1024, 0x1C: 1_048_576, 0x20: 8, 0x24: 491_520,
                      0x28: 0}
    for offset, value in values.items():  # Aravis's order: leader, trailer, size, count, f1, f2
        host.write(SIRM + offset, value.to_bytes(4, "little"))
    for offset, value in values.items():
        assert u32(host.read(SIRM + offset, 4)) == value
    host.write(SIRM + 0x04, (1).to_bytes(4, "little"))
    assert u32(host.read(SIRM + 0x04, 4)) == 1
    assert cam.stream.enabled

    # While the stream is enabled the SIRM configuration is locked.
    for offset, value in values.items():
        with pytest.raises(ControlError) as error:
            host.write(SIRM + offset, (value + 4).to_bytes(4, "little"))
        assert error.value.status == gencp.Status.ACCESS_DENIED
        assert u32(host.read(SIRM + offset, 4)) == value
    assert u32(host.read(SIRM + 0x04, 4)) == 1

    # Disabled again, it can be reprogrammed.
    host.write(SIRM + 0x04, bytes(4))
    assert u32(host.read(SIRM + 0x04, 4)) == 0
    host.write(SIRM + 0x1C, (65536).to_bytes(4, "little"))
    assert u32(host.read(SIRM + 0x1C, 4)) == 65536


def test_sirm_short_by_one_alignment_unit_is_inconsistent(cam):
    host = InProcessHost(cam)
    values = aravis_sirm_values(host)
    values[0x24] -= 4
    for offset, value in values.items():
        host.write(SIRM + offset, value.to_bytes(4, "little"))
    with pytest.raises(ControlError) as error:
        host.write(SIRM + 0x04, (1).to_bytes(4, "little"))
    assert error.value.status == gencp.Status.SI_REGISTERS_INCONSISTENT
    assert u32(host.read(SIRM + 0x04, 4)) == 0


def test_sirm_read_only_registers(cam):
    host = InProcessHost(cam)
    for offset in (0x00, 0x08, 0x10, 0x14):
        size = 8 if offset == 0x08 else 4
        with pytest.raises(ControlError) as error:
            host.write(SIRM + offset, bytes(size))
        assert error.value.status == gencp.Status.WRITE_PROTECT
    assert host.read(SIRM, 0x30) == expected_sirm()
