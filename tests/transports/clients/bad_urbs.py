"""A client that hands the device URBs pointing nowhere, as a buggy program might: each
ioctl must fail with EFAULT, as the kernel's would. Prints the errno names (JSON)."""

import ctypes
import errno
import json
import os
import struct
import sys
from pathlib import Path

import usb.core

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from u3v_sim.transports import usbfs  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
device = usb.core.find(idVendor=0x2676)
fd = os.open(f"/dev/bus/usb/{device.bus:03d}/{device.address:03d}", os.O_RDWR)


def ioctl(request: int, argument) -> str:
    if libc.ioctl(fd, request, argument) == 0:
        return "ok"
    return errno.errorcode[ctypes.get_errno()]


interface = ctypes.c_uint(0)
claimed = ioctl(usbfs.CLAIMINTERFACE, ctypes.byref(interface))
# type, endpoint, status, flags, buffer, buffer_length, actual_length
urb = ctypes.create_string_buffer(usbfs.URB_SIZE)
usbfs.URB_HEAD.pack_into(urb, 0, usbfs.URB_TYPE_BULK, 0x01, 0, 0, 8, 24, 0)  # buffer at 8
report = {
    "claim": claimed,
    "urb_pointing_nowhere": ioctl(usbfs.SUBMITURB, ctypes.c_void_p(8)),
    "buffer_pointing_nowhere": ioctl(usbfs.SUBMITURB, urb),
}
struct.pack_into("<I", interface, 0, 0)
report["release"] = ioctl(usbfs.RELEASEINTERFACE, ctypes.byref(interface))
os.close(fd)
print(json.dumps(report))
