"""Basler's auto-function flow for USB cameras through pypylon, as its auto-function sample
does it: the auto-function ROI on the image, a target brightness, ExposureAuto Once and
GrabOne until it reads Off (giving up after 100 frames); then Continuous while the harness
changes the scene's brightness. Prints JSON: frames Once took, the mean gray values (0..1) of
the frames, and the exposure times the camera set."""

import json

import numpy as np
from pypylon import pylon

from u3v_sim.harness import Harness

TARGET = 0.3
harness = Harness()
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
report = {}
try:
    camera.Width.Value, camera.Height.Value = 1024, 512
    camera.CenterX.Value = camera.CenterY.Value = True
    camera.PixelFormat.Value = "Mono8"
    camera.GainAuto.Value = "Off"
    camera.AutoFunctionROISelector.Value = "ROI1"
    camera.AutoFunctionROIUseBrightness.Value = True
    camera.AutoFunctionROIWidth.Value = camera.Width.Value     # (sizes first: they bound
    camera.AutoFunctionROIHeight.Value = camera.Height.Value   # the offsets)
    camera.AutoFunctionROIOffsetX.Value = camera.OffsetX.Value
    camera.AutoFunctionROIOffsetY.Value = camera.OffsetY.Value
    camera.AutoTargetBrightness.Value = TARGET
    camera.ExposureTime.Value = 100.0                  # far too dark to start with

    def mean_of_next() -> float | None:
        with camera.GrabOne(5000) as grab:
            if not grab.GrabSucceeded():
                return None
            return float(grab.Array.mean()) / 255

    camera.ExposureAuto.Value = "Once"
    once = []
    while camera.ExposureAuto.Value != "Off" and len(once) < 100:
        once.append(mean_of_next())
    report["once_frames"] = len(once)
    report["after_once"] = mean_of_next()   # (a frame exposed after Once ended)
    report["exposure_after_once"] = camera.ExposureTime.Value

    camera.ExposureAuto.Value = "Continuous"
    report["continuous"] = []
    for irradiance in (0.05, 0.5, 0.02):
        harness.image(np.full((64, 64), irradiance, np.float32))
        means = [mean_of_next() for _ in range(30)]
        report["continuous"].append({"irradiance": irradiance,
                                     "last": [m for m in means if m is not None][-5:],
                                     "exposure": camera.ExposureTime.Value,
                                     "mode": camera.ExposureAuto.Value})
    camera.ExposureAuto.Value = "Off"
finally:
    harness.image(None)
    camera.Close()
print(json.dumps(report))
