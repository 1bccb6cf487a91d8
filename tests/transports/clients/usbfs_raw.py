"""A usbfs client with no libusb in between: raw ioctls on the camera's device node, as the
kernel's drivers/usb/core/devio.c answers them. Run under the testbed environment; each
scenario prints one JSON object of what the node answered (errno names, URB statuses, whether
bytes past a buffer changed).

usage: usbfs_raw.py SCENARIO   (lengths | claims_holder | claims_other | claims_misc |
                                claim_and_exit | set_configuration | file_ops |
                                recipients | unconfigured | reset |
                                privileges | limits | disconnect | fork | nak)
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "genicam"))
from u3v_features.bootstrap import ABRM, EIRM, SBRM  # noqa: E402
from u3v_sim.protocol import gencp  # noqa: E402
from u3v_sim.transports import usbfs  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
GUARD = 64
GUARD_BYTE = 0xA5
EP_CMD, EP_ACK, EP_EVENT, EP_STREAM = 0x01, 0x81, 0x82, 0x83


def find_node() -> str:
    """The camera's node from sysfs, as libusb finds it (no libusb here)."""
    for device in Path("/sys/bus/usb/devices").iterdir():
        try:
            if (device / "idVendor").read_text().strip() == "2676":
                bus = int((device / "busnum").read_text())
                dev = int((device / "devnum").read_text())
                return f"/dev/bus/usb/{bus:03d}/{dev:03d}"
        except OSError:
            continue
    raise SystemExit("no camera on the bus")


def name(err: int) -> str:
    return "ok" if err == 0 else errno.errorcode.get(err, str(err))


class Buffer:
    """``size`` bytes followed by guard bytes that nothing may write."""

    def __init__(self, size: int, data: bytes = b""):
        self.size = size
        self.raw = ctypes.create_string_buffer(size + GUARD)
        ctypes.memset(self.raw, GUARD_BYTE, size + GUARD)
        ctypes.memmove(self.raw, data, len(data))

    @property
    def address(self) -> int:
        return ctypes.addressof(self.raw)

    def guard_intact(self) -> bool:
        return self.raw.raw[self.size:] == bytes([GUARD_BYTE]) * GUARD

    def read(self, length: int) -> bytes:
        return self.raw.raw[:length]


class Urb:
    def __init__(self, kind: int, endpoint: int, buffer: Buffer | None, length: int | None = None,
                 flags: int = 0):
        self.raw = ctypes.create_string_buffer(usbfs.URB_SIZE)
        self.buffer = buffer
        usbfs.URB_HEAD.pack_into(self.raw, 0, kind, endpoint, 0, flags,
                                 buffer.address if buffer else 0,
                                 buffer.size if length is None else length, 0)

    @property
    def address(self) -> int:
        return ctypes.addressof(self.raw)

    @property
    def status(self) -> int:
        return struct.unpack_from("<i", self.raw, usbfs.URB_STATUS_OFFSET)[0]

    @property
    def actual_length(self) -> int:
        return struct.unpack_from("<i", self.raw, usbfs.URB_ACTUAL_LENGTH_OFFSET)[0]


