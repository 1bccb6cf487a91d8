"""The stream channel: completed frames become U3V blocks (leader, payload in the
host-programmed transfer sizes, trailer) that a transport pulls as the host's IN requests
arrive.

USB semantics: a host transfer ends when its buffer is full or the device ends its own
transfer with a short packet (a zero-length packet when the device transfer is a multiple of
the maximum packet size). A device transfer longer than the host buffer, where the buffer is
not a multiple of the packet size, overflows. Frames wait in the camera's buffer memory while
the host does not read; when it is full, new frames are dropped and counted, as a real camera
does, never buffered without bound.

The camera buffer is bounded twice, as a real camera's frame memory is: in bytes
(``DEVICE_BUFFER_BYTES``) and in frames (``DEVICE_BUFFER_FRAMES``, the number of on-camera
frame buffers). A frame occupies the buffer from the end of its exposure until its trailer
has gone out (or it is discarded). Every operation on the frame path is O(1): the buffered
frames and bytes are running totals, never sums over the queue.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..protocol import stream as sp
from .acquisition import FrameRecord
from .observations import FrameDropped, FrameSent, Observation
from .stream_interface import StreamInterface

MAX_PACKET_SIZE = 1024
# Frame memory of the camera (chosen: the real camera's buffer size is not published).
DEVICE_BUFFER_BYTES = 64 * 1024 * 1024
# Frame buffers of the camera. Chosen: Basler publishes no image-buffer figure for the ace USB
# (its spec tables list none; FLIR Blackfly S publishes 240 MB, Teledyne DALSA Linea 256 MB
# as one block, neither a frame count). 128 buffers hold 7 full frames' worth of the 64 MiB
# at the default ROI (the byte bound decides there) and keep a small-ROI stream at 1000 fps
# within 128 ms of real time, as a fixed set of buffer descriptors in camera memory would.
DEVICE_BUFFER_FRAMES = 128


# How late the daemon may serve a transfer whose data is due while the host waits (its
# pacing loop wakes within about 2 ms): a later read means the host came late.
SERVING_SLACK_S = 0.005


class TransferOverflow(Exception):
    """The device sent more than the host's buffer (not a packet multiple) could take."""

    def __init__(self, data: bytes):
        super().__init__(f"overflow after {len(data)} bytes")
        self.data = data


@dataclass
class StreamStats:
    """Counters of the stream channel; drops by cause: the camera buffer full (bytes or
    frames), the stream not enabled, the simulator too slow to produce them in real time
    (``frames_dropped_daemon_overload``: counted by ``Camera`` when it skips ahead, and here
    when the buffer fills after the host waited for a frame still being rendered)."""
    frames_queued: int = 0
    frames_sent: int = 0
    frames_dropped_buffer_full: int = 0
    frames_dropped_not_streaming: int = 0
    frames_dropped_daemon_overload: int = 0
    frames_dropped_fault: int = 0          # a harness injected dropped_frame
    frames_aborted: int = 0
    frames_sent_failed: int = 0            # sent with a trailer status other than SUCCESS
    bytes_sent: int = 0
    transfers: int = 0
    zero_length_packets: int = 0
    overflows: int = 0


@dataclass
class Block:
    """One frame's transfers, in the order the device sends them, each with the time its
    last byte exists (the payload follows the sensor readout; the trailer ends it).
    ``link_rate`` (bytes/s): a slow link's pace for the payload (None: the readout's);
    ``trailer_delay`` (seconds): how late the trailer leaves after the payload;
    ``readout_bytes``: the payload the sensor reads out (a truncated one sends less)."""
    record: FrameRecord
    transfers: list
    ready_at: list = field(default_factory=list)
    status: int = sp.STATUS_SUCCESS   # the trailer's
    readout_bytes: int = 0
    link_rate: float | None = None
    trailer_delay: float = 0.0
    index: int = 0
    offset: int = 0

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.transfers)

    def next_ready(self) -> float:
        return self.ready_at[self.index]

    def schedule(self, link_free_at: float = float("-inf")) -> None:
        """When each transfer's data exists: the leader at the readout's start, the payload
        at the readout's pace, or on a slow link at its rate from when the link is free
        (one frame at a time: a frame's payload waits for the one before it), the trailer
        after both the readout and the payload."""
        record = self.record
        start = max(record.readout_start, link_free_at) if self.link_rate \
            else record.readout_start
        span = record.readout_end - record.readout_start
        ready, total = [start], 0
        for piece in self.transfers[1:-1]:
            total += len(piece)
            ready.append(start + (total / self.link_rate if self.link_rate
                                  else span * total / max(1, self.readout_bytes)))
        ready.append(max(record.readout_end, ready[-1]) + self.trailer_delay)
        self.ready_at = ready


