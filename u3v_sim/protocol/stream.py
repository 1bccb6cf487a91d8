"""U3V streaming protocol: leader, trailer and chunk layout (reference section 4).

A block is a leader transfer, the payload in the host-programmed transfer sizes, and a trailer
transfer. With chunks, the payload is the image followed by chunk blocks, each
``[data][u32 chunk id][u32 data length]``, which hosts walk backwards from the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

LEADER_MAGIC = 0x4C563355   # "U3VL"
TRAILER_MAGIC = 0x54563355  # "U3VT"
PAYLOAD_IMAGE = 0x0001
PAYLOAD_IMAGE_EXTENDED_CHUNK = 0x4001
PAYLOAD_CHUNK = 0x4000

STATUS_SUCCESS = 0x0000
STATUS_DATA_DISCARDED = 0xA100
STATUS_DATA_OVERRUN = 0xA101
STATUS_NAMES = {STATUS_SUCCESS: "SUCCESS", STATUS_DATA_DISCARDED: "DATA_DISCARDED",
                STATUS_DATA_OVERRUN: "DATA_OVERRUN"}

# magic, reserved, leader size, block id, reserved, payload type, then the image part.
IMAGE_LEADER = struct.Struct("<IHHQHHQIIIIIHH")
# magic, reserved, trailer size, block id, status, reserved, valid payload size, size_y.
IMAGE_TRAILER = struct.Struct("<IHHQHHQI")
CHUNK_LAYOUT = struct.Struct("<I")
CHUNK_TAG = struct.Struct("<II")  # chunk id, data length
LEADER_SIZE = IMAGE_LEADER.size
TRAILER_SIZE = IMAGE_TRAILER.size
CHUNK_TRAILER_SIZE = IMAGE_TRAILER.size + CHUNK_LAYOUT.size


@dataclass(frozen=True)
class ImageLeader:
    block_id: int
    timestamp_ns: int
    pixel_format: int
    width: int
    height: int
    offset_x: int
    offset_y: int
    padding_x: int = 0
    payload_type: int = PAYLOAD_IMAGE

    def pack(self) -> bytes:
        return IMAGE_LEADER.pack(LEADER_MAGIC, 0, LEADER_SIZE, self.block_id, 0,
                                 self.payload_type, self.timestamp_ns, self.pixel_format,
                                 self.width, self.height, self.offset_x, self.offset_y,
                                 self.padding_x, 0)


@dataclass(frozen=True)
class ImageTrailer:
    block_id: int
    valid_payload_size: int
    size_y: int
    status: int = STATUS_SUCCESS
    chunk_layout_id: int | None = None  # set for Image Extended Chunk blocks

    def pack(self) -> bytes:
        size = TRAILER_SIZE if self.chunk_layout_id is None else CHUNK_TRAILER_SIZE
        out = IMAGE_TRAILER.pack(TRAILER_MAGIC, 0, size, self.block_id, self.status, 0,
                                 self.valid_payload_size, self.size_y)
        if self.chunk_layout_id is not None:
            out += CHUNK_LAYOUT.pack(self.chunk_layout_id)
        return out


def chunk(chunk_id: int, data: bytes) -> bytes:
    return bytes(data) + CHUNK_TAG.pack(chunk_id, len(data))
