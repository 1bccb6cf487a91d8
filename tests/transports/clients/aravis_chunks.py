#!/usr/bin/python3
"""Aravis's own chunk parser on the camera's chunk payloads: the timestamp chunk against the
buffer's timestamp, the CRC chunk's value, and the exposure chunk. Run with Debian's python3
inside ``unshare -n``. JSON."""

import binascii
import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

Aravis.disable_interface("GigEVision")
camera = Aravis.Camera.new(None)
device = camera.get_device()
device.set_string_feature_value("ChunkSelector", "Timestamp")
device.set_boolean_feature_value("ChunkEnable", True)
device.set_string_feature_value("ChunkSelector", "PayloadCRC16")
device.set_boolean_feature_value("ChunkEnable", True)
for chunk in ("ExposureTime", "Gain", "CounterValue"):
    device.set_string_feature_value("ChunkSelector", chunk)
    device.set_boolean_feature_value("ChunkEnable", True)
device.set_boolean_feature_value("ChunkModeActive", True)
camera.set_exposure_time(2000.0)
parser = camera.create_chunk_parser()
stream = camera.create_stream(None, None)
payload = camera.get_payload()
for _ in range(4):
    stream.push_buffer(Aravis.Buffer.new_allocate(payload))
camera.start_acquisition()
frames = []
for _ in range(3):
    buffer = stream.timeout_pop_buffer(3_000_000)
    if buffer is None or buffer.get_status() != Aravis.BufferStatus.SUCCESS:
        frames.append(None)
        continue
    frames.append({
        "has_chunks": buffer.has_chunks(),
        "chunk_timestamp": parser.get_integer_value(buffer, "ChunkTimestamp"),
        "buffer_timestamp": buffer.get_timestamp(),
        "chunk_exposure": parser.get_float_value(buffer, "ChunkExposureTime"),
        "chunk_gain": parser.get_float_value(buffer, "ChunkGain"),
        "chunk_counter1": parser.get_integer_value(buffer, "ChunkCounterValue"),
        "chunk_crc": parser.get_integer_value(buffer, "ChunkPayloadCRC16"),
        # the X-modem CRC of all the payload before the CRC chunk (its 4 data bytes + tag)
        "crc_of_payload": binascii.crc_hqx(bytes(buffer.get_data())[:-12], 0),
    })
    stream.push_buffer(buffer)
camera.stop_acquisition()
device.set_boolean_feature_value("ChunkModeActive", False)
print(json.dumps({"frames": frames}))
