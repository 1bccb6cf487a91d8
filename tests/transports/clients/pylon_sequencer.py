"""Exposure bracketing with the sequencer through pypylon, as Basler's sequencer sample for USB
cameras does it: three sets with rising exposure times, each leading to the next on
FrameStart, SequencerMode On, frames grabbed with the SequencerSetActive and ExposureTime
chunks. With ``persist FILE``: the sets saved with FeaturePersistence (configuration mode
on, as pylon exports sets), spoiled, loaded back, and the frames grabbed then. Prints JSON:
per frame the chunks and the mean gray value."""

import json
import sys

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
    if sys.argv[1:2] == ["persist"]:
        pylon.FeaturePersistence.Save(sys.argv[2], camera.GetNodeMap())
        for index in range(len(EXPOSURES)):          # spoil the sets: all lead to set 1
            camera.SequencerSetSelector.Value = index
            camera.SequencerSetLoad.Execute()
            camera.ExposureTime.Value = 20000.0
            camera.SequencerPathSelector.Value = 1
            camera.SequencerSetNext.Value = 1
            camera.SequencerSetSave.Execute()
        pylon.FeaturePersistence.Load(sys.argv[2], camera.GetNodeMap(), True)
        camera.SequencerConfigurationMode.Value = "On"
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