class Node:
    def __init__(self, path: str | None = None):
        self.fd = os.open(path or find_node(), os.O_RDWR)
        self.urbs: dict[int, Urb] = {}

    def ioctl(self, request: int, argument) -> int:
        """0 or the errno."""
        result = libc.ioctl(self.fd, request, argument)
        return 0 if result >= 0 else ctypes.get_errno()

    def ioctl_value(self, request: int, argument) -> tuple[int, int]:
        result = libc.ioctl(self.fd, request, argument)
        return (result, 0) if result >= 0 else (-1, ctypes.get_errno())

    def u32(self, request: int, value: int) -> int:
        return self.ioctl(request, ctypes.byref(ctypes.c_uint(value)))

    def claim(self, interface: int) -> int:
        return self.u32(usbfs.CLAIMINTERFACE, interface)

    def release(self, interface: int) -> int:
        return self.u32(usbfs.RELEASEINTERFACE, interface)

    def submit(self, urb: Urb) -> int:
        err = self.ioctl(usbfs.SUBMITURB, urb.address)
        if err == 0:
            self.urbs[urb.address] = urb
        return err

    def reap(self) -> tuple[Urb | None, int]:
        pointer = ctypes.c_void_p()
        err = self.ioctl(usbfs.REAPURBNDELAY, ctypes.byref(pointer))
        return (self.urbs.pop(pointer.value), 0) if err == 0 else (None, err)

    def wait(self, timeout_s: float) -> int:
        """poll() revents (0 on timeout)."""
        poller = select.poll()
        poller.register(self.fd, select.POLLOUT)
        events = poller.poll(timeout_s * 1000)
        return events[0][1] if events else 0

    def reap_wait(self, timeout_s: float = 2.0) -> tuple[Urb | None, int]:
        deadline = time.monotonic() + timeout_s
        while True:
            urb, err = self.reap()
            if err != errno.EAGAIN or time.monotonic() > deadline:
                return urb, err
            self.wait(max(0.0, deadline - time.monotonic()))

    def bulk_out(self, endpoint: int, data: bytes) -> Urb:
        urb = Urb(usbfs.URB_TYPE_BULK, endpoint, Buffer(len(data), data))
        assert self.submit(urb) == 0
        return urb

    def command(self, packet: bytes) -> gencp.Ack:
        """One GenCP command and its ack, through raw URBs."""
        self.bulk_out(EP_CMD, packet)
        ack_urb = Urb(usbfs.URB_TYPE_BULK, EP_ACK, Buffer(1024))
        assert self.submit(ack_urb) == 0
        seen = []
        while ack_urb not in seen:
            urb, err = self.reap_wait()
            assert err == 0, name(err)
            seen.append(urb)
        return gencp.Ack.parse(ack_urb.buffer.read(ack_urb.actual_length))


def setup(request_type: int, request: int, value: int, index: int, length: int) -> bytes:
    return struct.pack("<BBHHH", request_type, request, value, index, length)


def control_urb(setup_packet: bytes, size: int) -> Urb:
    return Urb(usbfs.URB_TYPE_CONTROL, 0, Buffer(size, setup_packet))


def eirm_base(node: Node) -> int:
    """The EIRM's address, read as a host does: ABRM -> SBRM -> EIRM."""
    ack = node.command(gencp.readmem_command(1, ABRM.BASE + ABRM.SBRM_ADDRESS, 8))
    sbrm = struct.unpack("<Q", ack.scd)[0]
    ack = node.command(gencp.readmem_command(2, sbrm + SBRM.EIRM_ADDRESS, 8))
    return struct.unpack("<Q", ack.scd)[0]


# -- scenarios -----------------------------------------------------------------------------

