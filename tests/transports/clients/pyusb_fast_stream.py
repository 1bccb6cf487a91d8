"""A pyusb host that starts a fast, tiny-frame acquisition and then stops reading.

Usage: pyusb_fast_stream.py WIDTH HEIGHT RATE_HZ FRAMES
Sets the ROI, the shortest exposure and AcquisitionFrameRate (0: no limit), enables the
stream, starts acquisition, reads FRAMES blocks, prints one JSON line, then sleeps (a test
kills it: a client that dies mid-stream, never stopping the camera).
"""

from __future__ import annotations

import json
import struct
import sys
import time

from pyusb_u3v import EP_STREAM, PyusbHost, find_camera

from u3v_features.acA4096_40um import BY_NAME
from u3v_features.bootstrap import SIRM
from u3v_sim.camera.camera import genicam_files
from u3v_sim.camera.feature_registers import encode


def set_feature(host: PyusbHost, layout, name: str, value) -> None:
    register = layout.value_register(name)
    host.write(register.address, encode(register, BY_NAME[name], value))


def main() -> None:
    width, height, rate, frames = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]),
                                   int(sys.argv[4]))
    device = find_camera()
    host = PyusbHost(device)
    layout = genicam_files()[0]
    set_feature(host, layout, "AcquisitionStop", 1)
    host.write(SIRM.BASE + SIRM.SI_CONTROL, struct.pack("<I", 0))
    for name, value in (("OffsetX", 0), ("OffsetY", 0), ("Width", width), ("Height", height),
                        ("ExposureTime", 16.0), ("AcquisitionFrameRateEnable", rate > 0)):
        set_feature(host, layout, name, value)
    if rate > 0:
        set_feature(host, layout, "AcquisitionFrameRate", rate)
    payload = host.u64(SIRM.BASE + SIRM.REQUIRED_PAYLOAD_SIZE)
    final1 = -(-payload // 4) * 4
    for offset, value in ((SIRM.MAXIMUM_LEADER_SIZE, 1024), (SIRM.MAXIMUM_TRAILER_SIZE, 1024),
                          (SIRM.PAYLOAD_TRANSFER_SIZE, 0), (SIRM.PAYLOAD_TRANSFER_COUNT, 0),
                          (SIRM.PAYLOAD_FINAL_TRANSFER1_SIZE, final1),
                          (SIRM.PAYLOAD_FINAL_TRANSFER2_SIZE, 0)):
        host.write(SIRM.BASE + offset, struct.pack("<I", value))
    host.write(SIRM.BASE + SIRM.SI_CONTROL, struct.pack("<I", 1))
    set_feature(host, layout, "AcquisitionStart", 1)
    started = time.monotonic()
    for _ in range(frames):
        for request in (1024, final1, 1024):   # leader, payload, trailer
            device.read(EP_STREAM, request, timeout=3000)
    print(json.dumps({"payload": payload, "frames": frames,
                      "seconds": round(time.monotonic() - started, 3)}), flush=True)
    time.sleep(3600)   # streaming on, nobody reading: the test kills this process


if __name__ == "__main__":
    main()
