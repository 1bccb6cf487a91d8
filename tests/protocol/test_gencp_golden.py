"""GenCP (UVCP) packets on the control channel, checked byte for byte against hand-written vectors.

Every vector below was written field by field from the layouts in u3v-protocol.md section 2
(12-byte header: prefix "U3VC" = 55 33 56 43, u16 flags|status, u16 command id, u16 SCD length,
u16 request id, all little-endian; READMEM SCD = u64 address, u16 reserved, u16 length;
WRITEMEM SCD = u64 address + data; WRITEMEM_ACK / PENDING_ACK SCD = u16 reserved, u16 value),
not copied from the code's output. Feature registers have no address fixed by the standard, so
their commands are a hand-written header followed by the address the layout gives, packed here
with int.to_bytes (independent of the codec under test).
"""

from __future__ import annotations

import math

import pytest

from u3v_sim.camera import camera as camera_module
from u3v_sim.camera.camera import Camera
from u3v_sim.protocol import control as control_module
from u3v_sim.protocol import gencp
from u3v_sim.protocol.control import ControlChannel

PREFIX = "55 33 56 43"
SBRM_ADDRESS = 0xAFFC0000
SIRM_BASE = 0xAFFD0000


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def le(value: int, size: int) -> str:
    return value.to_bytes(size, "little").hex(" ")


def fresh() -> tuple[Camera, ControlChannel]:
    cam = Camera()
    return cam, ControlChannel(cam, max_command_length=1024, max_ack_length=1024,
                               response_time_s=0.05)


def reg(cam: Camera, feature: str) -> int:
    register = cam.layout.value_register(feature)
    assert register is not None, feature
    return register.address


def readmem(request_id: int, address: int, length: int) -> bytes:
    """READMEM written from the reference table (24 bytes)."""
    return h(f"{PREFIX} 00 40 00 08 0c 00 {le(request_id, 2)} {le(address, 8)} 00 00 "
             f"{le(length, 2)}")


def writemem(request_id: int, address: int, data_hex: str) -> bytes:
    data = h(data_hex)
    return h(f"{PREFIX} 00 40 02 08 {le(8 + len(data), 2)} {le(request_id, 2)} "
             f"{le(address, 8)}") + data


def error_read_ack(status: int, request_id: int, ack_id: int = 0x0801) -> bytes:
    return h(f"{PREFIX} {le(status, 2)} {le(ack_id, 2)} 00 00 {le(request_id, 2)}")


def error_write_ack(status: int, request_id: int) -> bytes:
    return h(f"{PREFIX} {le(status, 2)} 03 08 04 00 {le(request_id, 2)} 00 00 00 00")


def only_ack(channel: ControlChannel, packet: bytes, now: float = 0.0) -> bytes:
    acks = channel.receive(packet, now)
    assert len(acks) == 1, acks
    ack = acks[0]
    # Exact length: 12-byte header + the SCD length it announces, never padded.
    assert len(ack) == 12 + int.from_bytes(ack[8:10], "little")
    assert ack[:4] == h(PREFIX)
    return ack


# -- READMEM / WRITEMEM success --------------------------------------------------------------


def test_readmem_sbrm_address_aravis_style():
    _, channel = fresh()
    command = h("55 33 56 43 00 40 00 08 0c 00 15 ff"   # header, request id 65301 = 0xff15
                "d8 01 00 00 00 00 00 00 00 00 08 00")  # address 0x1d8, reserved, length 8
    assert command == readmem(65301, 0x1D8, 8)
    assert gencp.readmem_command(65301, 0x1D8, 8) == command  # host builder agrees
    ack = only_ack(channel, command)
    assert ack == h("55 33 56 43 00 00 01 08 08 00 15 ff"   # SUCCESS, 0x0801, 8 bytes, id
                    "00 00 fc af 00 00 00 00")             # SBRM address 0xaffc0000
    parsed = gencp.Ack.parse(ack)
    assert (parsed.status, parsed.command_id, parsed.request_id) == (0, 0x0801, 65301)