def lengths() -> dict:
    node = Node()
    for interface in (0, 1, 2):
        assert node.claim(interface) == 0
    report = {}
    # GET_DESCRIPTOR(CONFIGURATION), wLength 0xFFFF, in a 17-byte buffer: wLength + 8 > 17
    urb = control_urb(setup(0x80, 6, 0x0200, 0, 0xFFFF), 17)
    report["control_wlength_beyond_buffer"] = name(node.submit(urb))
    report["control_wlength_guard"] = urb.buffer.guard_intact()
    urb = control_urb(setup(0x80, 6, 0x0200, 0, 9), 17)  # exactly sized
    report["control_exact"] = name(node.submit(urb))
    reaped, err = node.reap_wait()
    report["control_exact_result"] = [name(err), reaped.status, reaped.actual_length,
                                      urb.buffer.guard_intact(), urb.buffer.read(10)[8:].hex()]
    report["control_shorter_than_setup"] = name(node.submit(control_urb(b"\x80\x06", 7)))
    # An ack of 12 + 64 bytes into a 16-byte IN URB: -EOVERFLOW, 16 bytes, nothing beyond.
    node.bulk_out(EP_CMD, gencp.readmem_command(7, ABRM.BASE, 64))
    small = Urb(usbfs.URB_TYPE_BULK, EP_ACK, Buffer(16))
    node.submit(small)
    reaped = {node.reap_wait()[0] for _ in range(2)}
    report["ack_overflow"] = [small in reaped, -small.status, small.actual_length,
                              small.buffer.guard_intact()]
    # the next command is answered as usual (the overflowed ack is gone, as on the wire)
    report["next_ack_status"] = node.command(gencp.readmem_command(8, ABRM.BASE, 4)).status
    # A 24-byte event (the EIRM test event) into a 4-byte URB on the event endpoint.
    eirm = eirm_base(node)
    node.command(gencp.writemem_command(9, eirm + EIRM.EI_CONTROL, struct.pack("<I", 1)))
    node.command(gencp.writemem_command(10, eirm + EIRM.EVENT_TEST_CONTROL, struct.pack("<I", 1)))
    event = Urb(usbfs.URB_TYPE_BULK, EP_EVENT, Buffer(4))
    node.submit(event)
    reaped, err = node.reap_wait()
    report["event_overflow"] = [name(err), -event.status, event.actual_length,
                                event.buffer.guard_intact()]
    return report


def claims_holder() -> dict:
    node = Node()
    claimed = [name(node.claim(i)) for i in (0, 1, 2)]
    print(json.dumps({"claimed": claimed}), flush=True)
    sys.stdin.readline()
    return {"released": [name(node.release(i)) for i in (0, 1, 2)]}


def claims_other() -> dict:
    node = Node()
    command = gencp.readmem_command(1, ABRM.BASE, 4)
    device = Buffer(18)
    transfer = ctypes.create_string_buffer(usbfs.CTRLTRANSFER.pack(0x80, 6, 0x0100, 0, 18, 1000,
                                                                   device.address))
    sync_result = node.ioctl_value(usbfs.CONTROL, ctypes.addressof(transfer))
    return {
        "claim_0": name(node.claim(0)),
        "submit_command": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_CMD,
                                                 Buffer(len(command), command)))),
        "submit_stream": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(4096)))),
        "clear_halt_stream": name(node.u32(usbfs.CLEAR_HALT, EP_STREAM)),
        "set_interface_2": name(node.ioctl(usbfs.SETINTERFACE, ctypes.byref(
            (ctypes.c_uint * 2)(2, 0)))),
        # a request to the device needs no claim; one to an endpoint needs its interface
        "control_to_device": name(node.submit(control_urb(setup(0x80, 6, 0x0100, 0, 18), 26))),
        "control_to_endpoint": name(node.submit(control_urb(setup(0x02, 1, 0, EP_STREAM, 0), 8))),
        "sync_control": [sync_result[0], name(sync_result[1]), device.read(4).hex()],
    }


def claim_and_exit() -> dict:
    """Claims every interface and exits without releasing: closing the node releases them."""
    node = Node()
    return {"claimed": [name(node.claim(i)) for i in (0, 1, 2)]}


def set_configuration() -> dict:
    return {"set_configuration": name(Node().u32(usbfs.SETCONFIGURATION, 1))}


def file_ops() -> dict:
    """read(), write() and the VFS's own ioctls on the node."""
    node = Node()
    first = os.read(node.fd, 18)
    rest = os.read(node.fd, 4096)
    try:
        os.write(node.fd, b"x")
        written = "ok"
    except OSError as error:
        written = errno.errorcode[error.errno]
    try:
        os.set_blocking(node.fd, False)  # FIONBIO / fcntl
        non_blocking = not os.get_blocking(node.fd)
    except OSError as error:
        non_blocking = errno.errorcode[error.errno]
    return {"device_descriptor": first.hex(), "config_head": rest[:4].hex(),
            "config_total": len(rest), "end": len(os.read(node.fd, 64)),
            "write": written, "non_blocking": non_blocking,
            "fioclex": name(node.ioctl(0x5451, 0)), "fionclex": name(node.ioctl(0x5450, 0)),
            "tty_ioctl": name(node.ioctl(0x5401, ctypes.create_string_buffer(64)))}


