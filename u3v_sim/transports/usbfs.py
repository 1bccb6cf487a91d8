"""Linux usbfs: ioctl numbers, the x86-64 ``struct usbdevfs_urb`` layout (linux/usbdevice_fs.h),
and the checks, claims and memory limit the kernel's device node applies before a URB reaches a
device (drivers/usb/core/devio.c), as pure functions and small state objects: a transport that
plays the device node (umockdev) answers each ioctl with the errno the kernel would."""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction: int, number: int, size: int) -> int:
    return direction << 30 | size << 16 | ord("U") << 8 | number


def _io(number: int) -> int:
    return _ioc(0, number, 0)


def _ior(number: int, size: int) -> int:
    return _ioc(_IOC_READ, number, size)


def _iow(number: int, size: int) -> int:
    return _ioc(_IOC_WRITE, number, size)


def _iowr(number: int, size: int) -> int:
    return _ioc(_IOC_READ | _IOC_WRITE, number, size)


POINTER = 8
CONTROL = _iowr(0, 24)
BULK = _iowr(2, 24)
RESETEP = _ior(3, 4)
SETINTERFACE = _ior(4, 8)
SETCONFIGURATION = _ior(5, 4)
GETDRIVER = _iow(8, 260)
SUBMITURB = _ior(10, 56)
DISCARDURB = _io(11)
REAPURB = _iow(12, POINTER)
REAPURBNDELAY = _iow(13, POINTER)
CLAIMINTERFACE = _ior(15, 4)
RELEASEINTERFACE = _ior(16, 4)
CONNECTINFO = _iow(17, 8)
IOCTL = _iowr(18, 16)
RESET = _io(20)
CLEAR_HALT = _ior(21, 4)
DISCONNECT = _io(22)
CONNECT = _io(23)
GET_CAPABILITIES = _ior(26, 4)
DISCONNECT_CLAIM = _ior(27, 264)
ALLOC_STREAMS = _ior(28, 8)
FREE_STREAMS = _ior(29, 8)
DROP_PRIVILEGES = _iow(30, 4)
GET_SPEED = _io(31)
# fs/ioctl.c do_vfs_ioctl answers these for every file, before the driver sees anything.
VFS_FIONCLEX, VFS_FIOCLEX, VFS_FIONBIO, VFS_FIOASYNC = 0x5450, 0x5451, 0x5421, 0x5452
DISCSIGNAL = _ior(14, 16)
CLAIM_PORT = _ior(24, 4)
RELEASE_PORT = _ior(25, 4)
FORBID_SUSPEND = _io(33)
ALLOW_SUSPEND = _io(34)
CONNINFO_EX_NUMBER = 32  # _IOR('U', 32, len): any length, the struct's first len bytes


def is_conninfo_ex(request: int) -> bool:
    return request & ~(0x3FFF << 16) == _ior(CONNINFO_EX_NUMBER, 0)

NAMES = {value: name for name, value in globals().items()
         if name.isupper() and isinstance(value, int) and name != "POINTER"}

CAP_ZERO_PACKET = 0x01
CAP_BULK_CONTINUATION = 0x02
CAP_NO_PACKET_SIZE_LIM = 0x04
CAP_BULK_SCATTER_GATHER = 0x08
CAP_REAP_AFTER_DISCONNECT = 0x10
# Every transfer arrives as one URB, however large (as libusb's own umockdev tests answer).
CAPABILITIES = (CAP_BULK_SCATTER_GATHER | CAP_BULK_CONTINUATION | CAP_NO_PACKET_SIZE_LIM
                | CAP_REAP_AFTER_DISCONNECT | CAP_ZERO_PACKET)

URB_TYPE_ISO, URB_TYPE_INTERRUPT, URB_TYPE_CONTROL, URB_TYPE_BULK = 0, 1, 2, 3
URB_SIZE = 56
URB_STATUS_OFFSET = 4
URB_BUFFER_OFFSET = 16
URB_ACTUAL_LENGTH_OFFSET = 28
# type, endpoint, status, flags, buffer, buffer_length, actual_length
URB_HEAD = struct.Struct("<BBxxiIxxxxQii")
SPEED_SUPER = 5

# Flags a URB may carry (devio.c proc_do_submiturb: any other bit is -EINVAL; ISO_ASAP only on
# isochronous URBs, and this device has no isochronous endpoint).
URB_SHORT_NOT_OK = 0x01
URB_ISO_ASAP = 0x02
URB_BULK_CONTINUATION = 0x04
URB_NO_FSBR = 0x20
URB_ZERO_PACKET = 0x40
URB_NO_INTERRUPT = 0x80
URB_FLAGS_ALLOWED = (URB_SHORT_NOT_OK | URB_BULK_CONTINUATION | URB_NO_FSBR | URB_ZERO_PACKET
                     | URB_NO_INTERRUPT)

