"""pyusb: change settings and start an acquisition ("change"), or report what the camera is
after a replug ("check"): Width, whether it acquires, its clock (ns since power-up). JSON."""

import json
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pyusb_u3v import PyusbHost, find_camera  # noqa: E402

from u3v_features.bootstrap import ABRM  # noqa: E402
from u3v_sim.camera.camera import genicam_files  # noqa: E402

layout = genicam_files()[0]
host = PyusbHost(find_camera())


def register(name: str) -> int:
    return layout.value_register(name).address


def one() -> bytes:
    return struct.pack("<I", 1)


if sys.argv[1] == "change":
    host.write(register("Width"), struct.pack("<I", 1024))
    host.write(register("AcquisitionStart"), one())
host.write(ABRM.TIMESTAMP_LATCH, one())
print(json.dumps({"width": host.u32(register("Width")),
                  "timestamp_ns": host.u64(ABRM.TIMESTAMP),
                  "frames_started": None}))
