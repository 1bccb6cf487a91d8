#!/usr/bin/python3
"""Aravis: writing Width or PixelFormat while acquiring fails at once; after the stop it
works. Debian's python3 inside ``unshare -n``. JSON."""

import json

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis, GLib  # noqa: E402

Aravis.disable_interface("GigEVision")
camera = Aravis.Camera.new(None)
device = camera.get_device()
stream = camera.create_stream(None, None)
stream.push_buffer(Aravis.Buffer.new_allocate(camera.get_payload()))
camera.start_acquisition()
report = {}
for name, write in (("Width", lambda: device.set_integer_feature_value("Width", 1024)),
                    ("PixelFormat", lambda: device.set_string_feature_value("PixelFormat",
                                                                            "Mono12p"))):
    try:
        write()
        report[name] = "accepted"
    except GLib.Error as error:
        report[name] = error.message
report["width_while_acquiring"] = device.get_integer_feature_value("Width")
camera.stop_acquisition()
device.set_integer_feature_value("Width", 1024)
report["width_after"] = device.get_integer_feature_value("Width")
device.set_integer_feature_value("Width", 4096)
print(json.dumps(report))
