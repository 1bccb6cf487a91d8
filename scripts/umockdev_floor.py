#!/usr/bin/env python3
"""What one usbfs ioctl costs through umockdev itself, before the camera does any work: a
testbed whose handler answers every ioctl at once, and a client (under the preload) issuing
USBDEVFS_GET_SPEED in a loop. libusb needs 6 forwarded ioctls per synchronous transfer pair
(submit, reap, reap-until-empty for the command and again for the acknowledge), so six times
this figure is the floor of a GenCP round trip through umockdev on this machine.

Usage: umockdev_floor.py [--count N]  (prints JSON)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from u3v_sim.transports import PRELOAD_LIBRARY  # noqa: E402
from u3v_sim.transports.usbfs import GET_SPEED  # noqa: E402

CLIENT = """
import ctypes, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
with open("/proc/self/timerslack_ns", "w") as slack:
    slack.write("1")  # as the daemon sets it for its clients
libc = ctypes.CDLL(None, use_errno=True)
count = int(sys.argv[2])
start = time.perf_counter()
for _ in range(count):
    libc.ioctl(fd, %d, 0)
print(json.dumps({"us_per_ioctl": (time.perf_counter() - start) / count * 1e6}))
""" % GET_SPEED


class Immediate(UMockdev.IoctlBase):
    def do_handle_ioctl(self, client) -> bool:
        client.complete(5, 0)
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    testbed = UMockdev.Testbed.new()
    handler = Immediate()
    node = "/dev/bus/usb/001/002"
    testbed.attach_ioctl(node, handler)
    testbed.add_from_string("P: /devices/usb1/1-1\nN: bus/usb/001/002\nE: SUBSYSTEM=usb\n"
                            "E: DEVTYPE=usb_device\nE: BUSNUM=001\nE: DEVNUM=002\n"
                            "A: busnum=1\\n\nA: devnum=2\\n\n")
    env = dict(os.environ, UMOCKDEV_DIR=testbed.get_root_dir(),
               LD_PRELOAD=PRELOAD_LIBRARY)
    out = subprocess.run([sys.executable, "-c", CLIENT, node, str(args.count)], env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    del testbed  # its finalizer removes the fake /sys and /dev
    print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
