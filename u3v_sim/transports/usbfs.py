"""Linux usbfs ioctl numbers and the x86-64 ``struct usbdevfs_urb`` layout (linux/usbdevice_fs.h)."""

from __future__ import annotations

import struct

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
