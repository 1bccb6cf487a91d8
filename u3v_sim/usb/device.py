"""The camera as a USB device, without I/O: transfers submitted on its endpoints, transfers
completed. Transports (umockdev, USB/IP, ...) turn their host's requests into ``Transfer``s and
hand completed ones back; this class decides what every endpoint answers.

Endpoints: 0 (standard requests), 0x01/0x81 (UVCP commands and acks), 0x82 (events),
0x83 (stream). An IN transfer waits until the device has data for it; a transfer to a halted
endpoint fails with EPIPE, a discarded one with ENOENT, one that gets more data than its
buffer holds with EOVERFLOW (and only what fits: the host controller's babble), every pending
one with ESHUTDOWN when the device leaves the bus (usb_hcd_flush_endpoint).

The device answers one command at a time (GenCP: a host sends its next command once it has
the acknowledge of the last; Aravis and pylon do so): while an ack waits to be read, the
command endpoint NAKs, so a command transfer stays pending until the host reads the ack and
the device never holds more than one command's acks. (Chosen: a real device's buffering of a
second command is not documented; this bound is what issue 8 asks for.)
"""

from __future__ import annotations

import errno
import logging
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..camera.bootstrap import (MAX_ACK_TRANSFER_LENGTH, MAX_COMMAND_TRANSFER_LENGTH,
                                MAX_DEVICE_RESPONSE_TIME_MS)
from ..camera.camera import Camera
from ..camera.streaming import TransferOverflow
from ..faults import CONTROL
from ..protocol.control import ControlChannel
from . import descriptors as d
from .requests import StandardRequests

log = logging.getLogger(__name__)
SETUP_SIZE = 8
# Where commands and acks carry their request id (GenCP header: prefix, flags/status, command
# id, SCD length, request id).
ACK_REQUEST_ID, ACK_REQUEST_ID_OFFSET = struct.Struct("<H"), 10


@dataclass(eq=False)
class Transfer:
    """One host request on one endpoint (a usbfs URB, a USB/IP command)."""
    endpoint: int
    length: int                  # IN: the host buffer size; OUT: len(data)
    data: bytes = b""            # OUT data; for control transfers SETUP + OUT data stage
    control: bool = False
    owner: object = None         # the transport's handle (client, URB address)
    status: int = 0              # 0 or a negative errno once completed
    result: bytes | memoryview = b""  # IN data once completed
    done: bool = field(default=False)

    @property
    def actual_length(self) -> int:
        """Bytes moved: what an IN transfer returns, all of an accepted OUT transfer."""
        if self.is_in:
            return len(self.result)
        if self.status:
            return 0
        return len(self.data) - (8 if self.control else 0)

    @property
    def is_in(self) -> bool:
        if self.control:
            return bool(self.data[0] & 0x80) if self.data else False
        return bool(self.endpoint & 0x80)