def test_readmem_request_ids_are_echoed_whatever_they_are():
    _, channel = fresh()
    for request_id in (0, 1, 0x7FFF, 0xFFFF):
        ack = only_ack(channel, readmem(request_id, 0x0000, 4))
        assert ack == h(f"{PREFIX} 00 00 01 08 04 00 {le(request_id, 2)} 00 00 01 00")


def test_readmem_longest_read_fills_the_ack_exactly():
    _, channel = fresh()
    command = h("55 33 56 43 00 40 00 08 0c 00 02 00"
                "00 00 00 b0 00 00 00 00 00 00 f4 03")  # GenICam file, 1012 bytes
    ack = only_ack(channel, command)
    assert len(ack) == 1024
    assert ack[:12] == h("55 33 56 43 00 00 01 08 f4 03 02 00")
    assert ack[12:16] == b"PK\x03\x04"  # the ZIP's local file header signature


def test_readmem_without_request_ack_flag_or_with_resend_flag_is_still_answered():
    _, channel = fresh()
    for flags in ("00 00", "00 80", "00 c0"):
        command = h(f"{PREFIX} {flags} 00 08 0c 00 05 00 cc 01 00 00 00 00 00 00 00 00 04 00")
        assert only_ack(channel, command) == h(f"{PREFIX} 00 00 01 08 04 00 05 00 32 00 00 00")


def test_writemem_device_user_id():
    cam, channel = fresh()
    command = h("55 33 56 43 00 40 02 08 0e 00 16 ff"   # WRITEMEM, SCD 14 bytes, id 65302
                "84 01 00 00 00 00 00 00"               # ABRM 0x184 User Defined Name
                "63 61 6d 2d 30 31")                    # "cam-01"
    assert command == gencp.writemem_command(65302, 0x184, b"cam-01")
    ack = only_ack(channel, command)
    assert ack == h("55 33 56 43 00 00 03 08 04 00 16 ff 00 00 06 00")  # {reserved 0, 6}
    assert gencp.Ack.parse(ack).written == 6
    assert cam.store.get("DeviceUserID") == "cam-01"
    back = only_ack(channel, readmem(65303, 0x184, 64))
    assert back == h(f"{PREFIX} 00 00 01 08 40 00 17 ff") + b"cam-01" + bytes(58)


def test_writemem_full_64_byte_user_id():
    cam, channel = fresh()
    name = bytes(range(0x41, 0x41 + 26)) * 2 + b"0123456789ab"
    assert len(name) == 64
    ack = only_ack(channel, writemem(9, 0x184, name.hex()))
    assert ack == h(f"{PREFIX} 00 00 03 08 04 00 09 00 00 00 40 00")
    assert cam.store.get("DeviceUserID") == name.decode()


# -- PENDING_ACK ------------------------------------------------------------------------------


