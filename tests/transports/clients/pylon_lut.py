"""The luminance LUT through pypylon: an inverting table written entry by entry (LUTIndex,
LUTValue), enabled, a Mono12 frame of a mid-gray scene grabbed; then saved with
FeaturePersistence, the table put back to the identity and disabled, the file loaded and
another frame grabbed. Prints JSON: the frames' mean values (12-bit), without the LUT, with
it, after Load; whether LUTValueAll was in the file."""

import json
import sys
from pathlib import Path

import numpy as np
from pypylon import pylon

from u3v_sim.harness import Harness

saved = Path(sys.argv[1])
harness = Harness()
harness.image(np.full((64, 64), 0.25, np.float32))
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
report = {}


def mean_of_a_frame() -> float:
    for _ in range(5):   # (a grab that failed: take the next)
        with camera.GrabOne(5000) as grab:
            if grab.GrabSucceeded():
                return float(grab.Array.mean())
    raise RuntimeError("no frame grabbed")


def write_table(value_of) -> None:
    for index in range(0, 4096, 8):
        camera.LUTIndex.Value = index
        camera.LUTValue.Value = value_of(index)


try:
    camera.Width.Value, camera.Height.Value = 512, 256
    camera.PixelFormat.Value = "Mono12"
    camera.LUTSelector.Value = "Luminance"
    report["plain"] = mean_of_a_frame()
    write_table(lambda i: 4095 - i)
    camera.LUTEnable.Value = True
    report["inverted"] = mean_of_a_frame()
    pylon.FeaturePersistence.Save(str(saved), camera.GetNodeMap())
    write_table(lambda i: i)
    camera.LUTEnable.Value = False
    report["reset"] = mean_of_a_frame()
    pylon.FeaturePersistence.Load(str(saved), camera.GetNodeMap(), True)
    report["loaded"] = mean_of_a_frame()
    report["lut_in_file"] = [line.split("\t")[0] for line in saved.read_text().splitlines()
                             if line.startswith("LUT")]
    camera.LUTEnable.Value = False
finally:
    harness.image(None)
    camera.Close()
print(json.dumps(report))
