"""pyusb: a raw WRITEMEM of Width while acquiring gets ACCESS_DENIED and changes nothing;
after AcquisitionStop it is taken. JSON."""

import json
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pyusb_u3v import PyusbHost, find_camera  # noqa: E402

from u3v_sim.camera.camera import genicam_files  # noqa: E402

layout = genicam_files()[0]
host = PyusbHost(find_camera())


def write(name: str, value: int) -> str:
    try:
        host.write(layout.value_register(name).address, struct.pack("<I", value))
        return "ok"
    except IOError as error:
        return str(error).rsplit(" ", 1)[-1]


report = {"start": write("AcquisitionStart", 1), "width": write("Width", 1024),
          "width_value": host.u32(layout.value_register("Width").address),
          "stop": write("AcquisitionStop", 1)}
report["width_after_stop"] = write("Width", 1024)
report["width_value_after"] = host.u32(layout.value_register("Width").address)
write("Width", 4096)
print(json.dumps(report))
