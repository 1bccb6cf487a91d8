#!/usr/bin/python3
"""Exposure bracketing with the sequencer through Aravis: three sets with rising exposure
times, each leading to the next on FrameStart, frames parsed with Aravis's own chunk parser.
Run with Debian's python3 inside ``unshare -n``. JSON: per frame the set and exposure chunks
and the mean of the image bytes."""

import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

EXPOSURES = (1000.0, 2000.0, 4000.0)
Aravis.disable_interface("GigEVision")
camera = Aravis.Camera.new(None)
device = camera.get_device()
device.set_integer_feature_value("Width", 256)
device.set_integer_feature_value("Height", 64)
device.set_string_feature_value("SequencerConfigurationMode", "On")
for index, exposure in enumerate(EXPOSURES):
    device.set_integer_feature_value("SequencerSetSelector", index)
    device.execute_command("SequencerSetLoad")
    device.set_float_feature_value("ExposureTime", exposure)
    device.set_integer_feature_value("SequencerPathSelector", 1)
    device.set_string_feature_value("SequencerTriggerSource", "FrameStart")
    device.set_integer_feature_value("SequencerSetNext", (index + 1) % len(EXPOSURES))
    device.execute_command("SequencerSetSave")
device.set_string_feature_value("SequencerConfigurationMode", "Off")
device.set_string_feature_value("SequencerMode", "On")
for chunk in ("SequencerSetActive", "ExposureTime"):
    device.set_string_feature_value("ChunkSelector", chunk)
    device.set_boolean_feature_value("ChunkEnable", True)
device.set_boolean_feature_value("ChunkModeActive", True)
parser = camera.create_chunk_parser()
stream = camera.create_stream(None, None)
payload = camera.get_payload()
for _ in range(8):
    stream.push_buffer(Aravis.Buffer.new_allocate(payload))
camera.start_acquisition()
frames = []
for _ in range(6):
    buffer = stream.timeout_pop_buffer(3_000_000)
    if buffer is None or buffer.get_status() != Aravis.BufferStatus.SUCCESS:
        frames.append(None)
        continue
    image = bytes(buffer.get_data())[:256 * 64]
    frames.append({"frame_id": buffer.get_frame_id(),
                   "set": parser.get_integer_value(buffer, "ChunkSequencerSetActive"),
                   "exposure": parser.get_float_value(buffer, "ChunkExposureTime"),
                   "mean": sum(image) / len(image)})
    stream.push_buffer(buffer)
camera.stop_acquisition()
device.set_string_feature_value("SequencerMode", "Off")
device.set_boolean_feature_value("ChunkModeActive", False)
print(json.dumps({"frames": frames}))
