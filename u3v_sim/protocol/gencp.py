"""GenCP over USB3 Vision (UVCP): command and acknowledge packets.

Layouts from the U3V reference (../shared/reference/u3v-protocol.md section 2), all fields
little-endian. Both directions are here: the device parses commands and builds acks; test
clients and host-side tools build commands and parse acks with the same definitions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

COMMAND_PREFIX = 0x43563355  # "U3VC"
HEADER = struct.Struct("<IHHHH")  # prefix, flags|status, command id, SCD length, request id
HEADER_SIZE = HEADER.size
READMEM_SCD = struct.Struct("<QHH")  # address, reserved, read length
WRITEMEM_ADDRESS = struct.Struct("<Q")
WRITEMEM_ACK_SCD = struct.Struct("<HH")  # reserved, bytes written
PENDING_ACK_SCD = struct.Struct("<HH")  # reserved, temporary timeout (ms)

FLAG_REQUEST_ACK = 0x4000
FLAG_COMMAND_RESEND = 0x8000
KNOWN_FLAGS = FLAG_REQUEST_ACK | FLAG_COMMAND_RESEND


class CommandId(IntEnum):
    READMEM = 0x0800
    READMEM_ACK = 0x0801
    WRITEMEM = 0x0802
    WRITEMEM_ACK = 0x0803
    PENDING_ACK = 0x0805
    READMEM_STACKED = 0x0806
    WRITEMEM_STACKED = 0x0808
    EVENT = 0x0C00
    EVENT_ACK = 0x0C01


class Status(IntEnum):
    SUCCESS = 0x0000
    NOT_IMPLEMENTED = 0x8001
    INVALID_PARAMETER = 0x8002
    INVALID_ADDRESS = 0x8003
    WRITE_PROTECT = 0x8004
    BAD_ALIGNMENT = 0x8005
    ACCESS_DENIED = 0x8006
    BUSY = 0x8007
    MSG_TIMEOUT = 0x800B
    INVALID_HEADER = 0x800E
    WRONG_CONFIG = 0x800F
    GENERIC_ERROR = 0x8FFF
    RESEND_NOT_SUPPORTED = 0xA001
    STREAM_ENDPOINT_HALTED = 0xA002
    SI_PAYLOAD_SIZE_NOT_ALIGNED = 0xA003
    SI_REGISTERS_INCONSISTENT = 0xA004
    EVENT_ENDPOINT_HALTED = 0xA005


class ProtocolError(Exception):
    """A command the device refuses; ``status`` is what its ack carries."""

    def __init__(self, status: Status, message: str = ""):
        super().__init__(message or status.name)
        self.status = status


@dataclass(frozen=True)
class Header:
    prefix: int
    flags: int  # the status, in an ack
    command_id: int
    scd_length: int
    request_id: int

    @classmethod
    def parse(cls, packet: bytes) -> "Header":
        """Parse the 12-byte header; a packet too short for one is zero-extended."""
        return cls(*HEADER.unpack(bytes(packet[:HEADER_SIZE]).ljust(HEADER_SIZE, b"\0")))


@dataclass(frozen=True)
class ReadMem:
    address: int
    length: int


@dataclass(frozen=True)
class WriteMem:
    address: int
    data: bytes


def ack_id_for(command_id: int) -> int:
    """The ack id answering a command id: GenCP acks are the command id plus one."""
    return (command_id + 1) & 0xFFFF


def parse_command(packet: bytes, max_length: int) -> tuple[Header, ReadMem | WriteMem]:
    """Validate a command packet and decode its SCD, or raise ProtocolError."""
    header = Header.parse(packet)
    if len(packet) < HEADER_SIZE or header.prefix != COMMAND_PREFIX:
        raise ProtocolError(Status.INVALID_HEADER, "bad prefix or short packet")
    if header.flags & ~KNOWN_FLAGS:
        raise ProtocolError(Status.INVALID_HEADER, f"reserved flag bits 0x{header.flags:04x}")
    if HEADER_SIZE + header.scd_length != len(packet):
        raise ProtocolError(Status.INVALID_HEADER,
                            f"SCD length {header.scd_length} but {len(packet) - 12} bytes sent")
    if len(packet) > max_length:
        raise ProtocolError(Status.INVALID_PARAMETER, "command longer than the maximum")
    scd = bytes(packet[HEADER_SIZE:])
    if header.command_id == CommandId.READMEM:
        if len(scd) != READMEM_SCD.size:
            raise ProtocolError(Status.INVALID_PARAMETER, "READMEM SCD must be 12 bytes")
        address, reserved, length = READMEM_SCD.unpack(scd)
        if reserved:
            raise ProtocolError(Status.INVALID_PARAMETER, "READMEM reserved field not zero")
        return header, ReadMem(address, length)
    if header.command_id == CommandId.WRITEMEM:
        if len(scd) <= WRITEMEM_ADDRESS.size:
            raise ProtocolError(Status.INVALID_PARAMETER, "WRITEMEM without data")
        (address,) = WRITEMEM_ADDRESS.unpack_from(scd)
        return header, WriteMem(address, scd[WRITEMEM_ADDRESS.size:])
    raise ProtocolError(Status.NOT_IMPLEMENTED, f"command 0x{header.command_id:04x}")


def build_ack(status: int, command_id: int, request_id: int, scd: bytes = b"") -> bytes:
    return HEADER.pack(COMMAND_PREFIX, status, command_id, len(scd), request_id) + scd


def readmem_ack(request_id: int, data: bytes) -> bytes:
    return build_ack(Status.SUCCESS, CommandId.READMEM_ACK, request_id, data)


def writemem_ack(request_id: int, written: int, status: int = Status.SUCCESS) -> bytes:
    return build_ack(status, CommandId.WRITEMEM_ACK, request_id,
                     WRITEMEM_ACK_SCD.pack(0, written))


def pending_ack(request_id: int, timeout_ms: int) -> bytes:
    return build_ack(Status.SUCCESS, CommandId.PENDING_ACK, request_id,
                     PENDING_ACK_SCD.pack(0, min(timeout_ms, 0xFFFF)))


def error_ack(status: int, header: Header) -> bytes:
    """The ack for a refused command: a WRITEMEM ack still says how much was written (0)."""
    ack_id = ack_id_for(header.command_id)
    if header.command_id == CommandId.WRITEMEM:
        return writemem_ack(header.request_id, 0, status)
    return build_ack(status, ack_id, header.request_id)


# Host side: what a client sends and how it reads the answer.

def readmem_command(request_id: int, address: int, length: int,
                    flags: int = FLAG_REQUEST_ACK) -> bytes:
    scd = READMEM_SCD.pack(address, 0, length)
    return HEADER.pack(COMMAND_PREFIX, flags, CommandId.READMEM, len(scd), request_id) + scd


def writemem_command(request_id: int, address: int, data: bytes,
                     flags: int = FLAG_REQUEST_ACK) -> bytes:
    scd = WRITEMEM_ADDRESS.pack(address) + bytes(data)
    return HEADER.pack(COMMAND_PREFIX, flags, CommandId.WRITEMEM, len(scd), request_id) + scd


@dataclass(frozen=True)
class Ack:
    status: int
    command_id: int
    request_id: int
    scd: bytes

    @classmethod
    def parse(cls, packet: bytes) -> "Ack":
        header = Header.parse(packet)
        if len(packet) < HEADER_SIZE or header.prefix != COMMAND_PREFIX:
            raise ValueError("not a UVCP ack")
        if len(packet) != HEADER_SIZE + header.scd_length:
            raise ValueError("ack length does not match its SCD length")
        return cls(header.flags, header.command_id, header.request_id,
                   bytes(packet[HEADER_SIZE:]))

    @property
    def written(self) -> int:
        return WRITEMEM_ACK_SCD.unpack(self.scd)[1]

    @property
    def pending_timeout_ms(self) -> int:
        return PENDING_ACK_SCD.unpack(self.scd)[1]
