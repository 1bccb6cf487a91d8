"""A pyusb (libusb) U3V host that streams until it is stopped: prints ``opened`` once it has
claimed the camera and ``streaming`` after its first frame, then one JSON line saying how it
ended (the USBError's errno and libusb error code when the camera went away).

    pyusb_stream.py [FRAMES [SERIAL [LINGER]]]

After a USB error it waits LINGER seconds (an application telling its user), then releases
the camera. Exits 0 after FRAMES frames, 1 on a USB error.
"""

import json
import sys
import time

import usb.core
import usb.util

from pyusb_u3v import VENDOR, PyusbHost, grab


def main() -> int:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    serial = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    linger = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    received = 0
    device = None
    try:
        device = next(d for d in usb.core.find(find_all=True, idVendor=VENDOR)
                      if serial is None or d.serial_number == serial)
        host = PyusbHost(device)
        print("opened", flush=True)
        received += len(grab(device, host, 1))
        print("streaming", flush=True)
        received += len(grab(device, host, frames))
    except (usb.core.USBError, IOError) as error:
        print(json.dumps({"error": str(error), "errno": getattr(error, "errno", None),
                          "libusb_error": getattr(error, "backend_error_code", None),
                          "frames": received}), flush=True)
        time.sleep(linger)
        if device is not None:
            usb.util.dispose_resources(device)  # releases its interfaces, closes the node
        print("released", flush=True)
        return 1
    print(json.dumps({"frames": received}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
