"""pypylon grabs 200 frames of a fixed test image at the rated rate: how many arrive complete and
byte for byte what the frame generator renders, how many pylon flags, how many differ. JSON."""

import json

import numpy as np
from pypylon import pylon
from u3v_sim.frames.generator import FrameGenerator
from u3v_sim.frames.settings import ImageSettings

cam = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
cam.Open()
cam.TestImageSelector.Value = "Testimage1"
expected = np.frombuffer(bytes(FrameGenerator().render(ImageSettings(test_image="Testimage1"),
                                                      0, 0)), np.uint8).reshape(2168, 4096)
cam.StartGrabbingMax(200)
stats = {"ok": 0, "flagged": 0, "differ": 0, "zeroed_bytes": 0}
while cam.IsGrabbing():
    with cam.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException) as r:
        if not r.GrabSucceeded():
            stats["flagged"] += 1
            continue
        a = r.Array
        if np.array_equal(a, expected):
            stats["ok"] += 1
        else:
            stats["differ"] += 1
            stats["zeroed_bytes"] += int(((a != expected) & (a == 0)).sum())
cam.TestImageSelector.Value = "Off"
cam.Close()
print(json.dumps(stats))
