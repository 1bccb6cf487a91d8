"""Property tests of the control channel: whatever bytes arrive, the device answers each command
with exactly one well-formed final ack (possibly after a PENDING_ACK), never raises, never reports
an internal error, and a refused command (or any read) leaves the device exactly as it was.

Inputs: random bytes, and valid READMEM/WRITEMEM commands aimed at the mapped regions, their
edges and their registers, then mutated (bit flips, truncation, extension, header fields
overwritten), sent in sequences with a virtual clock that sometimes runs past a pending
command's deadline and sometimes not (so BUSY and overdue acks both happen).
"""

from __future__ import annotations

import copy
import struct
from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from u3v_sim.camera.camera import Camera
from u3v_sim.protocol import gencp
from u3v_sim.protocol.control import ControlChannel

MAX_LENGTH = 1024
PREFIX = 0x43563355
READMEM, READMEM_ACK = 0x0800, 0x0801
WRITEMEM, WRITEMEM_ACK = 0x0802, 0x0803
PENDING_ACK = 0x0805
STATUSES = {int(s) for s in gencp.Status}
SBRM, SIRM, EIRM = 0xAFFC0000, 0xAFFD0000, 0xAFFE0000

_TEMPLATE = Camera()
REGIONS = [(r.base, r.size) for r in _TEMPLATE.space.regions]
REGISTERS = [(f.address, f.length) for r in _TEMPLATE.space.regions for f in r.fields
             if f.length <= 64]
WRITABLE = [(f.address, f.length) for r in _TEMPLATE.space.regions for f in r.fields
            if f.write is not None]
FILE_BASE, GENICAM_ZIP = 0xB0000000, _TEMPLATE.genicam_zip
INTERESTING_VALUES = [0, 1, 2, 3, 4, 8, 16, 64, 1024, 4096, 4104, 2168, 491_520, 1_048_576,
                      0x01080001, 0x01100003, 0x7FFFFFFF, 0xFFFFFFFF]


def new_channel() -> tuple[Camera, ControlChannel]:
    cam = Camera()
    return cam, ControlChannel(cam, max_command_length=MAX_LENGTH, max_ack_length=MAX_LENGTH,
                               response_time_s=0.05)


# -- strategies ---------------------------------------------------------------------------


def addresses() -> st.SearchStrategy[int]:
    regions = st.sampled_from(REGIONS)
    inside = regions.flatmap(lambda r: st.integers(r[0], r[0] + r[1] - 1))
    registers = st.sampled_from(REGISTERS)
    return st.one_of(
        inside, inside,
        regions.flatmap(lambda r: st.integers(-16, 16).map(lambda d: r[0] + d)),  # start edge
        regions.flatmap(lambda r: st.integers(-16, 16).map(lambda d: r[0] + r[1] + d)),
        registers.map(lambda f: f[0]),                                          # registers
        registers.flatmap(lambda f: st.integers(-2, 2).map(lambda d: f[0] + d)),
        st.integers(0, 2**64 - 1),
    ).map(lambda a: a % 2**64)


read_lengths = st.one_of(st.integers(1, 16), st.integers(1, 72), st.integers(0, 1100),
                         st.integers(0, 0xFFFF),
                         st.sampled_from([0, 1, 2, 4, 8, 64, 1011, 1012, 1013, 0xFFFF]))


def register_data(length: int) -> st.SearchStrategy[bytes]:
    values = st.one_of(st.integers(0, 16), st.sampled_from(INTERESTING_VALUES),
                       st.integers(0, 2**(8 * min(length, 8)) - 1))
    packed = values.map(lambda v: (v % 2**(8 * length)).to_bytes(length, "little"))
    if length == 8:
        floats = st.floats(allow_nan=True, allow_infinity=True).map(lambda x: struct.pack("<d", x))
        packed = st.one_of(packed, floats)
    if length == 64:
        packed = st.one_of(packed, st.text(max_size=70).map(lambda t: t.encode()[:64]))
    return packed


@st.composite
def valid_commands(draw) -> bytes:
    request_id = draw(st.integers(0, 0xFFFF))
    flags = draw(st.sampled_from([gencp.FLAG_REQUEST_ACK, 0, gencp.FLAG_COMMAND_RESEND,
                                  gencp.FLAG_REQUEST_ACK | gencp.FLAG_COMMAND_RESEND]))
    kind = draw(st.sampled_from(["read", "read", "write", "register_write", "writable"]))
    if kind == "read":
        return gencp.readmem_command(request_id, draw(addresses()), draw(read_lengths), flags)
    if kind == "write":
        data = draw(st.binary(min_size=0, max_size=72))
        return gencp.writemem_command(request_id, draw(addresses()), data, flags)
    if kind == "writable":
        address, length = draw(st.sampled_from(WRITABLE))
    else:
        address, length = draw(st.sampled_from(REGISTERS))
        length = draw(st.one_of(st.just(length), st.integers(0, 72)))
    data = draw(register_data(length)) if length else b""
    return gencp.writemem_command(request_id, address, data, flags)