def test_user_set_save_pending_ack_then_final_ack():
    cam, channel = fresh()
    selector, save = reg(cam, "UserSetSelector"), reg(cam, "UserSetSave")
    # UserSetSelector = UserSet1 (entry value 1)
    select = h(f"{PREFIX} 00 40 02 08 0c 00 10 00 {le(selector, 8)} 01 00 00 00")
    assert only_ack(channel, select, 0.5) == h(f"{PREFIX} 00 00 03 08 04 00 10 00 00 00 04 00")

    busy_s = camera_module.USER_SET_SAVE_S
    assert busy_s > 0.05  # longer than the response time: that is why it is pending
    timeout_ms = math.ceil((busy_s + control_module.PENDING_MARGIN_S) * 1000)
    assert busy_s * 1000 <= timeout_ms <= 0xFFFF

    execute = h(f"{PREFIX} 00 40 02 08 0c 00 11 00 {le(save, 8)} 01 00 00 00")
    pending = only_ack(channel, execute, 1.0)
    # PENDING_ACK 0x0805: SCD = reserved 0, temporary timeout in ms.
    assert pending == h(f"{PREFIX} 00 00 05 08 04 00 11 00 00 00 {le(timeout_ms, 2)}")
    assert gencp.Ack.parse(pending).pending_timeout_ms == timeout_ms
    deadline = channel.next_deadline()
    assert deadline == pytest.approx(1.0 + busy_s)

    # Before the deadline: nothing due, and any command is answered BUSY (0x8007).
    assert channel.due_acks(1.1) == []
    width_before = cam.store.get("Width")
    assert only_ack(channel, readmem(0x12, 0x1D8, 8), 1.1) == error_read_ack(0x8007, 0x12)
    assert only_ack(channel, writemem(0x13, reg(cam, "Width"), "00 01 00 00"), 1.2) == \
        error_write_ack(0x8007, 0x13)
    assert cam.store.get("Width") == width_before  # the refused write changed nothing
    assert channel.due_acks(deadline - 1e-6) == []

    # At the deadline the real WRITEMEM_ACK arrives, once.
    assert channel.due_acks(deadline) == [h(f"{PREFIX} 00 00 03 08 04 00 11 00 00 00 04 00")]
    assert channel.due_acks(deadline + 1.0) == []
    assert channel.next_deadline() is None
    assert "UserSet1" in cam.user_sets.sets
    # The channel is free again.
    assert only_ack(channel, readmem(0x14, 0x1CC, 4), deadline + 1.0) == \
        h(f"{PREFIX} 00 00 01 08 04 00 14 00 32 00 00 00")


def test_command_after_the_deadline_gets_the_overdue_ack_first():
    cam, channel = fresh()
    only_ack(channel, writemem(1, reg(cam, "UserSetSelector"), "02 00 00 00"), 0.0)
    pending = only_ack(channel, writemem(2, reg(cam, "UserSetSave"), "01 00 00 00"), 0.0)
    assert pending[6:8] == h("05 08")
    acks = channel.receive(readmem(3, 0x1CC, 4), 10.0)  # due_acks was never called
    assert acks == [h(f"{PREFIX} 00 00 03 08 04 00 02 00 00 00 04 00"),
                    h(f"{PREFIX} 00 00 01 08 04 00 03 00 32 00 00 00")]
    assert channel.next_deadline() is None


# -- error acks -----------------------------------------------------------------------------


def test_invalid_header_bad_prefix():
    _, channel = fresh()
    command = h("55 33 56 44 00 40 00 08 0c 00 20 00 d8 01 00 00 00 00 00 00 00 00 08 00")
    assert only_ack(channel, command) == h("55 33 56 43 0e 80 01 08 00 00 20 00")
    # A WRITEMEM with a bad prefix: still the 16-byte WRITEMEM_ACK shape with {0, 0}.
    command = h("55 33 56 42 00 40 02 08 0c 00 21 00 84 01 00 00 00 00 00 00 41 42 43 44")
    assert only_ack(channel, command) == h("55 33 56 43 0e 80 03 08 04 00 21 00 00 00 00 00")


def test_invalid_header_short_packet_zero_extended():
    _, channel = fresh()
    # 8 bytes: prefix, flags, command id; SCD length and request id missing (read as 0).
    assert only_ack(channel, h("55 33 56 43 00 40 00 08")) == \
        h("55 33 56 43 0e 80 01 08 00 00 00 00")
    # 11 bytes: the request id's high byte is missing.
    assert only_ack(channel, h("55 33 56 43 00 40 00 08 0c 00 07")) == \
        h("55 33 56 43 0e 80 01 08 00 00 07 00")
    assert only_ack(channel, b"") == h("55 33 56 43 0e 80 01 00 00 00 00 00")


