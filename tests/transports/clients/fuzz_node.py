"""A bounded fault campaign against the emulated usbfs device node: raw ioctls (ctypes, no
libusb) with mutated GenCP commands, malformed URBs and arbitrary usbfs ioctl numbers.

Run under the testbed environment (LD_PRELOAD + UMOCKDEV_DIR). Every call must return (a
watchdog thread ends the process, naming the case, if one takes longer than ``--hang``
seconds), every buffer handed to the node has guard bytes around it that must stay untouched,
and every answer must be one Linux usbfs can give for that ioctl (drivers/usb/core/devio.c).
Prints one JSON line: counts per kind, errno names per ioctl, GenCP ack statuses, and the
violations found (each with the case number and what was sent).

    fuzz_node.py [--seed S] [--cases N] [--hang SECONDS]
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import glob
import json
import os
import random
import select
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "genicam"))
from u3v_features.bootstrap import ABRM, SBRM, SIRM  # noqa: E402
from u3v_sim.protocol import gencp  # noqa: E402
from u3v_sim.transports import usbfs  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
libc.ioctl.restype = ctypes.c_int

EP_CMD, EP_ACK, EP_EVENT, EP_STREAM = 0x01, 0x81, 0x82, 0x83
DEVICE_ENDPOINTS = (EP_CMD, EP_ACK, EP_EVENT, EP_STREAM)


def _ioc(direction: int, number: int, size: int) -> int:
    return direction << 30 | size << 16 | ord("U") << 8 | number


# linux/usbdevice_fs.h numbers the project's usbfs module does not name (the kernel serves them
# all, devio.c usbdev_do_ioctl).
DISCSIGNAL = _ioc(2, 14, 16)
CLAIM_PORT = _ioc(2, 24, 4)
RELEASE_PORT = _ioc(2, 25, 4)
FORBID_SUSPEND = _ioc(0, 33, 0)
ALLOW_SUSPEND = _ioc(0, 34, 0)
WAIT_FOR_RESUME = _ioc(0, 35, 0)


def conninfo_ex(size: int) -> int:
    return _ioc(2, 32, size)


# What devio.c can answer for each ioctl it serves ("ok": 0 or, for GET_SPEED, the speed).
# ENODEV (device gone) is left out on purpose: nothing unplugs the camera during the campaign.
TRANSFER = {"ok", "EINVAL", "ENOENT", "ESRCH", "EBUSY", "EACCES", "EHOSTUNREACH", "ENOMEM",
            "EPIPE", "ETIMEDOUT", "EPROTO", "EOVERFLOW", "EREMOTEIO", "EILSEQ", "ESHUTDOWN"}
ALLOWED = {
    "CONTROL": TRANSFER,                                             # proc_control
    "BULK": TRANSFER,                                                # proc_bulk
    "RESETEP": {"ok", "EINVAL", "ENOENT", "ESRCH", "EBUSY", "EACCES"},  # proc_resetep
    "CLEAR_HALT": {"ok", "EINVAL", "ENOENT", "ESRCH", "EBUSY", "EACCES", "EPIPE",
                   "ETIMEDOUT", "EPROTO"},                           # proc_clearhalt
    "SETINTERFACE": {"ok", "EINVAL", "ENOENT", "EBUSY", "EACCES", "EPIPE", "ETIMEDOUT",
                     "EPROTO", "EHOSTUNREACH", "ENOMEM"},            # proc_setintf
    "SETCONFIGURATION": {"ok", "EBUSY", "EINVAL", "EACCES", "EPIPE", "ETIMEDOUT", "EPROTO",
                         "ENOMEM"},                                  # proc_setconfig
    "GETDRIVER": {"ENODATA"},                                        # proc_getdriver
    "SUBMITURB": TRANSFER | {"EMSGSIZE", "ENOEXEC", "EXDEV"},        # proc_do_submiturb
    "DISCARDURB": {"ok", "EINVAL"},                                  # proc_unlinkurb
    "REAPURBNDELAY": {"ok", "EAGAIN"},                               # proc_reapurbnonblock
    "DISCSIGNAL": {"ok"},                                            # proc_disconnectsignal
    "CLAIMINTERFACE": {"ok", "EINVAL", "ENOENT", "EBUSY", "EACCES"},  # claimintf
    "RELEASEINTERFACE": {"ok", "EINVAL", "ENOENT"},                  # releaseintf
    "CONNECTINFO": {"ok"},                                           # proc_connectinfo
    "IOCTL": {"ok", "EACCES", "EHOSTUNREACH", "EINVAL", "ENODATA", "EBUSY", "ENOTTY"},
    "RESET": {"ok", "EACCES", "EINVAL", "EBUSY", "EIO"},             # proc_resetdevice
    "CLAIM_PORT": {"EINVAL"},             # usb_hub_claim_port: the camera is no hub
    "RELEASE_PORT": {"EINVAL"},
    "GET_CAPABILITIES": {"ok"},
    "DISCONNECT_CLAIM": {"ok", "EINVAL", "ENOENT", "EBUSY", "EACCES"},
    "ALLOC_STREAMS": {"EINVAL", "ENOMEM", "EACCES", "EBUSY", "ENOENT", "ENOSPC"},
    "FREE_STREAMS": {"EINVAL", "ENOMEM", "EACCES", "EBUSY", "ENOENT"},
    "DROP_PRIVILEGES": {"ok"},
    "GET_SPEED": {"ok"},
    "CONNINFO_EX": {"ok"},
    "FORBID_SUSPEND": {"ok", "EIO"},
    "ALLOW_SUSPEND": {"ok"},
}
# DISCONNECT and CONNECT are codes inside USBDEVFS_IOCTL, not ioctls of the node (-ENOTTY).
SERVED = {**{getattr(usbfs, name): name for name in ALLOWED if hasattr(usbfs, name)},
          DISCSIGNAL: "DISCSIGNAL", CLAIM_PORT: "CLAIM_PORT", RELEASE_PORT: "RELEASE_PORT",
          FORBID_SUSPEND: "FORBID_SUSPEND", ALLOW_SUSPEND: "ALLOW_SUSPEND"}
# Left out of the random ioctls: both may block for good in the kernel too (REAPURB with
# nothing pending, WAIT_FOR_RESUME on a device that never suspends).
BLOCKING = {usbfs.REAPURB, WAIT_FOR_RESUME}
# A reaped URB's status (include/linux/usb.h, Documentation/driver-api/usb/error-codes.rst).
URB_STATUSES = {0, -errno.ENOENT, -errno.ECONNRESET, -errno.EPIPE, -errno.EOVERFLOW,
                -errno.EREMOTEIO, -errno.ESHUTDOWN, -errno.EPROTO, -errno.EILSEQ,
                -errno.ETIME, -errno.ENODEV, -errno.EINPROGRESS}
# usbfs_memory_mb's default: a single URB above it can never be accepted.
MEMORY_LIMIT = usbfs.DEFAULT_MEMORY_MB << 20
GUARD, GUARD_BYTE, FILL_BYTE = 64, 0xA5, 0x5A
KNOWN_STRINGS = {ABRM.MANUFACTURER_NAME: b"Basler", ABRM.MODEL_NAME: b"acA4096-40um"}
READABLE = (ABRM.MANUFACTURER_NAME, ABRM.MODEL_NAME, ABRM.SERIAL_NUMBER, 0x0000,
            SBRM.BASE, SBRM.BASE + SBRM.MAX_COMMAND_TRANSFER_LENGTH, SIRM.BASE,
            SIRM.BASE + SIRM.REQUIRED_PAYLOAD_SIZE, 0x10000)


def errname(code: int) -> str:
    return errno.errorcode.get(code, str(code))


class Guarded:
    """``size`` bytes at ``address`` with GUARD bytes of 0xA5 on each side; the body starts as
    ``data`` followed by 0x5A."""

    def __init__(self, size: int, data: bytes = b"", fill: int = FILL_BYTE):
        self.size = size
        self.raw = ctypes.create_string_buffer(size + 2 * GUARD)
        base = ctypes.addressof(self.raw)
        ctypes.memset(base, GUARD_BYTE, GUARD)
        ctypes.memset(base + GUARD, fill, size)
        ctypes.memset(base + GUARD + size, GUARD_BYTE, GUARD)
        ctypes.memmove(base + GUARD, data, min(len(data), size))
        self.address = base + GUARD
        self.fill = fill

    def guards_intact(self) -> bool:
        guard = bytes([GUARD_BYTE]) * GUARD
        return (ctypes.string_at(self.address - GUARD, GUARD) == guard
                and ctypes.string_at(self.address + self.size, GUARD) == guard)

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        length = self.size - offset if length is None else length
        return ctypes.string_at(self.address + offset, length)

    def first_touched(self, offset: int) -> int | None:
        """The first offset from ``offset`` on that no longer holds the fill byte."""
        tail = self.read(offset)
        changed = tail.lstrip(bytes([self.fill]))
        return offset + len(tail) - len(changed) if changed else None


@dataclass
class Pending:
    urb: Guarded
    buffer: Guarded | None
    endpoint: int
    control: bool
    capacity: int      # what the URB may report: buffer_length, or wLength for control
    data_offset: int   # 8 for a control URB (its SETUP), else 0
    is_in: bool
    case: int


class Campaign:
    def __init__(self, path: str, rng: random.Random):
        self.path = path
        self.rng = rng
        self.fd = os.open(path, os.O_RDWR)
        self.scratch = os.open(path, os.O_RDWR)   # a second open file of the same process
        self.pending: dict[int, Pending] = {}
        self.case = 0
        self.what = ""
        self.violations: list[dict] = []
        self.violation_count = 0
        self.kinds: dict[str, int] = {}
        self.errnos: dict[str, dict[str, int]] = {}
        self.ack_statuses: dict[str, int] = {}
        self.urb_statuses: dict[str, int] = {}
        self.counts = {"acks": 0, "no_ack": 0, "discarded": 0, "stale_acks": 0,
                       "bytes_reaped": 0}
        self.ack_may_wait = False

    # -- bookkeeping -------------------------------------------------------------------------

    def violation(self, kind: str, **details) -> None:
        self.violation_count += 1
        if len(self.violations) < 40:
            self.violations.append({"case": self.case, "kind": kind, "sent": self.what,
                                    **details})

    def ioctl(self, fd: int, request: int, argument: int, name: str) -> tuple[int, str]:
        result = libc.ioctl(fd, request, argument)
        answer = "ok" if result >= 0 else errname(ctypes.get_errno())
        counts = self.errnos.setdefault(name, {})
        counts[answer] = counts.get(answer, 0) + 1
        allowed = ALLOWED.get(name, {"ENOTTY"})
        if answer not in allowed:
            self.violation("errno", ioctl=name, request=hex(request), answer=answer,
                           usbfs_answers=sorted(allowed))
        return result, answer

    # -- URBs --------------------------------------------------------------------------------

    def submit(self, kind: int, endpoint: int, flags: int, buffer: Guarded | None,
               buffer_length: int, *, fd: int | None = None) -> str:
        urb = Guarded(usbfs.URB_SIZE, fill=0)
        usbfs.URB_HEAD.pack_into(self_view(urb), 0, kind, endpoint, 0, flags,
                                 buffer.address if buffer else 0, buffer_length, 0)
        _, answer = self.ioctl(self.fd if fd is None else fd, usbfs.SUBMITURB, urb.address,
                               "SUBMITURB")
        if not urb.guards_intact():
            self.violation("urb_guard_overwritten_at_submit")
        if answer == "ok":
            control = kind == usbfs.URB_TYPE_CONTROL
            if control:
                setup = buffer.read(0, 8)
                w_length = int.from_bytes(setup[6:8], "little")
                is_in = bool(setup[0] & 0x80)
                capacity, offset = w_length, 8
            else:
                is_in, capacity, offset = bool(endpoint & 0x80), buffer_length, 0
            self.pending[urb.address] = Pending(urb, buffer, endpoint, control, capacity,
                                                offset, is_in, self.case)
        return answer

    def reap_ready(self) -> list[Pending]:
        reaped = []
        target = Guarded(8, fill=0)
        while True:
            result, answer = self.ioctl(self.fd, usbfs.REAPURBNDELAY, target.address,
                                        "REAPURBNDELAY")
            if not target.guards_intact():
                self.violation("reap_target_guard_overwritten")
            if result < 0:
                return reaped
            address = struct.unpack("<Q", target.read(0, 8))[0]
            record = self.pending.pop(address, None)
            if record is None:
                self.violation("reaped_unknown_urb", address=hex(address))
                continue
            self.check_completion(record)
            reaped.append(record)

    def check_completion(self, record: Pending) -> None:
        _, _, status, _, _, _, actual = usbfs.URB_HEAD.unpack(record.urb.read(0, 32))
        name = "0" if status == 0 else "-" + errname(-status)
        self.urb_statuses[name] = self.urb_statuses.get(name, 0) + 1
        if status not in URB_STATUSES:
            self.violation("urb_status", status=status, endpoint=hex(record.endpoint))
        if not record.urb.guards_intact():
            self.violation("urb_guard_overwritten", endpoint=hex(record.endpoint))
        if not 0 <= actual <= record.capacity:
            self.violation("actual_length_out_of_range", actual_length=actual,
                           capacity=record.capacity, endpoint=hex(record.endpoint))
        buffer = record.buffer
        if buffer is not None:
            if not buffer.guards_intact():
                self.violation("bytes_written_past_buffer", endpoint=hex(record.endpoint),
                               buffer_length=buffer.size, actual_length=actual)
            elif record.is_in and 0 <= actual <= record.capacity:
                # devio.c copy_urb_data_to_user copies actual_length bytes, no more
                touched = buffer.first_touched(record.data_offset + actual)
                if touched is not None:
                    self.violation("bytes_written_past_actual_length",
                                   endpoint=hex(record.endpoint), actual_length=actual,
                                   status=urb_status(record), first_written_offset=touched)
        self.counts["bytes_reaped"] += max(actual, 0)

    def settle(self, timeout: float) -> list[Pending]:
        """Reap what completes within ``timeout`` s; discard the rest and reap those too (a
        discarded URB completes, devio.c proc_unlinkurb + async_completed)."""
        reaped = []
        deadline = time.monotonic() + timeout
        while self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self.wait_ready(left):
                reaped += self.reap_ready()
        for address in list(self.pending):
            _, answer = self.ioctl(self.fd, usbfs.DISCARDURB, address, "DISCARDURB")
            self.counts["discarded"] += 1
        deadline = time.monotonic() + 1.0
        while self.pending and time.monotonic() < deadline:
            if self.wait_ready(deadline - time.monotonic()):
                reaped += self.reap_ready()
        for address, record in list(self.pending.items()):
            self.violation("urb_never_completed_after_discard", endpoint=hex(record.endpoint),
                           submitted_in_case=record.case)
            del self.pending[address]
        return reaped

    def wait_ready(self, timeout: float) -> bool:
        poller = select.poll()
        poller.register(self.fd, select.POLLOUT)
        events = poller.poll(max(int(timeout * 1000), 0))
        for _, mask in events:
            if mask & (select.POLLERR | select.POLLHUP):
                raise DeviceGone(f"node polled {mask:#x}")
        return bool(events)

    # -- cases -------------------------------------------------------------------------------

    def drain_acks(self) -> None:
        buffer = Guarded(1024)
        if self.submit(usbfs.URB_TYPE_BULK, EP_ACK, 0, buffer, 1024) == "ok":
            for record in self.settle(0.02):
                if record.urb.read(4, 4) == b"\0\0\0\0":
                    self.counts["stale_acks"] += 1
        self.ack_may_wait = False

    def gencp_case(self) -> None:
        rng = self.rng
        if self.ack_may_wait:
            self.drain_acks()
        request_id = rng.randrange(1, 0x10000)
        choice = rng.randrange(6)
        if choice == 0:
            address = rng.choice(READABLE)
            length = rng.choice((4, 8, 64, rng.randrange(0, 1100)))
            packet = gencp.readmem_command(request_id, address, length)
        elif choice == 1:
            packet = gencp.readmem_command(request_id, rng.choice(
                (rng.getrandbits(64), rng.randrange(0, 0x120000))), rng.randrange(0, 0x10000))
        elif choice == 2:  # read-only strings: refused, nothing changes
            packet = gencp.writemem_command(request_id, rng.choice(
                (ABRM.MANUFACTURER_NAME, ABRM.MODEL_NAME)), rng.randbytes(rng.randrange(1, 65)))
        elif choice == 3:  # far beyond every mapped register
            packet = gencp.writemem_command(request_id, rng.getrandbits(64) | 1 << 40,
                                            rng.randbytes(rng.choice((0, 1, 4, 8, 600))))
        else:
            packet = gencp.readmem_command(request_id, ABRM.MANUFACTURER_NAME, 64)
        original = packet
        mutation = "none"
        if choice >= 4 or rng.random() < 0.5:
            packet, mutation = mutate(rng, packet)
        self.what = f"gencp {mutation} {packet[:32].hex()} ({len(packet)} bytes)"
        out = Guarded(len(packet), packet)
        answer = self.submit(usbfs.URB_TYPE_BULK, EP_CMD, 0, out, len(packet))
        if answer != "ok":
            return
        sent = self.settle(0.3)
        if not sent or urb_status(sent[0]) != 0:
            self.counts["no_ack"] += 1
            self.recover_halts(sent)
            self.ack_may_wait = True
            return
        size = rng.choices((1024, rng.randrange(0, 17), rng.randrange(12, 200)), (8, 1, 1))[0]
        ack_buffer = Guarded(size)
        if self.submit(usbfs.URB_TYPE_BULK, EP_ACK, 0, ack_buffer, size) != "ok":
            return
        got = self.settle(0.3)
        if not got or urb_status(got[0]) != 0:
            self.counts["no_ack"] += 1
            self.ack_may_wait = True
            self.recover_halts(got)
            return
        actual = urb_actual(got[0])
        self.counts["acks"] += 1
        self.check_ack(ack_buffer.read(0, actual), original, packet, mutation)

    def check_ack(self, ack: bytes, original: bytes, packet: bytes, mutation: str) -> None:
        try:
            parsed = gencp.Ack.parse(ack)
        except ValueError as error:
            self.violation("malformed_ack", ack=ack[:32].hex(), why=str(error))
            return
        status = f"0x{parsed.status:04x}"
        self.ack_statuses[status] = self.ack_statuses.get(status, 0) + 1
        prefix, _, _, _, request_id = gencp.HEADER.unpack_from(packet.ljust(12, b"\0"))
        if len(packet) >= 12 and prefix == gencp.COMMAND_PREFIX \
                and parsed.request_id != request_id:
            self.violation("ack_for_another_request", ack=ack[:32].hex(),
                           request_id=request_id)
        if mutation == "none" and packet == original:
            command_id = gencp.HEADER.unpack_from(packet)[2]
            if parsed.command_id != gencp.ack_id_for(command_id):
                self.violation("ack_command_id", ack=ack[:32].hex())
            address = int.from_bytes(packet[12:20], "little")
            expected = KNOWN_STRINGS.get(address)
            if command_id == gencp.CommandId.READMEM and expected and parsed.status == 0 \
                    and not parsed.scd.startswith(expected[:len(parsed.scd)]):
                self.violation("wrong_register_data", ack=ack[:48].hex())

    def recover_halts(self, reaped: list[Pending]) -> None:
        """A stalled endpoint stays halted until CLEAR_HALT, as a libusb host does it."""
        for record in reaped:
            if urb_status(record) == -errno.EPIPE and not record.control:
                self.ioctl(self.fd, usbfs.CLEAR_HALT, u32(record.endpoint).address,
                           "CLEAR_HALT")

    def urb_case(self) -> None:
        rng = self.rng
        kind = rng.choices((usbfs.URB_TYPE_BULK, usbfs.URB_TYPE_CONTROL, usbfs.URB_TYPE_ISO,
                            usbfs.URB_TYPE_INTERRUPT, rng.randrange(256)), (5, 4, 1, 1, 1))[0]
        endpoint = rng.choices((rng.choice(DEVICE_ENDPOINTS), 0x00, 0x80, rng.randrange(256),
                                rng.choice((0x02, 0x03, 0x84, 0x0F, 0x8F, 0x10))),
                               (6, 2, 1, 1, 1))[0]
        flags = rng.choices((0, rng.choice((usbfs.URB_SHORT_NOT_OK, usbfs.URB_ZERO_PACKET,
                                            usbfs.URB_BULK_CONTINUATION, usbfs.URB_NO_FSBR,
                                            usbfs.URB_NO_INTERRUPT, usbfs.URB_ISO_ASAP)),
                             rng.getrandbits(32)), (7, 2, 1))[0]
        setup = b""
        if kind == usbfs.URB_TYPE_CONTROL:
            setup = random_setup(rng)
            w_length = int.from_bytes(setup[6:8], "little")
            length = rng.choices((w_length + 8, max(w_length + 8 - rng.randrange(1, 9), 0),
                                  w_length + 8 + rng.randrange(1, 64), rng.randrange(0, 8)),
                                 (5, 2, 2, 1))[0]
        else:
            length = rng.choice((0, rng.randrange(1, 64), rng.randrange(64, 4096), 1024,
                                 1 << 16, 1 << 20, MEMORY_LIMIT + 1, 0x7FFFFFFF,
                                 -rng.randrange(1, 1 << 31), usbfs.XFER_MAX - 1,
                                 usbfs.XFER_MAX, rng.randrange(MEMORY_LIMIT + 1,
                                                               usbfs.XFER_MAX)))
        unsigned = length & 0xFFFFFFFF
        huge = unsigned > MEMORY_LIMIT
        null_buffer = rng.random() < 0.08
        buffer = None
        if not null_buffer:
            size = 64 if huge else unsigned
            is_out = not (setup[0] if setup else endpoint) & 0x80
            data = setup + (rng.randbytes(min(size, 2048)) if is_out else b"")
            buffer = Guarded(size, data)
        self.what = (f"urb type {kind} ep 0x{endpoint:02x} flags 0x{flags:x} length {length} "
                     f"buffer {'NULL' if null_buffer else 'ok'} setup {setup.hex()}")
        answer = self.submit(kind, endpoint, flags, buffer, length)
        expected = first_submit_check(flags, unsigned, null_buffer, kind, endpoint, setup)
        if expected and answer != expected:
            self.violation("submit_check_order", answer=answer, devio_c=expected)
        if huge and answer == "ok":
            self.violation("huge_urb_accepted", buffer_length=length)
        if answer != "ok":
            return
        if endpoint & 0x7F == EP_CMD and kind != usbfs.URB_TYPE_CONTROL:
            self.ack_may_wait = True
        wait = 0.3 if kind == usbfs.URB_TYPE_CONTROL or not endpoint & 0x80 else 0.003
        reaped = self.settle(wait)
        self.recover_halts(reaped)
        if kind == usbfs.URB_TYPE_CONTROL and setup[0] & 0x60 == 0 \
                and setup[1] in (1, 3, 9, 11):
            self.restore_device()

    def restore_device(self) -> None:
        """After a standard CLEAR/SET_FEATURE, SET_CONFIGURATION or SET_INTERFACE sent as a
        raw control URB: configuration 1, no halted endpoint."""
        self.ioctl(self.fd, usbfs.SETCONFIGURATION, u32(1).address, "SETCONFIGURATION")
        for endpoint in DEVICE_ENDPOINTS:
            self.ioctl(self.fd, usbfs.CLEAR_HALT, u32(endpoint).address, "CLEAR_HALT")

    def ioctl_case(self) -> None:
        rng = self.rng
        if rng.random() < 0.6:
            request = rng.choice(sorted(SERVED) + [conninfo_ex(rng.randrange(0, 64))])
        else:
            request = _ioc(rng.randrange(4), rng.randrange(64),
                           rng.choice((0, 4, 8, 16, 24, 56, 264, rng.randrange(0x4000))))
        if request in BLOCKING:
            return
        name = SERVED.get(request)
        if name is None and request & ~(0x3FFF << 16) == conninfo_ex(0):
            name = "CONNINFO_EX"  # devio.c: any size
        name = name or f"unserved_{request:#x}"
        self.what = f"ioctl {name} ({request:#x}) on a second open file, zeroed argument"
        argument = Guarded(512, fill=0)
        result, answer = self.ioctl(self.scratch, request, argument.address, name)
        if not argument.guards_intact():
            self.violation("ioctl_argument_guard_overwritten", ioctl=name)
        if name == "GET_SPEED" and result != usbfs.SPEED_SUPER:
            self.violation("speed", answer=result)
        if name == "DROP_PRIVILEGES":
            os.close(self.scratch)  # one-way: further cases get a fresh open file
            self.scratch = os.open(self.path, os.O_RDWR)
        if name == "SETCONFIGURATION" and answer == "ok":
            self.ioctl(self.scratch, usbfs.SETCONFIGURATION, u32(1).address,
                       "SETCONFIGURATION")

    def second_open_file_claim(self) -> dict:
        """devio.c claimintf: an interface another open file holds is -EBUSY, also when both
        files belong to one process; the holder's pending URB is not touched."""
        self.what = "CLAIMINTERFACE 0 on a second open file while the first holds it"
        first = self.ioctl(self.fd, usbfs.CLAIMINTERFACE, u32(0).address, "CLAIMINTERFACE")[1]
        buffer = Guarded(1024)
        self.submit(usbfs.URB_TYPE_BULK, EP_ACK, 0, buffer, 1024)
        second = self.ioctl(self.scratch, usbfs.CLAIMINTERFACE, u32(0).address,
                            "CLAIMINTERFACE")[1]
        self.ioctl(self.scratch, usbfs.RELEASEINTERFACE, u32(0).address, "RELEASEINTERFACE")
        reaped = self.settle(0.01)
        statuses = [urb_status(r) for r in reaped]
        return {"first": first, "second": second, "pending_urb_status_after_discard":
                statuses[0] if statuses else None}

    def close(self) -> None:
        for interface in (0, 1, 2):
            self.ioctl(self.fd, usbfs.RELEASEINTERFACE, u32(interface).address,
                       "RELEASEINTERFACE")
        os.close(self.scratch)
        os.close(self.fd)