def plan_block(record: FrameRecord, payload, interface: StreamInterface,
               leader: bytes, trailer: Callable[[int, int], bytes]) -> Block:
    """Cut the payload (a memoryview, or a blocks.JoinedPayload: anything with len() and
    contiguous slices) into the programmed transfers; ``trailer(valid_size, status)``.

    The frame's injected stream faults (``record.faults``, faults.py) change what is sent:
    a truncated payload fills the programmed transfers only so far (the rest end at once, as
    zero-length transfers, so the host's transfers stay in step) and its trailer says the
    short size and DATA_OVERRUN; a failed buffer's trailer says DATA_DISCARDED; a slow link
    paces the payload at its rate; a delayed trailer leaves late."""
    faults = record.faults
    pieces = []
    sizes = [interface.payload_transfer_size] * interface.payload_transfer_count + [
        interface.payload_final_transfer1_size, interface.payload_final_transfer2_size]
    sent = len(payload)
    if "truncated_payload" in faults:
        fraction = min(1.0, max(0.0, faults["truncated_payload"].param("fraction")))
        sent = int(len(payload) * fraction) // 4 * 4
    position = planned = 0
    for size in sizes:
        if planned >= len(payload):
            break
        if size:
            pieces.append(payload[position:min(position + size, sent)])
            planned += size
            position += len(pieces[-1])
    if position < len(payload):
        status = sp.STATUS_DATA_OVERRUN
    elif "failed_buffer" in faults:
        status = sp.STATUS_DATA_DISCARDED
    else:
        status = sp.STATUS_SUCCESS
    block = Block(record, [leader, *pieces, trailer(position, status)], status=status,
                  readout_bytes=len(payload))
    if "slow_link" in faults:
        block.link_rate = faults["slow_link"].param("rate_mb_s") * 1e6
    if "delayed_trailer" in faults:
        block.trailer_delay = faults["delayed_trailer"].param("delay_ms") / 1e3
    block.schedule()
    return block


