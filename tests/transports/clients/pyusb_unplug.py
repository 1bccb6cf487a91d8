"""A pyusb client blocked in a long stream read when the camera is unplugged: the read must
end at once with LIBUSB_ERROR_NO_DEVICE (pyusb: errno ENODEV), not hang. Prints JSON."""

import errno
import json
import time

import usb.core
import usb.util

device = usb.core.find(idVendor=0x2676)
usb.util.claim_interface(device, 2)
print("reading", flush=True)
error = None
try:
    device.read(0x83, 1 << 20, timeout=10000)
except usb.core.USBError as failure:
    error = errno.errorcode.get(failure.errno, str(failure))
# CLOCK_MONOTONIC is the same in every process: the test compares it with the unplug's time.
print(json.dumps({"error": error, "ended_at": time.monotonic()}))
