"""Host-side helpers for the stream: program the SIRM the way Aravis does, pull blocks the way
its async mode queues URBs, and an independent parser for leaders, trailers and chunks."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from u3v_features.bootstrap import SIRM
from u3v_sim.transports.inproc import InProcessHost

MAX_TRANSFER = 1024 * 1024


class ConstantGenerator:
    """A frame generator for byte-level tests: each frame is a known pattern."""

    def render(self, settings, frame_index, timestamp_ns):
        bits = {"Mono8": 8, "Mono10": 16, "Mono12": 16, "Mono10p": 10, "Mono12p": 12}
        size = -(-settings.width * settings.height * bits[settings.pixel_format] // 8)
        return memoryview(bytes((frame_index + i) % 251 for i in range(251)) * (size // 251)
                          + bytes(size % 251))


def sirm(host: InProcessHost, offset: int, length: int = 4) -> int:
    return int.from_bytes(host.read(SIRM.BASE + offset, length), "little")


@dataclass
class StreamProgram:
    leader: int
    trailer: int
    payload_size: int
    transfer_size: int
    count: int
    final1: int


def program_like_aravis(host: InProcessHost, max_transfer: int = MAX_TRANSFER) -> StreamProgram:
    alignment = 1 << (sirm(host, SIRM.SI_INFO) >> 24)
    payload = sirm(host, SIRM.REQUIRED_PAYLOAD_SIZE, 8)
    aligned_max = max_transfer // alignment * alignment

    def align(n):
        return -(-n // alignment) * alignment

    leader = align(sirm(host, SIRM.REQUIRED_LEADER_SIZE))
    trailer = align(sirm(host, SIRM.REQUIRED_TRAILER_SIZE))
    size = min(payload, aligned_max)
    count, final1 = payload // size, align(payload % size)
    for offset, value in ((SIRM.MAXIMUM_LEADER_SIZE, leader), (SIRM.MAXIMUM_TRAILER_SIZE, trailer),
                          (SIRM.PAYLOAD_TRANSFER_SIZE, size), (SIRM.PAYLOAD_TRANSFER_COUNT, count),
                          (SIRM.PAYLOAD_FINAL_TRANSFER1_SIZE, final1),
                          (SIRM.PAYLOAD_FINAL_TRANSFER2_SIZE, 0)):
        host.write(SIRM.BASE + offset, struct.pack("<I", value))
    host.write(SIRM.BASE + SIRM.SI_CONTROL, struct.pack("<I", 1))
    return StreamProgram(leader, trailer, payload, size, count, final1)


@dataclass
class ParsedBlock:
    block_id: int
    payload_type: int
    timestamp: int
    pixel_format: int
    width: int
    height: int
    offset_x: int
    offset_y: int
    payload: bytes
    status: int
    valid_payload_size: int
    size_y: int
    chunk_layout_id: int | None
    transfer_lengths: list


def parse_leader(data: bytes) -> dict:
    magic, _, size, block_id, _, ptype = struct.unpack_from("<IHHQHH", data)
    assert magic == 0x4C563355 and size == len(data) == 52
    ts, pf, w, h, ox, oy, pad, _ = struct.unpack_from("<QIIIIIHH", data, 20)
    assert pad == 0
    return dict(block_id=block_id, payload_type=ptype, timestamp=ts, pixel_format=pf,
                width=w, height=h, offset_x=ox, offset_y=oy)


def parse_trailer(data: bytes) -> dict:
    magic, _, size, block_id, status, _, valid, size_y = struct.unpack_from("<IHHQHHQI", data)
    assert magic == 0x54563355 and size == len(data) in (32, 36)
    layout = struct.unpack_from("<I", data, 32)[0] if size == 36 else None
    return dict(block_id=block_id, status=status, valid_payload_size=valid, size_y=size_y,
                chunk_layout_id=layout)


def pull_block(camera, program: StreamProgram, now: float) -> ParsedBlock | None:
    """Read one block with Aravis-async-sized requests; None if no frame is waiting."""
    first = camera.read_stream(program.leader, now)
    if first is None:
        return None
    lengths = [len(first)]
    leader = parse_leader(bytes(first))
    payload = bytearray()
    requests = [program.transfer_size] * program.count + ([program.final1] if program.final1
                                                          else [])
    for request in requests:
        piece = camera.read_stream(request, now)
        lengths.append(len(piece))
        payload += piece
    trailer_bytes = camera.read_stream(program.trailer, now)
    lengths.append(len(trailer_bytes))
    trailer = parse_trailer(bytes(trailer_bytes))
    assert trailer["block_id"] == leader["block_id"]
    return ParsedBlock(payload=bytes(payload), transfer_lengths=lengths,
                       **leader, **{k: v for k, v in trailer.items() if k != "block_id"})


def walk_chunks(payload: bytes) -> dict[int, bytes]:
    """Chunks walked backwards from the end, as Aravis does."""
    chunks, end = {}, len(payload)
    while end >= 8:
        chunk_id, length = struct.unpack_from("<II", payload, end - 8)
        start = end - 8 - length
        assert start >= 0
        chunks[chunk_id] = payload[start:end - 8]
        end = start
    assert end == 0
    return chunks
