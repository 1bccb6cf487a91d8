"""The streaming interface register map (SIRM) and the checks a device makes when the host
enables the stream: the programmed transfers must carry the leader, the whole payload and the
trailer, in sizes that respect the payload alignment."""

from __future__ import annotations

import struct
from typing import Callable

from u3v_features.bootstrap import SIRM

from ..protocol.gencp import ProtocolError, Status
from .bootstrap import u32
from .registers import Field, Region

ALIGNMENT_LOG2 = 2                 # payload transfers are multiples of 4 bytes (Basler)
ALIGNMENT = 1 << ALIGNMENT_LOG2
SI_INFO = ALIGNMENT_LOG2 << 24
REQUIRED_LEADER_SIZE = 1024        # what a real Basler reports; the leader itself is 52 bytes
REQUIRED_TRAILER_SIZE = 1024
LEADER_SIZE = 52
TRAILER_SIZE = 32
CHUNK_TRAILER_SIZE = 36
SI_ENABLE = 1

# Host-programmed registers, by offset, in SIRM order.
PROGRAMMED = {
    SIRM.MAXIMUM_LEADER_SIZE: "maximum_leader_size",
    SIRM.PAYLOAD_TRANSFER_SIZE: "payload_transfer_size",
    SIRM.PAYLOAD_TRANSFER_COUNT: "payload_transfer_count",
    SIRM.PAYLOAD_FINAL_TRANSFER1_SIZE: "payload_final_transfer1_size",
    SIRM.PAYLOAD_FINAL_TRANSFER2_SIZE: "payload_final_transfer2_size",
    SIRM.MAXIMUM_TRAILER_SIZE: "maximum_trailer_size",
}
# Every programmed transfer size is a multiple of the payload size alignment (SI Info): the
# leader and trailer transfers too, as hosts size them (Aravis and cameleon round both up to
# the alignment) and as other vendors' devices insist (Aravis #209, cameleon #94); whether
# Basler's own firmware refuses an unaligned leader or trailer size is not documented.
_ALIGNED = {"maximum_leader_size", "payload_transfer_size", "payload_final_transfer1_size",
            "payload_final_transfer2_size", "maximum_trailer_size"}


class StreamInterface:
    def __init__(self, payload_size: Callable[[], int], trailer_size: Callable[[], int]):
        self.payload_size = payload_size
        self.trailer_size = trailer_size
        self.reset()

    def reset(self) -> None:
        self.enabled = False
        self.maximum_leader_size = 0
        self.payload_transfer_size = 0
        self.payload_transfer_count = 0
        self.payload_final_transfer1_size = 0
        self.payload_final_transfer2_size = 0
        self.maximum_trailer_size = 0

    def check_consistent(self) -> None:
        """Raise the status a device answers when the programmed transfers can't carry a block."""
        capacity = (self.payload_transfer_size * self.payload_transfer_count
                    + self.payload_final_transfer1_size + self.payload_final_transfer2_size)
        if (self.maximum_leader_size < LEADER_SIZE
                or self.maximum_trailer_size < self.trailer_size()
                or capacity < self.payload_size()
                or (self.payload_transfer_count and not self.payload_transfer_size)):
            raise ProtocolError(Status.SI_REGISTERS_INCONSISTENT,
                                "stream transfers do not fit leader, payload and trailer")

    def write_control(self, data: bytes) -> float:
        value = int.from_bytes(data, "little")
        if value & ~SI_ENABLE:
            raise ProtocolError(Status.INVALID_PARAMETER, "SI Control has only the enable bit")
        if value and not self.enabled:
            self.check_consistent()
        if self.enabled and not value:
            self.on_disable()
        self.enabled = bool(value)
        return 0.0

    def _programmed_field(self, offset: int, attribute: str) -> Field:
        def read() -> bytes:
            return struct.pack("<I", getattr(self, attribute))

        def write(data: bytes) -> float:
            if self.enabled:
                raise ProtocolError(Status.ACCESS_DENIED, "stream enabled: SIRM is locked")
            value = int.from_bytes(data, "little")
            if attribute in _ALIGNED and value % ALIGNMENT:
                raise ProtocolError(Status.SI_PAYLOAD_SIZE_NOT_ALIGNED,
                                    f"{attribute} must be a multiple of {ALIGNMENT}")
            setattr(self, attribute, value)
            return 0.0

        return Field(SIRM.BASE + offset, 4, read, write, name=attribute)

    def region(self, on_disable: Callable[[], None] = lambda: None) -> Region:
        """The SIRM; ``on_disable`` runs when the host clears the stream enable bit."""
        self.on_disable = on_disable
        b = SIRM.BASE
        fields = [
            Field(b + SIRM.SI_INFO, 4, u32(SI_INFO), name="SIInfo"),
            Field(b + SIRM.SI_CONTROL, 4, lambda: struct.pack("<I", int(self.enabled)),
                  self.write_control, name="SIControl"),
            Field(b + SIRM.REQUIRED_PAYLOAD_SIZE, 8,
                  lambda: struct.pack("<Q", self.payload_size()), name="RequiredPayloadSize"),
            Field(b + SIRM.REQUIRED_LEADER_SIZE, 4, u32(REQUIRED_LEADER_SIZE),
                  name="RequiredLeaderSize"),
            Field(b + SIRM.REQUIRED_TRAILER_SIZE, 4, u32(REQUIRED_TRAILER_SIZE),
                  name="RequiredTrailerSize"),
            *(self._programmed_field(o, a) for o, a in PROGRAMMED.items()),
        ]
        return Region("SIRM", b, SIRM.SIZE, fields)
