"""Watch libusb hot-plug events for the camera while the test unplugs and replugs it; also
check that a handle opened before the unplug fails afterwards, as on real hardware."""

import json
import struct
import sys
import time

import usb1

events = []
stale_error = None
with usb1.USBContext() as context:
    def on_event(ctx, device, event):
        kind = {usb1.HOTPLUG_EVENT_DEVICE_ARRIVED: "arrived",
                usb1.HOTPLUG_EVENT_DEVICE_LEFT: "left"}[event]
        events.append([kind, device.getBusNumber(), device.getDeviceAddress()])

    handle = context.openByVendorIDAndProductID(0x2676, 0xBA02)
    handle.claimInterface(0)
    context.hotplugRegisterCallback(on_event, vendor_id=0x2676, flags=0)
    print("ready", flush=True)
    if len(sys.argv) > 2:  # execute DeviceReset (register address given) through this handle
        address = int(sys.argv[2], 0)
        command = struct.pack("<IHHHHQI", 0x43563355, 0x4000, 0x0802, 12, 1, address, 1)
        handle.bulkWrite(0x01, command, timeout=1000)
        ack = handle.bulkRead(0x81, 1024, timeout=2000)
        events.append(["ack", ack[6] | ack[7] << 8, 0])
    deadline = time.monotonic() + float(sys.argv[1])
    # until the deadline, or until the camera has left and come back
    while time.monotonic() < deadline and [e[0] for e in events[-2:]] != ["left", "arrived"]:
        context.handleEventsTimeout(0.1)
    try:
        handle.bulkWrite(0x01, b"U3VC" + bytes(20), timeout=500)
    except usb1.USBError as error:
        stale_error = type(error).__name__
print(json.dumps({"events": events, "stale_handle_error": stale_error}))