# devio.c: USBFS_XFER_MAX = UINT_MAX / 2 - 1000000; a longer URB is -EINVAL before anything else.
XFER_MAX = 0xFFFFFFFF // 2 - 1000000
# devio.c: module parameter usbfs_memory_mb, 16 by default; beyond it a submit is -ENOMEM.
DEFAULT_MEMORY_MB = 16
# What one URB costs besides its buffer (struct async + struct urb in the kernel, about 0.5 KiB
# on x86-64); counted as devio.c counts them, so many tiny URBs also reach the limit.
URB_OVERHEAD = 512
SETUP_SIZE = 8
# USB 2.0 9.3: bmRequestType bits 4..0, the recipient.
RECIPIENT_INTERFACE, RECIPIENT_ENDPOINT = 1, 2
TYPE_MASK, TYPE_VENDOR = 0x60, 0x40  # bmRequestType bits 6..5
MAX_INTERFACES = 64  # devio.c: 8 * sizeof(ps->ifclaimed), an unsigned long on x86-64


@dataclass(frozen=True)
class Urb:
    """The fields of ``struct usbdevfs_urb`` the device node acts on (linux/usbdevice_fs.h)."""
    type: int
    endpoint: int
    status: int
    flags: int
    buffer: int          # address in the client
    buffer_length: int   # signed in the struct; devio.c compares it as unsigned
    actual_length: int

    @classmethod
    def parse(cls, head: bytes) -> "Urb":
        return cls(*URB_HEAD.unpack_from(head))

    @property
    def length(self) -> int:
        """buffer_length as the kernel reads it (unsigned)."""
        return self.buffer_length & 0xFFFFFFFF


def interface_of_endpoint(endpoint: int, interfaces: dict[int, tuple[int, ...]],
                          configured: bool = True) -> int:
    """The interface an endpoint belongs to, or a negative errno (devio.c findintfep: bits
    beyond direction and number -EINVAL, no active configuration -ESRCH, none -ENOENT)."""
    if endpoint & ~0x8F:
        return -errno.EINVAL
    if not configured:
        return -errno.ESRCH
    for interface, endpoints in interfaces.items():
        if endpoint in endpoints:
            return interface
    return -errno.ENOENT


def check_submit(urb: Urb, setup: bytes | None, interfaces: dict[int, tuple[int, ...]],
                 endpoint_types: dict[int, int], configured: bool = True) -> int:
    """The errno devio.c's proc_do_submiturb answers before it claims anything or allocates,
    or 0. ``setup`` is the first 8 bytes of a control URB's buffer (None for other types);
    ``endpoint_types`` maps each endpoint (besides 0) to its transfer type (bmAttributes & 3).

    In devio.c's order: unknown flags, length >= USBFS_XFER_MAX, a buffer length without a
    buffer are -EINVAL; an endpoint in no interface is -ENOENT (claims are checked by the
    caller); a URB type the endpoint does not have, a control URB shorter than its SETUP or
    whose wLength + 8 exceeds its buffer are -EINVAL."""
    if urb.flags & ~URB_FLAGS_ALLOWED:
        return errno.EINVAL
    if urb.length >= XFER_MAX:
        return errno.EINVAL
    if urb.length > 0 and not urb.buffer:
        return errno.EINVAL
    if urb.type == URB_TYPE_CONTROL:
        if urb.endpoint & 0x7F:
            # a control URB to another endpoint: findintfep, then "not a control endpoint"
            found = interface_of_endpoint(urb.endpoint, interfaces, configured)
            return -found if found < 0 else errno.EINVAL
        if urb.length < SETUP_SIZE or setup is None:
            return errno.EINVAL
        w_length = int.from_bytes(setup[6:8], "little")
        if urb.length < w_length + SETUP_SIZE:
            return errno.EINVAL
        return 0
    found = interface_of_endpoint(urb.endpoint, interfaces, configured)
    if found < 0:
        return -found
    kind = endpoint_types.get(urb.endpoint)
    if urb.type == URB_TYPE_BULK:
        # a bulk URB on an interrupt endpoint is taken as a single-shot interrupt transfer
        return 0 if kind in (ENDPOINT_XFER_BULK, ENDPOINT_XFER_INT) else errno.EINVAL
    if urb.type == URB_TYPE_INTERRUPT:
        return 0 if kind == ENDPOINT_XFER_INT else errno.EINVAL
    if urb.type == URB_TYPE_ISO:
        return 0 if kind == ENDPOINT_XFER_ISOC else errno.EINVAL
    return errno.EINVAL