@pytest.mark.parametrize("flags", ["01 40", "00 41", "00 20", "ff ff"])
def test_invalid_header_reserved_flag_bits(flags):
    cam, channel = fresh()
    command = h(f"{PREFIX} {flags} 00 08 0c 00 22 00 d8 01 00 00 00 00 00 00 00 00 08 00")
    assert only_ack(channel, command) == h(f"{PREFIX} 0e 80 01 08 00 00 22 00")
    command = h(f"{PREFIX} {flags} 02 08 0c 00 23 00 84 01 00 00 00 00 00 00 41 42 43 00")
    assert only_ack(channel, command) == error_write_ack(0x800E, 0x23)
    assert cam.store.get("DeviceUserID") == ""


def test_invalid_header_scd_length_mismatch():
    cam, channel = fresh()
    # READMEM announcing 13 SCD bytes but carrying 12, and announcing 11.
    for length in ("0d 00", "0b 00", "00 00", "ff ff"):
        command = h(f"{PREFIX} 00 40 00 08 {length} 24 00 d8 01 00 00 00 00 00 00 00 00 08 00")
        assert only_ack(channel, command) == h(f"{PREFIX} 0e 80 01 08 00 00 24 00")
    # READMEM with one extra trailing byte.
    command = h(f"{PREFIX} 00 40 00 08 0c 00 25 00 d8 01 00 00 00 00 00 00 00 00 08 00 00")
    assert only_ack(channel, command) == h(f"{PREFIX} 0e 80 01 08 00 00 25 00")
    # WRITEMEM announcing 12 SCD bytes but carrying 13.
    command = h(f"{PREFIX} 00 40 02 08 0c 00 26 00 84 01 00 00 00 00 00 00 41 42 43 44 45")
    assert only_ack(channel, command) == error_write_ack(0x800E, 0x26)
    assert cam.store.get("DeviceUserID") == ""


def test_not_implemented_unknown_command():
    _, channel = fresh()
    command = h(f"{PREFIX} 00 40 00 09 00 00 30 00")
    assert only_ack(channel, command) == h(f"{PREFIX} 01 80 01 09 00 00 30 00")
    command = h(f"{PREFIX} 00 40 00 09 04 00 31 00 de ad be ef")
    assert only_ack(channel, command) == h(f"{PREFIX} 01 80 01 09 00 00 31 00")


def test_not_implemented_stacked_commands():
    cam, channel = fresh()
    # READMEM_STACKED 0x0806: one entry {address 0x1d8, reserved, length 8}.
    command = h(f"{PREFIX} 00 40 06 08 0c 00 32 00 d8 01 00 00 00 00 00 00 00 00 08 00")
    assert only_ack(channel, command) == h(f"{PREFIX} 01 80 07 08 00 00 32 00")
    # WRITEMEM_STACKED 0x0808: one entry {address 0x184, reserved, length 4, "ABCD"}.
    command = h(f"{PREFIX} 00 40 08 08 10 00 33 00 84 01 00 00 00 00 00 00 00 00 04 00"
                "41 42 43 44")
    assert only_ack(channel, command) == h(f"{PREFIX} 01 80 09 08 00 00 33 00")
    assert cam.store.get("DeviceUserID") == ""


def test_invalid_address():
    _, channel = fresh()
    # Unmapped reads: right after the ABRM, and far away.
    assert only_ack(channel, readmem(0x40, 0x300, 4)) == error_read_ack(0x8003, 0x40)
    assert only_ack(channel, readmem(0x41, 0x50000000, 8)) == error_read_ack(0x8003, 0x41)
    # Writes to gaps inside the ABRM (Heartbeat Timeout / Access Privilege are not supported,
    # capability bits 1 and 2 clear) and past its end.
    assert only_ack(channel, writemem(0x42, 0x1E8, "e8 03 00 00")) == \
        error_write_ack(0x8003, 0x42)
    assert only_ack(channel, writemem(0x43, 0x204, "01 00 00 00")) == \
        error_write_ack(0x8003, 0x43)
    assert only_ack(channel, writemem(0x44, 0x300, "01 00 00 00")) == \
        error_write_ack(0x8003, 0x44)
    assert only_ack(channel, readmem(0x45, 0x1E8, 8)) == \
        h(f"{PREFIX} 00 00 01 08 08 00 45 00 00 00 00 00 00 00 00 00")


