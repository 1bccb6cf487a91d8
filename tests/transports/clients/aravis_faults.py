#!/usr/bin/python3
"""An Aravis application the harness injects faults into. Prints ``ready`` once it is set
up, waits for a line on stdin, then:

- ``stream N``: grabs N more buffers (free run, 256x64 Mono8), an application that opens
  the camera anew after 3 failed or missing buffers in a row (Aravis 0.8.26 clears the
  stream endpoint's halt when it opens a device; from 0.8.28 on, when a stream starts);
- ``reads N``: reads Width N times, then writes it once.

Prints one JSON line: each buffer's status, frame id and size, or each access's result.
Debian's python3 inside ``unshare -n``."""

import gc
import json
import sys

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis, GLib  # noqa: E402

mode, count = sys.argv[1], int(sys.argv[2])
Aravis.disable_interface("GigEVision")
report = {"buffers": [], "accesses": [], "restarts": 0}


def open_camera():
    camera = Aravis.Camera.new(None)
    if mode == "stream":
        camera.set_region(0, 0, 256, 64)
        camera.set_frame_rate(100.0)
    return camera


def new_stream(camera):
    stream = camera.create_stream(None, None)
    for _ in range(8):
        stream.push_buffer(Aravis.Buffer.new_allocate(camera.get_payload()))
    camera.start_acquisition()
    return stream


camera = open_camera()
device = camera.get_device()
if mode == "stream":
    stream = new_stream(camera)
    first = stream.timeout_pop_buffer(2_000_000)
    stream.push_buffer(first)
else:
    device.set_integer_feature_value("Width", 4096)
print("ready", flush=True)
sys.stdin.readline()
if mode == "stream":
    failures = 0
    while len(report["buffers"]) < count:
        buffer = stream.timeout_pop_buffer(1_000_000)
        if buffer is None:
            report["buffers"].append({"status": "TIMEOUT"})
            failures += 1
        else:
            status = buffer.get_status()
            report["buffers"].append({"status": status.value_nick.upper().replace("-", "_"),
                                      "id": buffer.get_frame_id(),
                                      "size": buffer.get_received_size()
                                      if hasattr(buffer, "get_received_size") else None})
            failures = 0 if status == Aravis.BufferStatus.SUCCESS else failures + 1
            stream.push_buffer(buffer)
        if failures >= 3:
            camera.stop_acquisition()
            del stream, camera, device      # (the stream's thread stops with it)
            gc.collect()
            camera = open_camera()
            device = camera.get_device()
            stream = new_stream(camera)
            report["restarts"] += 1
            failures = 0
    camera.stop_acquisition()
else:
    for _ in range(count):
        try:
            report["accesses"].append(device.get_integer_feature_value("Width"))
        except GLib.Error as error:
            report["accesses"].append(error.message)
    try:
        device.set_integer_feature_value("Width", 4096)
        report["accesses"].append("written")
    except GLib.Error as error:
        report["accesses"].append(error.message)
print(json.dumps(report))
