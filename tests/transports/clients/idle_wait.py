"""A client that waits on the stream endpoint while the camera sends nothing; reports the CPU
time it used meanwhile (libusb must sleep, not spin)."""

import json
import resource
import sys

import usb.core
import usb.util

seconds = float(sys.argv[1])
device = usb.core.find(idVendor=0x2676)
usb.util.claim_interface(device, 2)
before = resource.getrusage(resource.RUSAGE_SELF)
timed_out = False
try:
    device.read(0x83, 1024, timeout=int(seconds * 1000))
except usb.core.USBTimeoutError:
    timed_out = True
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"timed_out": timed_out, "cpu_seconds": round(cpu, 4)}))