def control_interface(setup: bytes, interfaces: dict[int, tuple[int, ...]],
                      configured: bool = True) -> int | None:
    """The interface a control request on endpoint 0 must hold a claim on (the caller's
    claim check answers -EINVAL beyond 63 and -ENOENT for one that does not exist), a negative
    errno, or None when it needs none. As devio.c check_ctrlrecip: vendor requests need none;
    a request to an endpoint needs its interface (an endpoint number given without its
    direction bit is tried with it flipped), one to endpoint 0 none; a request to an interface
    needs that interface; a request to the device none."""
    request_type = setup[0]
    if request_type & TYPE_MASK == TYPE_VENDOR:
        return None
    index = int.from_bytes(setup[4:6], "little") & 0xFF
    recipient = request_type & 0x1F
    if recipient == RECIPIENT_ENDPOINT:
        if index & 0x7F == 0:
            return None
        found = interface_of_endpoint(index, interfaces, configured)
        if found < 0:
            found = interface_of_endpoint(index ^ 0x80, interfaces, configured)
        return found
    if recipient == RECIPIENT_INTERFACE:
        return index
    return None


ENDPOINT_XFER_CONTROL, ENDPOINT_XFER_ISOC, ENDPOINT_XFER_BULK, ENDPOINT_XFER_INT = 0, 1, 2, 3


class MemoryBudget:
    """usbfs's limit on memory held by submitted URBs (devio.c usbfs_increase_memory_usage):
    shared by every device node, ``limit_mb`` MiB (0: devio.c's hard limit only)."""

    def __init__(self, limit_mb: int = DEFAULT_MEMORY_MB):
        self.limit = limit_mb << 20 if 0 < limit_mb < XFER_MAX >> 20 else XFER_MAX
        self.used = 0
        self.peak = 0
        self.refused = 0

    def reserve(self, amount: int) -> bool:
        if self.used + amount > self.limit:
            self.refused += 1
            return False
        self.used += amount
        self.peak = max(self.peak, self.used)
        return True

    def release(self, amount: int) -> None:
        self.used -= amount


class Claims:
    """Which open file holds which interface (devio.c claimintf/releaseintf/checkintf): a claim
    is per open file; another file's claim makes a claim, or a use that would auto-claim,
    -EBUSY."""

    def __init__(self, interfaces: dict[int, tuple[int, ...]]):
        self.interfaces = interfaces
        self.holder: dict[int, object] = {}

    def claim(self, owner: object, interface: int, allowed: int = ~0,
              configured: bool = True) -> int:
        """0 or the errno of USBDEVFS_CLAIMINTERFACE; ``allowed`` is the mask of interfaces
        left to a file that dropped its privileges (USBDEVFS_DROP_PRIVILEGES): others are
        -EACCES. With no active configuration no interface exists (-ENOENT)."""
        if not 0 <= interface < MAX_INTERFACES:
            return errno.EINVAL
        holder = self.holder.get(interface)
        if holder is owner:
            return 0
        if not allowed >> interface & 1:
            return errno.EACCES
        if not configured or interface not in self.interfaces:
            return errno.ENOENT
        if holder is not None and holder is not owner:
            return errno.EBUSY
        self.holder[interface] = owner
        return 0

    def release(self, owner: object, interface: int) -> int:
        """0 or the errno of USBDEVFS_RELEASEINTERFACE (-EINVAL when not ours to release)."""
        if not 0 <= interface < MAX_INTERFACES:
            return errno.EINVAL
        if interface not in self.interfaces:
            return errno.ENOENT
        if self.holder.get(interface) is not owner:
            return errno.EINVAL
        del self.holder[interface]
        return 0

    def release_all(self, owner: object) -> None:
        for interface in [i for i, h in self.holder.items() if h is owner]:
            del self.holder[interface]

    def holders(self) -> set:
        return set(self.holder.values())

# struct usbdevfs_ctrltransfer: bRequestType, bRequest, wValue, wIndex, wLength, timeout (ms),
# data pointer (x86-64: 24 bytes).
CTRLTRANSFER = struct.Struct("<BBHHHIxxxxQ")
CTRLTRANSFER_DATA_OFFSET = 16
# devio.c proc_control: wLength above PAGE_SIZE is -EINVAL.
PAGE_SIZE = 4096

# struct usbdevfs_bulktransfer: ep, len, timeout (ms), data pointer (x86-64: 24 bytes).
BULKTRANSFER = struct.Struct("<IIIxxxxQ")
# struct usbdevfs_conninfo_ex: size, busnum, devnum, speed, num_ports, ports[7].
CONNINFO_EX_STRUCT = struct.Struct("<IIIIB7s")
