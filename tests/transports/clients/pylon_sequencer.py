"""Exposure bracketing with the sequencer through pypylon, as Basler's sequencer sample for USB
cameras does it: three sets with rising exposure times, each leading to the next on
FrameStart, SequencerMode On, frames grabbed with the SequencerSetActive and ExposureTime
chunks. Prints JSON: per frame the chunks and the mean gray value."""

import json

import numpy as np
from pypylon import pylon

from u3v_sim.harness import Harness

EXPOSURES = (1000.0, 2000.0, 4000.0)
harness = Harness()
harness.image(np.full((64, 64), 0.3, np.float32))
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
frames = []
try:
    camera.Width.Value, camera.Height.Value = 512, 256
    camera.SequencerMode.Value = "Off"
    camera.SequencerConfigurationMode.Value = "On"
    for index, exposure in enumerate(EXPOSURES):
        camera.SequencerSetSelector.Value = index
        camera.SequencerSetLoad.Execute()
        camera.ExposureTime.Value = exposure
        camera.SequencerPathSelector.Value = 1
        camera.SequencerTriggerSource.Value = "FrameStart"
        camera.SequencerSetNext.Value = (index + 1) % len(EXPOSURES)
        camera.SequencerSetSave.Execute()
    camera.SequencerConfigurationMode.Value = "Off"
    camera.SequencerMode.Value = "On"
    camera.ChunkModeActive.Value = True
    for chunk in ("SequencerSetActive", "ExposureTime"):
        camera.ChunkSelector.Value = chunk
        camera.ChunkEnable.Value = True
    camera.StartGrabbingMax(9)
    while camera.IsGrabbing():
        with camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException) as grab:
            if grab.GrabSucceeded():
                frames.append({"block_id": grab.BlockID,
                               "set": grab.ChunkSequencerSetActive.Value,
                               "exposure": grab.ChunkExposureTime.Value,
                               "mean": float(grab.Array.mean())})
    camera.SequencerMode.Value = "Off"
finally:
    harness.image(None)
    camera.Close()
print(json.dumps({"frames": frames}))
