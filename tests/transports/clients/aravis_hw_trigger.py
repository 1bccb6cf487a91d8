#!/usr/bin/python3
"""An Aravis application waiting for hardware triggers: TriggerMode On from Line1 (rising
edge), ExposureActive on Line2, a small ROI. Prints ``armed`` once acquiring, then takes
frames until ``--frames`` arrived or ``--seconds`` passed without one; prints one JSON line:
each frame's id and timestamp (ns, device clock). Debian's python3 inside ``unshare -n``."""

import argparse
import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--frames", type=int, required=True)
parser.add_argument("--seconds", type=float, default=5.0)
parser.add_argument("--exposure-us", type=float, default=1000.0)
args = parser.parse_args()
Aravis.disable_interface("GigEVision")
camera = Aravis.Camera.new(None)
device = camera.get_device()
camera.set_region(0, 0, 256, 64)
camera.set_exposure_time(args.exposure_us)
device.set_string_feature_value("TriggerSelector", "FrameStart")
device.set_string_feature_value("TriggerMode", "On")
device.set_string_feature_value("TriggerSource", "Line1")
device.set_string_feature_value("TriggerActivation", "RisingEdge")
device.set_string_feature_value("LineSelector", "Line2")
device.set_string_feature_value("LineSource", "ExposureActive")
stream = camera.create_stream(None, None)
for _ in range(8):
    stream.push_buffer(Aravis.Buffer.new_allocate(camera.get_payload()))
camera.start_acquisition()
print("armed", flush=True)
frames = []
failed = 0
while len(frames) < args.frames:
    buffer = stream.timeout_pop_buffer(int(args.seconds * 1e6))
    if buffer is None:
        break
    if buffer.get_status() == Aravis.BufferStatus.SUCCESS:
        frames.append({"id": buffer.get_frame_id(), "timestamp": buffer.get_timestamp()})
    else:
        failed += 1
    stream.push_buffer(buffer)
extra = stream.timeout_pop_buffer(300_000)   # no frame without a pulse
camera.stop_acquisition()
device.set_string_feature_value("TriggerMode", "Off")
print(json.dumps({"frames": frames, "failed": failed, "extra": extra is not None}))
