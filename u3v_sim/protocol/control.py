"""The device side of the U3V control channel, without I/O.

A transport hands over each command transfer with the current time and sends back whatever
acks come out. A command the device needs longer for than its maximum response time gets a
PENDING_ACK at once and its real ack when ``due_acks`` is called at or after ``next_deadline``.

Control faults a harness injects (``faults.py``: BUSY, a given status, a delayed or late ack,
a storm of PENDING_ACKs) are applied here, as each command arrives, through ``faults``: a
callable that returns the faults firing for this command (none: the normal path).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol

from .gencp import (HEADER_SIZE, Header, ProtocolError, ReadMem, Status, error_ack,
                    parse_command, pending_ack, readmem_ack, writemem_ack)

log = logging.getLogger(__name__)
# Margin added to the busy time announced in a PENDING_ACK, so the host never gives up early.
PENDING_MARGIN_S = 0.1


class RegisterDevice(Protocol):
    def read(self, address: int, length: int, now: float) -> bytes: ...
    def write(self, address: int, data: bytes, now: float) -> float: ...


@dataclass
class _Pending:
    due: float
    ack: bytes
    # A delayed or late ack (an injected fault): the device said nothing, it is stuck with
    # the command, and takes no next one until this ack is out (the command endpoint NAKs).
    stuck: bool = False


# (kind, params) of the control faults firing for one command: see faults.py.
FaultHook = Callable[[Header, int | None, float], list]


class ControlChannel:
    def __init__(self, device: RegisterDevice, *, max_command_length: int,
                 max_ack_length: int, response_time_s: float,
                 faults: FaultHook | None = None):
        self.device = device
        self.max_command_length = max_command_length
        self.max_ack_length = max_ack_length
        self.response_time_s = response_time_s
        self.faults = faults
        # Acks still to come, in time order; the device is busy with a command meanwhile.
        self._scheduled: deque[_Pending] = deque()
        # Late acks (a fault) handed out so far: the host gave up on them, so a transport
        # may take the next command while one still waits to be read (the host's retry).
        self.late_acks_released = 0

    def receive(self, packet: bytes, now: float) -> list[bytes]:
        """Handle one command transfer; the acks to send now (none is ever dropped)."""
        acks = self.due_acks(now)
        header = Header.parse(packet)
        if self._scheduled:
            return acks + [error_ack(Status.BUSY, header)]
        try:
            header, command = parse_command(packet, self.max_command_length)
            faults = self.faults(header, command.address, now) if self.faults else []
            refusal = next((f for f in faults if f.kind in ("busy", "status")), None)
            if refusal is not None:
                status = Status.BUSY if refusal.kind == "busy" else int(refusal.param("status"))
                return acks + [error_ack(status, header)]
            if isinstance(command, ReadMem):
                if not 0 < command.length <= self.max_ack_length - HEADER_SIZE:
                    raise ProtocolError(Status.INVALID_PARAMETER,
                                        f"read length {command.length}")
                busy, ack = 0.0, readmem_ack(header.request_id, self.device.read(
                    command.address, command.length, now))
            else:
                busy = self.device.write(command.address, command.data, now)
                ack = writemem_ack(header.request_id, len(command.data))
        except ProtocolError as error:
            log.debug("refused command 0x%04x id %d: %s", header.command_id,
                      header.request_id, error)
            return acks + [error_ack(error.status, header)]
        except Exception:  # a device bug must not kill the channel: the host gets an answer
            log.exception("device error on command 0x%04x", header.command_id)
            return acks + [error_ack(Status.GENERIC_ERROR, header)]
        for fault in faults:
            if fault.kind in ("delayed_ack", "late_ack"):   # silence, then the ack
                self._scheduled.append(_Pending(now + max(busy, fault.param("delay_ms") / 1e3),
                                                ack, stuck=True))
                return acks
            if fault.kind == "pending_ack_storm":
                return acks + self._storm(header.request_id, ack, busy, now,
                                          int(fault.param("pendings")),
                                          fault.param("timeout_ms") / 1e3)
        if busy <= self.response_time_s:
            return acks + [ack]
        self._scheduled.append(_Pending(now + busy, ack))
        timeout_ms = math.ceil(round((busy + PENDING_MARGIN_S) * 1000, 6))
        return acks + [pending_ack(header.request_id, timeout_ms)]

    def _storm(self, request_id: int, ack: bytes, busy: float, now: float, pendings: int,
               timeout_s: float) -> list[bytes]:
        """``pendings`` PENDING_ACKs, each half its announced timeout after the last (the host
        keeps waiting), then the ack; the first goes now."""
        step = timeout_s / 2
        timeout_ms = max(1, math.ceil(timeout_s * 1000))
        for i in range(1, pendings):
            self._scheduled.append(_Pending(now + i * step, pending_ack(request_id, timeout_ms)))
        self._scheduled.append(_Pending(now + max(busy, pendings * step), ack))
        return [pending_ack(request_id, timeout_ms)]

    def due_acks(self, now: float) -> list[bytes]:
        due = []
        while self._scheduled and now >= self._scheduled[0].due:
            pending = self._scheduled.popleft()
            due.append(pending.ack)
            self.late_acks_released += pending.stuck
        return due

    def next_deadline(self) -> float | None:
        return self._scheduled[0].due if self._scheduled else None

    @property
    def accepting(self) -> bool:
        """False while the device is stuck with a command whose ack is late (a fault): a
        transport leaves the next command waiting (the endpoint NAKs) instead of handing it
        over to be answered BUSY."""
        return not any(p.stuck for p in self._scheduled)

    def reset(self) -> None:
        """Forget a command still being worked on (power lost)."""
        self._scheduled.clear()
