"""An in-process host for a camera: real UVCP packets, no USB, a virtual clock.

The host side behaves like Aravis: it numbers requests, splits reads and writes into pieces
that fit the device's maximum ack and command lengths, and on a PENDING_ACK waits (moving the
virtual clock on) for the real ack. Tests and tools use it to drive a camera exactly as a USB
host would, with every packet visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..camera.bootstrap import (MAX_ACK_TRANSFER_LENGTH, MAX_COMMAND_TRANSFER_LENGTH,
                                MAX_DEVICE_RESPONSE_TIME_MS)
from ..camera.camera import Camera
from ..protocol import gencp
from ..protocol.control import ControlChannel


class ControlError(Exception):
    def __init__(self, status: int, address: int):
        name = gencp.Status(status).name if status in gencp.Status._value2member_map_ else "?"
        super().__init__(f"device answered 0x{status:04x} ({name}) at 0x{address:x}")
        self.status = status
        self.address = address


@dataclass
class VirtualClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class InProcessHost:
    camera: Camera
    clock: VirtualClock = field(default_factory=VirtualClock)
    request_id: int = 0
    pending_acks_seen: int = 0

    def __post_init__(self) -> None:
        self.channel = ControlChannel(self.camera,
                                      max_command_length=MAX_COMMAND_TRANSFER_LENGTH,
                                      max_ack_length=MAX_ACK_TRANSFER_LENGTH,
                                      response_time_s=MAX_DEVICE_RESPONSE_TIME_MS / 1000)

    def next_request_id(self) -> int:
        self.request_id = self.request_id % 0xFFFF + 1
        return self.request_id

    def transact(self, packet: bytes) -> gencp.Ack:
        """Send one command and return its final ack, waiting out PENDING_ACKs."""
        request_id = gencp.Header.parse(packet).request_id
        acks = [gencp.Ack.parse(a) for a in self.channel.receive(packet, self.clock())]
        while True:
            final = [a for a in acks if a.request_id == request_id
                     and a.command_id != gencp.CommandId.PENDING_ACK]
            if final:
                return final[-1]
            if not any(a.command_id == gencp.CommandId.PENDING_ACK for a in acks):
                raise RuntimeError("device sent no ack")
            self.pending_acks_seen += 1
            self.clock.now = max(self.clock.now, self.channel.next_deadline())
            acks = [gencp.Ack.parse(a) for a in self.channel.due_acks(self.clock())]

    def read(self, address: int, length: int) -> bytes:
        out = bytearray()
        step = MAX_ACK_TRANSFER_LENGTH - gencp.HEADER_SIZE
        for offset in range(0, length, step):
            n = min(step, length - offset)
            ack = self.transact(gencp.readmem_command(self.next_request_id(),
                                                      address + offset, n))
            if ack.status != gencp.Status.SUCCESS:
                raise ControlError(ack.status, address + offset)
            out += ack.scd
        return bytes(out)

    def write(self, address: int, data: bytes) -> None:
        """One WRITEMEM, or several for data longer than a command carries (4-byte-aligned
        pieces, as Aravis writes a large register)."""
        step = (MAX_COMMAND_TRANSFER_LENGTH - gencp.HEADER_SIZE - 8) // 4 * 4
        for offset in range(0, max(1, len(data)), step):
            piece = data[offset:offset + step]
            ack = self.transact(gencp.writemem_command(self.next_request_id(),
                                                       address + offset, piece))
            if ack.status != gencp.Status.SUCCESS:
                raise ControlError(ack.status, address + offset)
            if ack.written != len(piece):
                raise ControlError(gencp.Status.GENERIC_ERROR, address + offset)