class DeviceGone(Exception):
    pass


def self_view(buffer: Guarded):
    return (ctypes.c_char * buffer.size).from_address(buffer.address)


def u32(value: int) -> Guarded:
    return Guarded(4, struct.pack("<I", value & 0xFFFFFFFF), fill=0)


def urb_status(record: Pending) -> int:
    return struct.unpack("<i", record.urb.read(usbfs.URB_STATUS_OFFSET, 4))[0]


def urb_actual(record: Pending) -> int:
    return struct.unpack("<i", record.urb.read(usbfs.URB_ACTUAL_LENGTH_OFFSET, 4))[0]


def mutate(rng: random.Random, packet: bytes) -> tuple[bytes, str]:
    data = bytearray(packet)
    how = rng.randrange(9)
    if how == 0:
        data[0:4] = rng.randbytes(4)
        return bytes(data), "prefix"
    if how == 1:
        struct.pack_into("<H", data, 4, rng.getrandbits(16))
        return bytes(data), "flags"
    if how == 2:
        struct.pack_into("<H", data, 6, rng.getrandbits(16))
        return bytes(data), "command_id"
    if how == 3:
        struct.pack_into("<H", data, 8, rng.getrandbits(16))
        return bytes(data), "scd_length"
    if how == 4:
        return bytes(data[:rng.randrange(0, len(data))]), "truncated"
    if how == 5:
        return bytes(data) + rng.randbytes(rng.randrange(1, 1500)), "extended"
    if how == 6:
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
        return bytes(data), "bytes_flipped"
    if how == 7:
        return rng.randbytes(rng.randrange(0, 64)), "random"
    return b"", "empty"


