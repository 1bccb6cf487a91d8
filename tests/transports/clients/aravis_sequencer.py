#!/usr/bin/python3
"""Exposure bracketing with the sequencer through Aravis: three sets with rising exposure
times, each leading to the next on FrameStart, frames parsed with Aravis's own chunk parser.
Run with Debian's python3 inside ``unshare -n``. JSON: per frame the set and exposure chunks
and the mean of the image bytes."""

import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

from aravis_chunk_frames import chunk_frames, enable_chunks  # noqa: E402

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
enable_chunks(device, ("SequencerSetActive", "ExposureTime"))


def describe(buffer, parser) -> dict:
    image = bytes(buffer.get_data())[:256 * 64]
    return {"frame_id": buffer.get_frame_id(),
            "set": parser.get_integer_value(buffer, "ChunkSequencerSetActive"),
            "exposure": parser.get_float_value(buffer, "ChunkExposureTime"),
            "mean": sum(image) / len(image)}


frames = chunk_frames(camera, 6, 8, describe)
device.set_string_feature_value("SequencerMode", "Off")
device.set_boolean_feature_value("ChunkModeActive", False)
print(json.dumps({"frames": frames}))
