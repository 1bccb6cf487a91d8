"""The device side of the U3V control channel, without I/O.

A transport hands over each command transfer with the current time and sends back whatever
acks come out. A command the device needs longer for than its maximum response time gets a
PENDING_ACK at once and its real ack when ``due_acks`` is called at or after ``next_deadline``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

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


class ControlChannel:
    def __init__(self, device: RegisterDevice, *, max_command_length: int,
                 max_ack_length: int, response_time_s: float):
        self.device = device
        self.max_command_length = max_command_length
        self.max_ack_length = max_ack_length
        self.response_time_s = response_time_s
        self._pending: _Pending | None = None

    def receive(self, packet: bytes, now: float) -> list[bytes]:
        """Handle one command transfer; the acks to send now (none is ever dropped)."""
        acks = self.due_acks(now)
        header = Header.parse(packet)
        if self._pending is not None:
            return acks + [error_ack(Status.BUSY, header)]
        try:
            header, command = parse_command(packet, self.max_command_length)
            if isinstance(command, ReadMem):
                if not 0 < command.length <= self.max_ack_length - HEADER_SIZE:
                    raise ProtocolError(Status.INVALID_PARAMETER,
                                        f"read length {command.length}")
                return acks + [readmem_ack(header.request_id,
                                           self.device.read(command.address, command.length,
                                                            now))]
            busy = self.device.write(command.address, command.data, now)
            ack = writemem_ack(header.request_id, len(command.data))
        except ProtocolError as error:
            log.debug("refused command 0x%04x id %d: %s", header.command_id,
                      header.request_id, error)
            return acks + [error_ack(error.status, header)]
        except Exception:  # a device bug must not kill the channel: the host gets an answer
            log.exception("device error on command 0x%04x", header.command_id)
            return acks + [error_ack(Status.GENERIC_ERROR, header)]
        if busy <= self.response_time_s:
            return acks + [ack]
        self._pending = _Pending(now + busy, ack)
        timeout_ms = math.ceil(round((busy + PENDING_MARGIN_S) * 1000, 6))
        return acks + [pending_ack(header.request_id, timeout_ms)]

    def due_acks(self, now: float) -> list[bytes]:
        if self._pending is not None and now >= self._pending.due:
            ack, self._pending = self._pending.ack, None
            return [ack]
        return []

    def next_deadline(self) -> float | None:
        return None if self._pending is None else self._pending.due

    def reset(self) -> None:
        """Forget a command still being worked on (power lost)."""
        self._pending = None
