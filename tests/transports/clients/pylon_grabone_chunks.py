"""Basler's grabone flow with chunks, as its sample does it: every ChunkSelector entry
enabled without a guard, one grab, the chunk values read. JSON."""

import json

from pypylon import pylon

camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.ChunkModeActive.Value = True
enabled = []
for entry in camera.ChunkSelector.Symbolics:
    camera.ChunkSelector.Value = entry
    camera.ChunkEnable.Value = True
    enabled.append(entry)
result = camera.GrabOne(5000)
report = {"enabled": sorted(enabled), "grabbed": result.GrabSucceeded() or
          result.GetErrorDescription() == "The buffer was incompletely grabbed.",
          "chunk_timestamp": result.ChunkTimestamp.Value,
          "timestamp": result.TimeStamp}
result.Release()
camera.ChunkModeActive.Value = False
camera.Close()
print(json.dumps(report))