def recipients() -> dict:
    """Control requests on endpoint 0 and the claims they need (devio.c check_ctrlrecip)."""
    node = Node()

    def send(request_type: int, request: int, index: int) -> str:
        err = node.submit(control_urb(setup(request_type, request, 0, index, 0), 8))
        if err:
            return name(err)
        urb, err = node.reap_wait()
        return name(err) if err else f"status {-urb.status}"
    return {
        "vendor_to_interface_9": send(0x41, 1, 9),        # vendor: no check (device stalls)
        "vendor_to_endpoint_5": send(0x42, 1, 5),
        "get_status_endpoint_number_only": send(0x82, 0, 0x03),  # tried as 0x83
        "to_interface_200": send(0x01, 1, 200),           # checkintf: ifnum >= 64
        "to_interface_9": send(0x01, 1, 9),               # claimintf: no such interface
        "to_endpoint_5": send(0x02, 1, 5),                # findintfep: none
    }


def unconfigured() -> dict:
    node = Node()
    report = {"set_configuration_0": name(node.u32(usbfs.SETCONFIGURATION, 0)),
              "claim": name(node.claim(0)),
              "submit": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(64)))),
              "clear_halt": name(node.u32(usbfs.CLEAR_HALT, EP_STREAM)),
              "set_interface": name(node.ioctl(usbfs.SETINTERFACE, ctypes.byref(
                  (ctypes.c_uint * 2)(0, 0))))}
    report["set_configuration_1"] = name(node.u32(usbfs.SETCONFIGURATION, 1))
    report["claim_after"] = name(node.claim(0))
    return report


def reset() -> dict:
    """USBDEVFS_RESET: the interfaces usbfs held are unbound (claims end, URBs killed), the
    device's endpoints come back unhalted."""
    node = Node()
    assert node.claim(0) == 0 and node.claim(2) == 0
    halt = node.submit(control_urb(setup(0x02, 3, 0, EP_STREAM, 0), 8))  # SET_FEATURE(HALT)
    node.reap_wait()
    waiting = Urb(usbfs.URB_TYPE_BULK, EP_ACK, Buffer(1024))
    node.submit(waiting)
    report = {"halt": name(halt), "drop": name(node.u32(usbfs.DROP_PRIVILEGES, 0b101))}
    report["reset"] = name(node.ioctl(usbfs.RESET, 0))  # no other file holds an interface
    urb, err = node.reap_wait()
    report["pending_after_reset"] = [name(err), -urb.status if urb else None]
    report["release_after_reset"] = name(node.release(0))  # no longer claimed
    status = Buffer(2)
    get_status = control_urb(setup(0x82, 0, 0, EP_STREAM, 2), 10)
    assert node.claim(2) == 0
    node.submit(get_status)
    node.reap_wait()
    report["stream_halted_after_reset"] = get_status.buffer.read(10)[8:].hex()
    del status
    return report