class StreamChannel:
    """The camera's frame buffer and the stream endpoint's data (see the module docstring).

    ``buffer_bytes`` and ``buffer_frames`` bound the frames held; ``payload_bytes(record)``
    gives a frame's size in that memory (read once when the frame enters, once when it
    leaves: the record's settings never change).
    """

    def __init__(self, interface: StreamInterface,
                 build_block: Callable[[FrameRecord], Block],
                 payload_bytes: Callable[[FrameRecord], int],
                 emit: Callable[[Observation], None] = lambda observation: None,
                 clock_ns: Callable[[], int] = lambda: 0,
                 buffer_bytes: int = DEVICE_BUFFER_BYTES,
                 buffer_frames: int = DEVICE_BUFFER_FRAMES):
        self.interface = interface
        # Observations of frames sent and lost, stamped with the device clock (ns).
        self.emit, self.clock_ns = emit, clock_ns
        self.build_block = build_block
        self.payload_bytes = payload_bytes
        self.buffer_bytes = buffer_bytes
        self.buffer_frames = buffer_frames
        self.queue: deque[FrameRecord] = deque()
        self.current: Block | None = None
        self.prepared: Block | None = None
        self.preparing: FrameRecord | None = None
        self.stats = StreamStats()
        # Running totals of what the buffer holds (queue, preparing, prepared and current).
        self._held_frames = 0
        self._held_bytes = 0
        # How late each frame's trailer went out after its readout ended (seconds, recent).
        self.lateness: deque[float] = deque(maxlen=1000)
        # Whether the host has IN transfers waiting on the stream endpoint (set by the USB
        # device that serves them).
        self.host_waiting: Callable[[], bool] = lambda: False
        # The host waiting for a frame still being rendered: since when (None: not now), and
        # when it last stopped; and when the last frame came into the buffer (seconds). A
        # buffer that fills while the host waited on the renderer within the last frame
        # period is the simulator's fault, not the host's.
        self._render_wait_since: float | None = None
        self._render_wait_until = float("-inf")
        self._last_push_at = float("-inf")
        # When the last frame's trailer went out: a slow link is free for the next from then.
        self._link_free_at = float("-inf")

    @property
    def buffered_bytes(self) -> int:
        """Bytes of frame data in the camera buffer (O(1))."""
        return self._held_bytes

    @property
    def buffered_frames(self) -> int:
        """Frames in the camera buffer, the one being sent included (O(1))."""
        return self._held_frames

    def push(self, record: FrameRecord) -> bool:
        """A frame finished exposure; False if it was dropped (counted by cause)."""
        previous_push_at, self._last_push_at = self._last_push_at, record.readout_start
        if not self.interface.enabled:
            self.stats.frames_dropped_not_streaming += 1
            self._dropped(record, "not_streaming")
            return False
        size = self.payload_bytes(record)
        if (self._held_frames >= self.buffer_frames
                or self._held_bytes + size > self.buffer_bytes):
            if self._behind_the_host(previous_push_at):
                self.stats.frames_dropped_daemon_overload += 1
                self._dropped(record, "daemon_overload")
            else:
                self.stats.frames_dropped_buffer_full += 1
                self._dropped(record, "buffer_full")
            return False
        self.queue.append(record)
        self._held_frames += 1
        self._held_bytes += size
        self.stats.frames_queued += 1
        return True

    def _behind_the_host(self, since: float) -> bool:
        """Whether the host waited for a frame still being rendered at some time after
        ``since`` (the previous frame's arrival): then the buffer is full because the
        simulator renders slower than the host reads (a real camera's would not be), not
        because the host is slow. A host that went away while waiting is not waiting."""
        waiting_now = self._render_wait_since is not None and self.host_waiting()
        return waiting_now or self._render_wait_until >= since

    def _dropped(self, record: FrameRecord, cause: str) -> None:
        self.emit(FrameDropped(self.clock_ns(), record.block_id, cause))

    def _release(self, record: FrameRecord) -> None:
        """A frame left the buffer (sent, or lost)."""
        self._held_frames -= 1
        self._held_bytes -= self.payload_bytes(record)

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
            self._dropped(record, "aborted")
            self._release(record)
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
                record = self.queue.popleft()
                try:
                    self.current = self.build_block(record)
                except Exception:
                    self.stats.frames_aborted += 1
                    self._dropped(record, "aborted")
                    self._release(record)
                    raise
            else:
                if self.preparing is not None and self._render_wait_since is None \
                        and now != float("inf"):
                    self._render_wait_since = now
                return None
            if self.current.link_rate:
                self.current.schedule(link_free_at=self._link_free_at)
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
        if self._render_wait_since is not None:
            self._render_wait_since, self._render_wait_until = None, now
        return data

    def _consume(self, block: Block, n: int, now: float) -> None:
        block.offset += n
        if block.offset >= len(block.transfers[block.index]):
            block.index += 1
            block.offset = 0
            if block.index == len(block.transfers):
                record = block.record
                self.stats.frames_sent += 1
                if block.status != sp.STATUS_SUCCESS:
                    self.stats.frames_sent_failed += 1
                self.emit(FrameSent(self.clock_ns(), record.block_id, record.timestamp_ns,
                                    self.payload_bytes(record), record.trigger_source,
                                    sp.STATUS_NAMES[block.status]))
                self.lateness.append(now - record.readout_end)
                self._release(record)
                self.current = None
                if now != float("inf"):
                    # The link is free from the block's scheduled end, or from when the
                    # host came for its last transfer if it came later than the daemon's
                    # own serving delay allows for.
                    due = block.ready_at[-1]
                    self._link_free_at = due if now - due <= SERVING_SLACK_S else now

    def reset(self) -> None:
        """Clear-halt on the stream endpoint, or the stream disabled: drop what is pending."""
        held = [self.preparing, *(b.record for b in (self.current, self.prepared) if b)]
        lost = [r for r in held if r is not None] + list(self.queue)
        self.stats.frames_aborted += len(lost)
        for record in sorted(lost, key=lambda r: r.block_id):
            self._dropped(record, "aborted")
        self.queue.clear()
        self.current = self.prepared = self.preparing = None
        self._held_frames = self._held_bytes = 0
        self._render_wait_since = None
