"""Basler's grabone flow with chunks, as its sample does it: every ChunkSelector entry
enabled without a guard, one grab, the chunk values read from the grab result (pylon's chunk
node map: no device behind it), the counter through ChunkCounterSelector. JSON."""

import json

from pypylon import pylon

camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.Gain.Value = 3.0
camera.ChunkModeActive.Value = True
enabled = []
for entry in camera.ChunkSelector.Symbolics:
    camera.ChunkSelector.Value = entry
    camera.ChunkEnable.Value = True
    enabled.append(entry)
result = camera.GrabOne(5000)
report = {"enabled": sorted(enabled), "grabbed": result.GrabSucceeded(),
          "chunk_timestamp": result.ChunkTimestamp.Value,
          "timestamp": result.TimeStamp, "chunk_gain": result.ChunkGain.Value,
          "chunk_sequencer_set": result.ChunkSequencerSetActive.Value}
for counter in ("Counter1", "Counter2"):
    result.ChunkCounterSelector.Value = counter
    report[counter] = result.ChunkCounterValue.Value
result.Release()
camera.ChunkModeActive.Value = False
camera.Gain.Value = 0.0
camera.Close()
print(json.dumps(report))