def claims_misc() -> dict:
    node = Node()
    report = {
        "claim_nonexistent": name(node.claim(5)),
        "claim_out_of_range": name(node.claim(64)),
        "release_unclaimed": name(node.release(1)),
        "submit_no_such_endpoint": name(node.submit(Urb(usbfs.URB_TYPE_BULK, 0x05, Buffer(8)))),
        "submit_bad_endpoint_bits": name(node.submit(Urb(usbfs.URB_TYPE_BULK, 0x13, Buffer(8)))),
        "interrupt_on_bulk": name(node.submit(Urb(usbfs.URB_TYPE_INTERRUPT, EP_STREAM,
                                                    Buffer(8)))),
        "iso_on_bulk": name(node.submit(Urb(usbfs.URB_TYPE_ISO, EP_STREAM, Buffer(8)))),
        "unknown_type": name(node.submit(Urb(7, EP_STREAM, Buffer(8)))),
        "unknown_flag": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(8),
                                               flags=0x100))),
        "length_without_buffer": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, None,
                                                        length=8))),
        "discard_unknown": name(node.ioctl(usbfs.DISCARDURB, 0x1000)),
    }
    # an unclaimed interface is claimed by its first use (devio.c checkintf)
    urb = Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(4096))
    report["auto_claim_submit"] = name(node.submit(urb))
    report["discard_pending"] = name(node.ioctl(usbfs.DISCARDURB, urb.address))
    reaped, err = node.reap_wait()
    report["discarded_status"] = [name(err), -reaped.status if reaped else None]
    report["release_auto_claimed"] = name(node.release(2))
    return report


def privileges() -> dict:
    """USBDEVFS_DROP_PRIVILEGES, SETCONFIGURATION under a claim, DISCONNECT_CLAIM."""
    node = Node()
    claim = ctypes.create_string_buffer(264)  # struct usbdevfs_disconnect_claim
    struct.pack_into("<I", claim, 0, 5)
    report = {"disconnect_claim_nonexistent": name(node.ioctl(usbfs.DISCONNECT_CLAIM, claim)),
              "claim_0": name(node.claim(0)),
              "set_configuration_while_claimed": name(node.u32(usbfs.SETCONFIGURATION, 1)),
              "drop": name(node.u32(usbfs.DROP_PRIVILEGES, 0b001))}
    report["claim_0_again"] = name(node.claim(0))
    report["claim_2"] = name(node.claim(2))
    report["submit_stream"] = name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(64))))
    report["usbfs_ioctl"] = name(node.ioctl(usbfs.IOCTL, ctypes.create_string_buffer(16)))
    other = Node()  # another open file holds an interface
    assert other.claim(1) == 0
    report["reset"] = name(node.ioctl(usbfs.RESET, 0))
    report["release_0"] = name(node.release(0))
    return report


def limits() -> dict:
    node = Node()
    for interface in (0, 2):
        assert node.claim(interface) == 0
    big = Buffer(16)
    report = {
        "out_xfer_max": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_CMD, big,
                                             length=0x7FFFFFFF))),
        "out_over_memory": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_CMD, big,
                                                length=17 << 20))),
    }
    shared = Buffer(1 << 20)  # no data arrives while nothing is acquired
    accepted, refusal = [], 0
    while len(accepted) < 64:
        urb = Urb(usbfs.URB_TYPE_BULK, EP_STREAM, shared)
        refusal = node.submit(urb)
        if refusal:
            break
        accepted.append(urb)
    report["stream_mib_accepted"] = len(accepted)
    report["stream_refusal"] = name(refusal)
    for urb in accepted:
        node.ioctl(usbfs.DISCARDURB, urb.address)
    statuses = {node.reap_wait()[0].status for _ in accepted}
    report["discarded_statuses"] = sorted(-s for s in statuses)
    again = [node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, shared)) for _ in accepted]
    report["accepted_again"] = sum(1 for err in again if err == 0)
    return report