def random_setup(rng: random.Random) -> bytes:
    request_type = rng.choice((0x80, 0x00, 0x81, 0x01, 0x82, 0x02, 0xC0, 0x40, 0xA1, 0x21,
                               rng.getrandbits(8)))
    request = rng.choice((6, 6, 6, 0, 1, 3, 8, 10, 12, rng.getrandbits(8)))
    value = rng.choice((0x0100, 0x0200, 0x0300, 0x0301, 0x0F00, 0x0000, rng.getrandbits(16)))
    index = rng.choice((0, 0x0409, 1, 2, 0x81, 0x83, 0x01, rng.getrandbits(16)))
    length = rng.choice((0, 18, 9, 0xFF, 0xFFFF, rng.randrange(0, 0x10000), rng.randrange(64)))
    return struct.pack("<BBHHH", request_type, request, value, index, length)


def first_submit_check(flags: int, length: int, null_buffer: bool, kind: int, endpoint: int,
                       setup: bytes) -> str | None:
    """The answer devio.c proc_do_submiturb gives before it looks at claims or the device,
    where it is certain; else None."""
    if flags & ~(usbfs.URB_FLAGS_ALLOWED | usbfs.URB_ISO_ASAP):
        return "EINVAL"
    if length >= usbfs.XFER_MAX:
        return "EINVAL"
    if length > 0 and null_buffer:
        return "EINVAL"
    if kind == usbfs.URB_TYPE_CONTROL and endpoint & 0x7F == 0:
        w_length = int.from_bytes(setup[6:8], "little") if len(setup) == 8 else 0
        if length < 8 or null_buffer or length < w_length + 8:
            return "EINVAL"
    return None


