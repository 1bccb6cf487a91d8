#!/usr/bin/python3
"""Aravis's own chunk setup (arv_camera_set_chunks switches every ChunkSelector entry off,
then on the requested ones), as its conformance tool's ace USB configuration does
("Timestamp CounterValue"), then one buffer with the chunks parsed. Debian's python3 inside
``unshare -n``. JSON."""

import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

Aravis.disable_interface("GigEVision")
camera = Aravis.Camera.new(None)
camera.set_chunks("Timestamp,CounterValue")
parser = camera.create_chunk_parser()
stream = camera.create_stream(None, None)
stream.push_buffer(Aravis.Buffer.new_allocate(camera.get_payload()))
camera.start_acquisition()
buffer = stream.timeout_pop_buffer(3_000_000)
report = {"status": int(buffer.get_status()) if buffer else None}
if buffer is not None and buffer.get_status() == Aravis.BufferStatus.SUCCESS:
    report["chunk_timestamp_is_buffer_timestamp"] = (
        parser.get_integer_value(buffer, "ChunkTimestamp") == buffer.get_timestamp())
camera.stop_acquisition()
camera.set_chunk_mode(False)
print(json.dumps(report))