def test_write_protect():
    cam, channel = fresh()
    sensor_width = reg(cam, "SensorWidth")
    assert only_ack(channel, writemem(0x50, sensor_width, "00 08 00 00")) == \
        error_write_ack(0x8004, 0x50)
    assert only_ack(channel, readmem(0x51, sensor_width, 4)) == \
        h(f"{PREFIX} 00 00 01 08 04 00 51 00 10 10 00 00")  # still 4112
    # ABRM GenCP Version (read-only): stays 1.0.
    assert only_ack(channel, writemem(0x52, 0x0000, "00 00 02 00")) == \
        error_write_ack(0x8004, 0x52)
    assert only_ack(channel, readmem(0x53, 0x0000, 4)) == \
        h(f"{PREFIX} 00 00 01 08 04 00 53 00 00 00 01 00")
    # Manufacturer name (read-only string).
    assert only_ack(channel, writemem(0x54, 0x0004, "41 42 43 00")) == \
        error_write_ack(0x8004, 0x54)


def test_bad_alignment():
    cam, channel = fresh()
    width = reg(cam, "Width")
    assert only_ack(channel, writemem(0x60, width + 2, "00 01")) == \
        error_write_ack(0x8005, 0x60)
    assert only_ack(channel, writemem(0x61, width + 1, "00 01 00 00")) == \
        error_write_ack(0x8005, 0x61)
    # Inside the User Defined Name string and inside the 8-byte Device Capability.
    assert only_ack(channel, writemem(0x62, 0x186, "41 42")) == error_write_ack(0x8005, 0x62)
    assert only_ack(channel, writemem(0x63, 0x1C8, "00 00 00 00")) == \
        error_write_ack(0x8005, 0x63)
    assert cam.store.get("Width") == 4096
    assert cam.store.get("DeviceUserID") == ""


def test_invalid_parameter_readmem_scd_size():
    _, channel = fresh()
    # READMEM whose (consistent) SCD length is 10 or 16 instead of 12.
    command = h(f"{PREFIX} 00 40 00 08 0a 00 70 00 d8 01 00 00 00 00 00 00 00 00")
    assert only_ack(channel, command) == error_read_ack(0x8002, 0x70)
    command = h(f"{PREFIX} 00 40 00 08 10 00 71 00 d8 01 00 00 00 00 00 00 00 00 08 00"
                "00 00 00 00")
    assert only_ack(channel, command) == error_read_ack(0x8002, 0x71)
    command = h(f"{PREFIX} 00 40 00 08 00 00 72 00")
    assert only_ack(channel, command) == error_read_ack(0x8002, 0x72)


def test_invalid_parameter_read_lengths():
    _, channel = fresh()
    assert only_ack(channel, readmem(0x73, 0x0000, 0)) == error_read_ack(0x8002, 0x73)
    assert only_ack(channel, readmem(0x74, 0x0000, 1013)) == error_read_ack(0x8002, 0x74)
    assert only_ack(channel, readmem(0x75, 0x0000, 0xFFFF)) == error_read_ack(0x8002, 0x75)
    # 1012 is the largest read that fits a 1024-byte ack.
    assert len(only_ack(channel, readmem(0x76, 0xB0000000, 1012))) == 1024


def test_invalid_parameter_writemem_without_data_and_overlong_command():
    cam, channel = fresh()
    command = h(f"{PREFIX} 00 40 02 08 08 00 77 00 84 01 00 00 00 00 00 00")
    assert only_ack(channel, command) == error_write_ack(0x8002, 0x77)
    # 12 + 8 + 1005 = 1025 bytes > MaximumCommandTransferLength 1024.
    assert only_ack(channel, writemem(0x78, 0x184, ("41 " * 1005).strip())) == \
        error_write_ack(0x8002, 0x78)
    assert cam.store.get("DeviceUserID") == ""