def find_node() -> str:
    root = os.environ["UMOCKDEV_DIR"]
    for path in sorted(glob.glob(f"{root}/dev/bus/usb/*/*")):
        return path[len(root):]
    raise SystemExit("no device node in the testbed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--hang", type=float, default=5.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    campaign = Campaign(find_node(), rng)
    started = time.monotonic()
    progress = {"case": -1, "since": time.monotonic(), "done": False}

    def watchdog() -> None:
        while not progress["done"]:
            time.sleep(0.2)
            if time.monotonic() - progress["since"] > args.hang:
                print(json.dumps({"hang": campaign.what, "case": progress["case"],
                                  "seconds": args.hang}), flush=True)
                os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    report: dict = {"seed": args.seed}
    report["second_open_file_claim"] = campaign.second_open_file_claim()
    cases = (campaign.gencp_case, campaign.urb_case, campaign.ioctl_case)
    try:
        for number in range(args.cases):
            campaign.case = number
            progress.update(case=number, since=time.monotonic())
            case = rng.choices(cases, (4, 4, 2))[0]
            campaign.kinds[case.__name__] = campaign.kinds.get(case.__name__, 0) + 1
            case()
        campaign.settle(0.01)
        campaign.close()
    except DeviceGone as error:
        report["device_gone"] = f"case {campaign.case} ({campaign.what}): {error}"
    progress["done"] = True
    report.update(cases=campaign.case + 1, kinds=campaign.kinds, counts=campaign.counts,
                  ack_statuses=campaign.ack_statuses, urb_statuses=campaign.urb_statuses,
                  errnos=campaign.errnos, violation_count=campaign.violation_count,
                  violations=campaign.violations,
                  seconds=round(time.monotonic() - started, 2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
