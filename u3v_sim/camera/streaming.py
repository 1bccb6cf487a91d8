"""The stream channel: completed frames become U3V blocks (leader, payload in the
host-programmed transfer sizes, trailer) that a transport pulls as the host's IN requests
arrive.

USB semantics: a host transfer ends when its buffer is full or the device ends its own
transfer with a short packet (a zero-length packet when the device transfer is a multiple of
the maximum packet size). A device transfer longer than the host buffer, where the buffer is
not a multiple of the packet size, overflows. Frames wait in the camera's buffer memory while
the host does not read; when it is full, new frames are dropped and counted, as a real camera
does, never buffered without bound.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

from ..protocol import stream as sp
from .acquisition import FrameRecord
from .stream_interface import StreamInterface

MAX_PACKET_SIZE = 1024
# Frame memory of the camera (chosen: the real camera's buffer size is not published).
DEVICE_BUFFER_BYTES = 64 * 1024 * 1024


class TransferOverflow(Exception):
    """The device sent more than the host's buffer (not a packet multiple) could take."""

    def __init__(self, data: bytes):
        super().__init__(f"overflow after {len(data)} bytes")
        self.data = data


@dataclass
class StreamStats:
    frames_queued: int = 0
    frames_sent: int = 0
    frames_dropped_buffer_full: int = 0
    frames_dropped_not_streaming: int = 0
    frames_aborted: int = 0
    bytes_sent: int = 0
    transfers: int = 0
    zero_length_packets: int = 0
    overflows: int = 0


@dataclass
class Block:
    """One frame's transfers, in the order the device sends them, each with the time its
    last byte exists (the payload follows the sensor readout; the trailer ends it)."""
    record: FrameRecord
    transfers: list
    ready_at: list
    index: int = 0
    offset: int = 0

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.transfers)

    def next_ready(self) -> float:
        return self.ready_at[self.index]


def plan_block(record: FrameRecord, payload: memoryview, interface: StreamInterface,
               leader: bytes, trailer: Callable[[int, int], bytes]) -> Block:
    """Cut the payload into the programmed transfers; ``trailer(valid_size, status)``."""
    pieces = []
    sizes = [interface.payload_transfer_size] * interface.payload_transfer_count + [
        interface.payload_final_transfer1_size, interface.payload_final_transfer2_size]
    position = 0
    for size in sizes:
        if position >= len(payload):
            break
        if size:
            pieces.append(payload[position:position + size])
            position += len(pieces[-1])
    status = sp.STATUS_SUCCESS if position == len(payload) else sp.STATUS_DATA_OVERRUN
    start, span, total = record.readout_start, record.readout_end - record.readout_start, 0
    ready = [start]
    for piece in pieces:
        total += len(piece)
        ready.append(start + span * total / max(1, len(payload)))
    ready.append(record.readout_end)
    return Block(record, [leader, *pieces, trailer(position, status)], ready)


class StreamChannel:
    def __init__(self, interface: StreamInterface,
                 build_block: Callable[[FrameRecord], Block],
                 payload_bytes: Callable[[FrameRecord], int],
                 buffer_bytes: int = DEVICE_BUFFER_BYTES):
        self.interface = interface
        self.build_block = build_block
        self.payload_bytes = payload_bytes
        self.buffer_bytes = buffer_bytes
        self.queue: deque[FrameRecord] = deque()
        self.current: Block | None = None
        self.prepared: Block | None = None
        self.preparing: FrameRecord | None = None
        self.stats = StreamStats()
        # How late each frame's trailer went out after its readout ended (seconds, recent).
        self.lateness: deque[float] = deque(maxlen=1000)

    @property
    def buffered_bytes(self) -> int:
        held = [*self.queue, *(b.record for b in (self.current, self.prepared) if b),
                *([self.preparing] if self.preparing else [])]
        return sum(self.payload_bytes(r) for r in held)

    def push(self, record: FrameRecord) -> bool:
        """A frame finished readout; False if it was dropped."""
        if not self.interface.enabled:
            self.stats.frames_dropped_not_streaming += 1
            return False
        if self.buffered_bytes + self.payload_bytes(record) > self.buffer_bytes:
            self.stats.frames_dropped_buffer_full += 1
            return False
        self.queue.append(record)
        self.stats.frames_queued += 1
        return True

    # Building a block renders the frame (milliseconds): a transport may do it ahead, outside
    # its I/O thread, with take_for_preparation() / finish_preparation().

    def needs_preparation(self) -> bool:
        return self.prepared is None and self.preparing is None and bool(self.queue)

    def take_for_preparation(self) -> FrameRecord | None:
        if self.prepared is not None or self.preparing is not None or not self.queue:
            return None
        self.preparing = self.queue.popleft()
        return self.preparing

    def finish_preparation(self, record: FrameRecord, block: Block | None) -> None:
        """Hand over a prepared block; None: it could not be built, the frame is lost."""
        if self.preparing is not record:  # reset meanwhile
            return
        self.preparing = None
        if block is None:
            self.stats.frames_aborted += 1
        else:
            self.prepared = block

    def next_data_time(self) -> float | None:
        """When the next transfer's data exists (None: no frame is waiting)."""
        block = self.current or self.prepared
        if block is not None:
            return block.next_ready()
        return self.queue[0].readout_start if self.queue else None

    def read(self, length: int, now: float = float("inf")) -> memoryview | None:
        """Answer one host IN transfer of ``length`` bytes at ``now``; None while there is
        nothing to send (no frame, or its next rows are not read out yet)."""
        if self.current is None:
            if not self.interface.enabled:
                return None
            if self.prepared is not None:
                self.current, self.prepared = self.prepared, None
            elif self.queue and self.preparing is None:
                self.current = self.build_block(self.queue.popleft())
            else:
                return None
        block = self.current
        if now < block.next_ready():
            return None
        transfer = memoryview(block.transfers[block.index])[block.offset:]
        data = transfer[:length]
        self.stats.transfers += 1
        self.stats.bytes_sent += len(data)
        if len(transfer) > length and length % MAX_PACKET_SIZE:
            # The packet that did not fit is lost: the host sees an overflow error.
            lost_to = min(len(transfer), -(-length // MAX_PACKET_SIZE) * MAX_PACKET_SIZE)
            self._consume(block, lost_to, now)
            self.stats.overflows += 1
            raise TransferOverflow(bytes(data))
        if len(transfer) <= length and len(transfer) % MAX_PACKET_SIZE == 0 \
                and len(transfer) < length:
            self.stats.zero_length_packets += 1
        self._consume(block, len(data), now)
        return data

    def _consume(self, block: Block, n: int, now: float) -> None:
        block.offset += n
        if block.offset >= len(block.transfers[block.index]):
            block.index += 1
            block.offset = 0
            if block.index == len(block.transfers):
                self.stats.frames_sent += 1
                self.lateness.append(now - block.record.readout_end)
                self.current = None

    def reset(self) -> None:
        """Clear-halt on the stream endpoint, or the stream disabled: drop what is pending."""
        held = (self.current, self.prepared, self.preparing)
        self.stats.frames_aborted += len(self.queue) + sum(x is not None for x in held)
        self.queue.clear()
        self.current = self.prepared = self.preparing = None