def test_invalid_parameter_register_values():
    cam, channel = fresh()
    width = reg(cam, "Width")
    # Wrong length for a 4-byte register: 2 and 8 bytes.
    assert only_ack(channel, writemem(0x80, width, "00 01")) == error_write_ack(0x8002, 0x80)
    assert only_ack(channel, writemem(0x81, width, "00 01 00 00 00 00 00 00")) == \
        error_write_ack(0x8002, 0x81)
    # Width 4200 > WidthMax (4104 with OffsetX 8); 4100 is not on the increment 8; 8 < 16.
    for request_id, value in ((0x82, 4200), (0x83, 4100), (0x84, 8)):
        assert only_ack(channel, writemem(request_id, width, le(value, 4))) == \
            error_write_ack(0x8002, request_id)
    assert cam.store.get("Width") == 4096
    # PixelFormat 0x12345678 is no entry.
    assert only_ack(channel, writemem(0x85, reg(cam, "PixelFormat"), "78 56 34 12")) == \
        error_write_ack(0x8002, 0x85)
    assert cam.store.get("PixelFormat") == "Mono8"
    # Boolean 2.
    assert only_ack(channel, writemem(0x86, reg(cam, "ReverseX"), "02 00 00 00")) == \
        error_write_ack(0x8002, 0x86)
    assert cam.store.get("ReverseX") is False
    # A good value for contrast: Width 1024 is accepted.
    assert only_ack(channel, writemem(0x87, width, "00 04 00 00")) == \
        h(f"{PREFIX} 00 00 03 08 04 00 87 00 00 00 04 00")
    assert cam.store.get("Width") == 1024


def test_access_denied():
    cam, channel = fresh()
    # OffsetX is locked while CenterX is on.
    cam.store.write("CenterX", True)
    assert only_ack(channel, writemem(0x90, reg(cam, "OffsetX"), "00 00 00 00")) == \
        error_write_ack(0x8006, 0x90)
    assert cam.store.get("OffsetX") == 8
    # UserSetSave is locked while UserSetSelector is Default.
    assert only_ack(channel, writemem(0x91, reg(cam, "UserSetSave"), "01 00 00 00")) == \
        error_write_ack(0x8006, 0x91)
    assert cam.user_sets.sets == {}


def test_stream_interface_statuses():
    cam, channel = fresh()
    # PayloadTransferSize 1,048,577 is not a multiple of the 4-byte alignment.
    assert only_ack(channel, writemem(0xA0, SIRM_BASE + 0x1C, "01 00 10 00")) == \
        error_write_ack(0xA003, 0xA0)
    assert only_ack(channel, readmem(0xA1, SIRM_BASE + 0x1C, 4)) == \
        h(f"{PREFIX} 00 00 01 08 04 00 a1 00 00 00 00 00")
    # SI Control = 1 with nothing programmed.
    assert only_ack(channel, writemem(0xA2, SIRM_BASE + 0x04, "01 00 00 00")) == \
        error_write_ack(0xA004, 0xA2)
    assert only_ack(channel, readmem(0xA3, SIRM_BASE + 0x04, 4)) == \
        h(f"{PREFIX} 00 00 01 08 04 00 a3 00 00 00 00 00")
    assert cam.stream.enabled is False


def test_every_status_the_device_produces_is_a_known_status():
    """Sanity of the codec's enum against the reference table (section 2.3)."""
    expected = {0x0000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006, 0x8007, 0x800B,
                0x800E, 0x800F, 0x8FFF, 0xA001, 0xA002, 0xA003, 0xA004, 0xA005}
    assert {int(s) for s in gencp.Status} == expected
    assert gencp.CommandId.READMEM + 1 == gencp.CommandId.READMEM_ACK == 0x0801
    assert gencp.CommandId.WRITEMEM + 1 == gencp.CommandId.WRITEMEM_ACK == 0x0803
    assert gencp.CommandId.PENDING_ACK == 0x0805