class U3VUsbDevice:
    def __init__(self, camera: Camera, identity: d.UsbIdentity,
                 on_complete: Callable[[Transfer], None]):
        self.camera = camera
        self.identity = identity
        self.on_complete = on_complete
        self.requests = StandardRequests(identity, on_clear_halt=self._endpoint_reset)
        self.control = ControlChannel(camera, max_command_length=MAX_COMMAND_TRANSFER_LENGTH,
                                      max_ack_length=MAX_ACK_TRANSFER_LENGTH,
                                      response_time_s=MAX_DEVICE_RESPONSE_TIME_MS / 1000,
                                      faults=self._control_faults)
        self.acks: deque[bytes] = deque()  # at most a PENDING_ACK and its final ack
        self._late_acks_read = 0
        self.waiting: dict[int, deque[Transfer]] = {
            ep: deque() for ep in (d.EP_CONTROL_OUT, d.EP_CONTROL_IN, d.EP_EVENT_IN,
                                   d.EP_STREAM_IN)}
        camera.stream_channel.host_waiting = lambda: bool(self.waiting[d.EP_STREAM_IN])
        self.now = 0.0

    # -- host side ---------------------------------------------------------------------------

    def submit(self, transfer: Transfer, now: float) -> None:
        self.now = now
        if transfer.control:
            self._control(transfer)
        elif self.requests.is_halted(transfer.endpoint):
            self._complete(transfer, -errno.EPIPE)
        elif transfer.endpoint in self.waiting:
            self.waiting[transfer.endpoint].append(transfer)
        else:
            self._complete(transfer, -errno.EPIPE)  # no such endpoint: the host sees a stall
        self.service(now)

    def discard(self, transfer: Transfer) -> bool:
        queue = self.waiting.get(transfer.endpoint)
        if transfer.done or queue is None or transfer not in queue:
            return False
        queue.remove(transfer)
        self._complete(transfer, -errno.ENOENT)
        return True

    def discard_owned_by(self, owner_test: Callable[[object], bool]) -> None:
        """Drop every waiting transfer of a host that went away."""
        for queue in self.waiting.values():
            for transfer in [t for t in queue if owner_test(t.owner)]:
                queue.remove(transfer)
                transfer.done = True

    def _control_faults(self, header, address: int | None, now: float) -> list:
        """The control faults a harness injected that fire for this command (faults.py)."""
        def matches(fault) -> bool:
            return fault.kind != "status" or int(fault.param("address")) in (-1, address)
        return self.camera.faults.fire(CONTROL, self.camera.timestamp_at(now), matches)

    def clear_halt(self, endpoint: int) -> bool:
        return self.requests.clear_halt(endpoint)

    def disconnect(self) -> None:
        """Unplugged: every waiting transfer ends with -ESHUTDOWN, as the host controller
        flushes a vanished device's endpoints (hcd.c usb_hcd_flush_endpoint); what the device
        held is gone with its power."""
        for queue in self.waiting.values():
            while queue:
                self._complete(queue.popleft(), -errno.ESHUTDOWN)
        self.flush_control()

    def bus_reset(self) -> None:
        """A USB bus reset (the host's USBDEVFS_RESET): endpoints unhalted, the control
        channel empty; the camera's settings stay."""
        for endpoint in d.ENDPOINTS:
            if self.requests.is_halted(endpoint):
                self.requests.clear_halt(endpoint)
        self.flush_control()

    def flush_control(self) -> None:
        """Forget unread acks and a command still being worked on (power lost, or no host
        left to read them)."""
        self.acks.clear()
        self.control.reset()
        self._late_acks_read = self.control.late_acks_released

    # -- device side -------------------------------------------------------------------------

    def service(self, now: float) -> None:
        """Let the camera run to ``now`` and answer every IN transfer it has data for."""
        self.now = now
        self.camera.advance(now)
        self.acks.extend(self.control.due_acks(now))
        self._serve(d.EP_CONTROL_IN, self._next_ack)
        commands = self.waiting[d.EP_CONTROL_OUT]
        # The endpoint NAKs while an ack waits to be read (a late ack aside: its host gave
        # up and retries, and reads it before the retry's), or while the device is stuck
        # with the last command (a late ack injected as a fault).
        while commands and len(self.acks) <= self._stale_acks() and self.control.accepting:
            command = commands.popleft()
            if not self._answered_by_late_ack(bytes(command.data)):
                self.acks.extend(self.control.receive(bytes(command.data), now))
            self._complete(command, 0)
            self._serve(d.EP_CONTROL_IN, self._next_ack)
        self._serve(d.EP_EVENT_IN, lambda t: self.camera.read_event(now))
        if self.camera.stall_requested:   # a stream_stall fault: the endpoint halts
            self.camera.stall_requested = False
            self.requests.set_halt(d.EP_STREAM_IN)
            stream = self.waiting[d.EP_STREAM_IN]
            while stream:
                self._complete(stream.popleft(), -errno.EPIPE)
        self._serve(d.EP_STREAM_IN, lambda t: self.camera.read_stream(t.length, now))

    def next_deadline(self) -> float | None:
        deadlines = [t for t in (self.camera.next_deadline(), self.control.next_deadline())
                     if t is not None]
        return min(deadlines, default=None)

    def _serve(self, endpoint: int, produce: Callable[[Transfer], object]) -> None:
        queue = self.waiting[endpoint]
        while queue:
            transfer = queue[0]
            try:
                data = produce(transfer)
            except TransferOverflow as overflow:
                queue.popleft()
                self._complete(transfer, -errno.EOVERFLOW, overflow.data)
                continue
            if data is None:
                return
            queue.popleft()
            if len(data) > transfer.length:  # babble: what fits, and the rest is lost
                self._complete(transfer, -errno.EOVERFLOW, data[:transfer.length])
            else:
                self._complete(transfer, 0, data)

    def _answered_by_late_ack(self, packet: bytes) -> bool:
        """A host's retry of the command whose late ack (a fault) still waits to be read,
        under the same request id (pylon retries so): that ack answers it; the command is not
        carried out twice (GenCP: a repeated request id is answered, not executed again)."""
        stale = self._stale_acks()
        if not stale or len(packet) < ACK_REQUEST_ID.size + ACK_REQUEST_ID_OFFSET:
            return False
        (request_id,) = ACK_REQUEST_ID.unpack_from(packet, ACK_REQUEST_ID_OFFSET)
        return any(ACK_REQUEST_ID.unpack_from(ack, ACK_REQUEST_ID_OFFSET)[0] == request_id
                   for ack in list(self.acks)[:stale])

    def _stale_acks(self) -> int:
        """Late acks (a fault) still unread: the oldest ones in ``acks``."""
        return self.control.late_acks_released - self._late_acks_read

    def _next_ack(self, transfer: Transfer) -> bytes | None:
        if not self.acks:
            return None
        if self._stale_acks():
            self._late_acks_read += 1
        return self.acks.popleft()

    def _control(self, transfer: Transfer) -> None:
        setup, out = transfer.data[:SETUP_SIZE], transfer.data[SETUP_SIZE:]
        if len(setup) < SETUP_SIZE:
            self._complete(transfer, -errno.EINVAL)
            return
        result = self.requests.handle(bytes(setup), bytes(out))
        if result.stall:
            self._complete(transfer, -errno.EPIPE)
        else:  # a device answers at most wLength bytes
            self._complete(transfer, 0, result.data[:transfer.length])

    def _complete(self, transfer: Transfer, status: int, data: bytes | memoryview = b"") -> None:
        transfer.status, transfer.result, transfer.done = status, data, True
        self.on_complete(transfer)

    def _endpoint_reset(self, endpoint: int) -> None:
        if endpoint == d.EP_STREAM_IN:
            self.camera.clear_stream_halt()