def reap_faults() -> dict:
    """A reap whose copy to the client fails (its buffer made inaccessible, or a bad pointer
    for the URB's address) answers EFAULT once and the URB is gone (devio.c frees it either
    way); the next URB reaps normally. (Through umockdev's socket, the preload aborts the
    client instead: only direct memory access can answer EFAULT.)"""
    import mmap
    node = Node()
    page = mmap.mmap(-1, mmap.PAGESIZE)
    descriptor = setup(0x80, 6, 0x0100, 0, 18)
    page[:8] = descriptor
    lost = Urb(usbfs.URB_TYPE_CONTROL, 0, None, length=26)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    usbfs.URB_HEAD.pack_into(lost.raw, 0, usbfs.URB_TYPE_CONTROL, 0, 0, 0, address, 26, 0)
    assert node.submit(lost) == 0
    time.sleep(0.1)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    assert libc.mprotect(address, mmap.PAGESIZE, 0) == 0       # PROT_NONE
    report = {"unwritable_buffer": [name(node.reap()[1]) for _ in range(2)]}
    good = control_urb(descriptor, 26)
    node.submit(good)
    urb, err = node.reap_wait()
    report["next"] = [name(err), urb is good and good.actual_length == 18]
    node.submit(control_urb(descriptor, 26))
    time.sleep(0.1)
    report["bad_pointer"] = [name(node.ioctl(usbfs.REAPURBNDELAY, 8)), name(node.reap()[1])]
    return report


def urb_twice() -> dict:
    """One URB struct submitted twice (its address is only the client's cookie, devio.c's
    userurb): two URBs, each discarded and reaped, and their usbfs memory comes back."""
    node = Node()
    assert node.claim(2) == 0
    twice = Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(4 << 20))   # nothing arrives
    report = {"submitted": [name(node.submit(twice)), name(node.submit(twice))],
              "discards": [name(node.ioctl(usbfs.DISCARDURB, twice.address))
                           for _ in range(3)]}
    reaped = []
    for _ in range(2):
        node.urbs[twice.address] = twice
        urb, err = node.reap_wait()
        reaped.append([name(err), -twice.status])
    report["reaped"], report["then"] = reaped, name(node.reap()[1])
    shared = Buffer(1 << 20)
    accepted = [Urb(usbfs.URB_TYPE_BULK, EP_STREAM, shared) for _ in range(15)]
    report["mib_accepted_after"] = sum(node.submit(urb) == 0 for urb in accepted)
    return report


def disconnect() -> dict:
    node = Node()
    for interface in (0, 2):
        assert node.claim(interface) == 0
    pending = [Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(1 << 16)),
               Urb(usbfs.URB_TYPE_BULK, EP_ACK, Buffer(1024))]
    for urb in pending:
        assert node.submit(urb) == 0
    idle = node.wait(0.2)
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # the camera is unplugged meanwhile
    started = time.monotonic()
    revents = node.wait(5.0)
    waited = time.monotonic() - started
    reaped = [node.reap() for _ in pending]
    after, err_after = node.reap()
    return {
        "idle_revents": idle,
        "revents": revents, "pollerr": bool(revents & select.POLLERR),
        "pollhup": bool(revents & select.POLLHUP), "waited_s": round(waited, 3),
        "reaped": sorted([name(err), errno.errorcode.get(-urb.status, urb.status)]
                         for urb, err in reaped if urb is not None),
        "reap_after": name(err_after),
        "capabilities_after": name(node.ioctl(usbfs.GET_CAPABILITIES,
                                              ctypes.byref(ctypes.c_uint()))),
        "submit_after": name(node.submit(Urb(usbfs.URB_TYPE_BULK, EP_STREAM, Buffer(64)))),
    }


def fork() -> dict:
    """A child that inherited the open node (fork) makes its own command: its memory is
    read and written, never its parent's (devio.c copies from and to the calling process)."""
    node = Node()
    assert node.claim(0) == 0
    node.command(gencp.readmem_command(1, ABRM.BASE, 4))  # the node knows the parent now
    command = gencp.readmem_command(2, ABRM.BASE, 64)
    out, ack = Buffer(len(command)), Buffer(1024)  # the same addresses in both processes
    out_urb = Urb(usbfs.URB_TYPE_BULK, EP_CMD, out)
    ack_urb = Urb(usbfs.URB_TYPE_BULK, EP_ACK, ack)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        ctypes.memmove(out.raw, command, len(command))  # only the child writes its command
        node.submit(out_urb)
        node.submit(ack_urb)
        reaped = {node.reap_wait()[0] for _ in range(2)}
        answer = gencp.Ack.parse(ack.read(ack_urb.actual_length)) \
            if ack_urb in reaped and ack_urb.status == 0 else None
        os.write(write_end, json.dumps({
            "child_ack": [answer.request_id, answer.status, len(answer.scd)] if answer else None,
        }).encode())
        os._exit(0)
    os.waitpid(child, 0)
    report = json.loads(os.read(read_end, 4096))
    report["parent_untouched"] = (out.read(len(command)) == bytes([GUARD_BYTE]) * len(command)
                                  and ack.read(1024) == bytes([GUARD_BYTE]) * 1024
                                  and ack_urb.status == 0 and ack_urb.actual_length == 0)
    report["parent_next_ack"] = node.command(gencp.readmem_command(3, ABRM.BASE, 4)).request_id
    return report


