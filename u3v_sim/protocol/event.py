"""U3V event channel packets (EVENT_CMD on the event endpoint, reference section 4.6)."""

from __future__ import annotations

import struct

from .gencp import CommandId

EVENT_PREFIX = 0x45563355  # "U3VE"
EVENT_HEADER = struct.Struct("<IHHHH")   # prefix, flags, command id, SCD length, request id
EVENT_SCD = struct.Struct("<HHQ")        # reserved (event size in multi-event mode), id, time
TEST_EVENT_ID = 0x4FFF                   # GenCP's event id for EventTestControl


def event_packet(request_id: int, event_id: int, timestamp_ns: int, data: bytes = b"") -> bytes:
    scd = EVENT_SCD.pack(0, event_id, timestamp_ns) + bytes(data)
    return EVENT_HEADER.pack(EVENT_PREFIX, 0, CommandId.EVENT, len(scd), request_id) + scd
