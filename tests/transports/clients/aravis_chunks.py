#!/usr/bin/python3
"""Aravis's own chunk parser on the camera's chunk payloads: the timestamp chunk against the
buffer's timestamp, the CRC chunk's value, and the exposure chunk. Run with Debian's python3
inside ``unshare -n``. JSON."""

import binascii
import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

from aravis_chunk_frames import chunk_frames, enable_chunks  # noqa: E402

Aravis.disable_interface("GigEVision")
camera = Aravis.Camera.new(None)
device = camera.get_device()
enable_chunks(device, ("Timestamp", "PayloadCRC16", "ExposureTime", "Gain", "CounterValue"))
camera.set_exposure_time(2000.0)


def describe(buffer, parser) -> dict:
    return {
        "has_chunks": buffer.has_chunks(),
        "chunk_timestamp": parser.get_integer_value(buffer, "ChunkTimestamp"),
        "buffer_timestamp": buffer.get_timestamp(),
        "chunk_exposure": parser.get_float_value(buffer, "ChunkExposureTime"),
        "chunk_gain": parser.get_float_value(buffer, "ChunkGain"),
        "chunk_counter1": parser.get_integer_value(buffer, "ChunkCounterValue"),
        "chunk_crc": parser.get_integer_value(buffer, "ChunkPayloadCRC16"),
        # the X-modem CRC of all the payload before the CRC chunk (its 4 data bytes + tag)
        "crc_of_payload": binascii.crc_hqx(bytes(buffer.get_data())[:-12], 0),
    }


frames = chunk_frames(camera, 3, 4, describe)
device.set_boolean_feature_value("ChunkModeActive", False)
print(json.dumps({"frames": frames}))