@st.composite
def mutated_commands(draw) -> bytes:
    packet = bytearray(draw(valid_commands()))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        mutation = draw(st.sampled_from(["flip", "truncate", "extend", "field", "none"]))
        if mutation == "flip" and packet:
            index = draw(st.integers(0, len(packet) - 1))
            packet[index] ^= 1 << draw(st.integers(0, 7))
        elif mutation == "truncate":
            del packet[draw(st.integers(0, len(packet))):]
        elif mutation == "extend":
            packet += draw(st.binary(min_size=1, max_size=16))
        elif mutation == "field" and len(packet) >= 12:
            offset = draw(st.sampled_from([4, 6, 8, 10, 20, 22]))
            if offset + 2 <= len(packet):
                packet[offset:offset + 2] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "little")
    return bytes(packet)


def prefixed_random(data: bytes) -> bytes:
    return struct.pack("<I", PREFIX) + data


packets = st.one_of(
    valid_commands(),
    mutated_commands(),
    st.binary(max_size=64),
    st.binary(max_size=40).map(prefixed_random),
)
time_steps = st.sampled_from([0.0, 0.0, 0.001, 0.04, 0.1, 0.2, 0.3, 1.0])


# -- the checker ------------------------------------------------------------------------------


def _optional(cam: Camera, path: str) -> object:
    """Internal state that may or may not exist in this version of the camera model."""
    value: object = cam
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return copy.deepcopy(list(value) if not isinstance(value, (dict, int, bool)) else value)


def snapshot(cam: Camera) -> tuple:
    """All the device state a host can see or that a command could change: the feature values,
    the bootstrap and streaming register maps, user sets, latched timestamp, stream enable."""
    space = cam.space
    return (dict(cam.store.values),
            space.read(0, 0x250), space.read(SBRM, 0x44), space.read(SIRM, 0x30),
            space.read(EIRM, 0x0C),
            copy.deepcopy(cam.user_sets.sets), cam.user_sets.startup_set,
            cam.latched_timestamp, cam.stream.enabled,
            _optional(cam, "acquisition.acquiring"), _optional(cam, "acquisition.counters"),
            _optional(cam, "event_packets"))


def header_fields(packet: bytes) -> tuple[int, int, int]:
    """(command id, SCD length, request id) of a packet, zero-extended to 12 bytes."""
    head = bytes(packet[:12]).ljust(12, b"\0")
    _, _, command_id, scd_length, request_id = struct.unpack("<IHHHH", head)
    return command_id, scd_length, request_id


def check_ack_shape(raw: bytes) -> gencp.Ack:
    assert len(raw) <= MAX_LENGTH
    ack = gencp.Ack.parse(raw)  # raises on bad prefix or length != 12 + SCD length
    assert ack.status in STATUSES, hex(ack.status)
    assert ack.status != gencp.Status.GENERIC_ERROR, "the device raised internally"
    return ack


@dataclass
class Outstanding:
    request_id: int
    written: int
    due: float


def check_final_of_pending(ack: gencp.Ack, pending: Outstanding) -> None:
    assert ack.request_id == pending.request_id
    assert ack.command_id == WRITEMEM_ACK
    assert ack.status == gencp.Status.SUCCESS
    assert ack.scd == struct.pack("<HH", 0, pending.written)