def orphan() -> dict | None:
    """The process that opened the node leaves without closing it, while a child it forked
    holds the open file: the file's claims and URBs stay (devio.c ties them to the open
    file). The child reaps the URBs its parent submitted, makes its own command, and the
    claim still keeps another process out. (The parent prints nothing; the child reports.)"""
    node = Node()
    assert node.claim(0) == 0
    node.command(gencp.readmem_command(1, ABRM.BASE, 4))  # the node knows the parent now
    command = gencp.readmem_command(2, ABRM.BASE, 64)
    out, ack = Buffer(len(command)), Buffer(1024)
    ctypes.memmove(out.raw, command, len(command))
    out_urb = Urb(usbfs.URB_TYPE_BULK, EP_CMD, out)
    ack_urb = Urb(usbfs.URB_TYPE_BULK, EP_ACK, ack)
    read_end, write_end = os.pipe()
    if os.fork():
        node.submit(out_urb)            # submitted by the parent, reaped by the child
        node.submit(ack_urb)
        time.sleep(0.2)
        os._exit(0)                     # gone, the node still open in the child
    os.close(write_end)
    os.read(read_end, 1)                # end of file: the parent has left
    node.urbs.update({urb.address: urb for urb in (out_urb, ack_urb)})
    reaped = {node.reap_wait()[0] for _ in range(2)}
    answer = gencp.Ack.parse(ack.read(ack_urb.actual_length)) \
        if ack_urb in reaped and ack_urb.status == 0 else None
    other = subprocess.run([sys.executable, __file__, "claim_once"], capture_output=True,
                           text=True, timeout=30)
    return {"parents_ack": [answer.request_id, answer.status, len(answer.scd)] if answer
            else None,
            "own_ack": node.command(gencp.readmem_command(3, ABRM.BASE, 4)).request_id,
            "other_claim": json.loads(other.stdout)["claim"]}


def claim_once() -> dict:
    return {"claim": name(Node().claim(0))}


def nak() -> dict:
    """Commands sent without reading acks: the device takes one at a time."""
    node = Node()
    assert node.claim(0) == 0
    outs = {node.bulk_out(EP_CMD, gencp.readmem_command(100 + i, ABRM.BASE, 4))
            for i in range(50)}
    time.sleep(0.3)

    def reap_all() -> list[Urb]:
        reaped = []
        while (urb := node.reap()[0]) is not None:
            reaped.append(urb)
        return reaped

    completed_before = len([u for u in reap_all() if u in outs])
    ids, completed_after = [], 0
    for _ in range(3):
        ack_urb = Urb(usbfs.URB_TYPE_BULK, EP_ACK, Buffer(1024))
        node.submit(ack_urb)
        node.wait(1.0)
        time.sleep(0.05)
        reaped = reap_all()
        completed_after += len([u for u in reaped if u in outs])
        if ack_urb in reaped:
            ids.append(gencp.Ack.parse(ack_urb.buffer.read(ack_urb.actual_length)).request_id)
    # the rest stay pending: closing the node drops them, as the kernel does
    return {"completed_before_reading": completed_before, "ack_ids": ids,
            "commands_completed": completed_before + completed_after}


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]]()))
