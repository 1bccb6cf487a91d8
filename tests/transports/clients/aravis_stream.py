#!/usr/bin/python3
"""An Aravis application that streams until it is stopped: prints ``opened`` once the camera
is open and ``streaming`` at its first frame, then one JSON line saying how it ended.

When no frame arrives within 0.5 s (or one arrives incomplete), it does what an application
does next: it asks the camera something (reads Width), which fails once the camera is gone.
After an error it waits ``--linger`` seconds (an application telling its user), then releases
the camera. Exits 0 after ``--seconds``, 1 on an error. Run with Debian's python3 inside
``unshare -n``.
"""

import argparse
import json
import sys
import time

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis, GLib  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--serial", help="the camera with this serial (default: the first)")
    parser.add_argument("--linger", type=float, default=0.0)
    args = parser.parse_args()
    Aravis.disable_interface("GigEVision")
    frames = failed = 0
    lost = []
    camera = stream = None
    try:
        device_id = None
        if args.serial:
            Aravis.update_device_list()
            device_id = next(Aravis.get_device_id(i) for i in range(Aravis.get_n_devices())
                             if Aravis.get_device_serial_nbr(i) == args.serial)
        camera = Aravis.Camera.new(device_id)
        camera.get_device().connect("control-lost", lambda _device: lost.append(True))
        print("opened", flush=True)
        stream = camera.create_stream(None, None)
        for _ in range(4):
            stream.push_buffer(Aravis.Buffer.new_allocate(camera.get_payload()))
        camera.start_acquisition()
        start = time.monotonic()
        while time.monotonic() - start < args.seconds:
            buffer = stream.timeout_pop_buffer(500_000)
            if lost:
                raise RuntimeError("Aravis reported control lost")
            if buffer is not None and buffer.get_status() == Aravis.BufferStatus.SUCCESS:
                frames += 1
                if frames == 1:
                    print("streaming", flush=True)
            else:
                failed += buffer is not None
                camera.get_integer("Width")  # the application's next command
            if buffer is not None:
                stream.push_buffer(buffer)
        camera.stop_acquisition()
    except (GLib.Error, RuntimeError) as error:
        print(json.dumps({"error": getattr(error, "message", str(error)), "frames": frames,
                          "failed": failed}), flush=True)
        time.sleep(args.linger)
        del stream, camera  # releases the device (its interfaces, then the node)
        print("released", flush=True)
        return 1
    print(json.dumps({"frames": frames, "failed": failed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