class Driver:
    def __init__(self) -> None:
        self.cam, self.channel = new_channel()
        self.now = 0.0
        self.pending: Outstanding | None = None
        self.answered = 0

    def send(self, packet: bytes, dt: float) -> None:
        self.now += dt
        command_id, _, request_id = header_fields(packet)
        # Bring the camera to `now` first (a read changes nothing), so that what time alone
        # does (a running acquisition, the sensor warming up) is not blamed on the command.
        self.cam.read(0, 4, self.now)
        before = snapshot(self.cam)
        raw = self.channel.receive(packet, self.now)
        acks = [check_ack_shape(a) for a in raw]

        busy = False
        if self.pending is not None:
            if self.now >= self.pending.due:  # the overdue final ack comes first
                assert len(acks) >= 1
                check_final_of_pending(acks.pop(0), self.pending)
                self.pending = None
            else:
                busy = True
        assert len(acks) == 1, f"{len(acks)} acks for one command"
        ack = acks[0]
        self.answered += 1
        kind = "PENDING" if ack.command_id == PENDING_ACK and not busy else \
            gencp.Status(ack.status).name
        event(f"0x{command_id:04x} -> {kind}" if command_id in (READMEM, WRITEMEM)
              else f"other command -> {kind}")
        assert ack.request_id == request_id

        if not busy and command_id == WRITEMEM and ack.command_id == PENDING_ACK:
            assert ack.status == gencp.Status.SUCCESS
            reserved, timeout_ms = struct.unpack("<HH", ack.scd)
            deadline = self.channel.next_deadline()
            assert reserved == 0 and deadline is not None and deadline > self.now
            assert timeout_ms >= (deadline - self.now) * 1000
            self.pending = Outstanding(request_id, len(packet) - 20, deadline)
            return

        assert ack.command_id == gencp.ack_id_for(command_id)
        if busy:
            assert ack.status == gencp.Status.BUSY
        success = ack.status == gencp.Status.SUCCESS
        if command_id == WRITEMEM:
            assert len(ack.scd) == 4
            reserved, written = struct.unpack("<HH", ack.scd)
            assert reserved == 0
            assert written == (len(packet) - 20 if success else 0)
        elif success:
            assert command_id == READMEM
            (address, reserved, length) = struct.unpack_from("<QHH", packet, 12)
            assert reserved == 0 and 0 < length <= MAX_LENGTH - 12
            assert len(ack.scd) == length
            if FILE_BASE <= address and address + length <= FILE_BASE + len(GENICAM_ZIP):
                assert ack.scd == GENICAM_ZIP[address - FILE_BASE:address - FILE_BASE + length]
        else:
            assert ack.scd == b""
        if not success or command_id == READMEM:
            # Refused commands, and all reads, leave the device as it was.
            assert snapshot(self.cam) == before, "a refused command or a read changed state"
        if self.pending is None:
            assert self.channel.next_deadline() is None

    def finish(self) -> None:
        if self.pending is None:
            assert self.channel.due_acks(self.now + 1e6) == []
            return
        if self.pending.due > self.now:
            assert self.channel.due_acks(self.now) == []
        self.now = max(self.now, self.channel.next_deadline())
        acks = [check_ack_shape(a) for a in self.channel.due_acks(self.now)]
        assert len(acks) == 1
        check_final_of_pending(acks[0], self.pending)
        self.pending = None
        assert self.channel.next_deadline() is None
        assert self.channel.due_acks(self.now + 1e6) == []


# -- properties -------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.binary(max_size=128))
def test_random_bytes(packet):
    driver = Driver()
    driver.send(packet, 0.0)
    driver.finish()


@FUZZ
@given(mutated_commands())
def test_one_mutated_command_on_a_fresh_camera(packet):
    driver = Driver()
    driver.send(packet, 0.0)
    driver.finish()


@settings(FUZZ, max_examples=250)
@given(st.lists(st.tuples(packets, time_steps), min_size=1, max_size=12))
def test_command_sequences(steps):
    driver = Driver()
    for packet, dt in steps:
        driver.send(packet, dt)
    driver.finish()
    assert driver.answered == len(steps)


@st.composite
def slow_then_anything(draw):
    """A write that makes the device busy (UserSetLoad, UserSetSave of a user set), then
    commands at times before and after its deadline. (DeviceReset is acknowledged at once.)"""
    layout = _TEMPLATE.layout
    one = (1).to_bytes(4, "little")
    choice = draw(st.sampled_from(["load", "save"]))
    first = []
    if choice == "save":
        user_set = draw(st.integers(1, 3))
        first.append((gencp.writemem_command(
            1, layout.value_register("UserSetSelector").address,
            user_set.to_bytes(4, "little")), 0.0))
        feature = "UserSetSave"
    else:
        feature = "UserSetLoad"
    first.append((gencp.writemem_command(2, layout.value_register(feature).address, one), 0.0))
    rest = draw(st.lists(st.tuples(packets, time_steps), min_size=1, max_size=6))
    return first, rest


@settings(FUZZ, max_examples=150)
@given(slow_then_anything())
def test_pending_then_anything(case):
    first, rest = case
    driver = Driver()
    for packet, dt in first:
        driver.send(packet, dt)
    assert driver.pending is not None  # the slow write was answered with a PENDING_ACK
    for packet, dt in rest:
        driver.send(packet, dt)
    driver.finish()
