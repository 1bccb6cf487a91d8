"""pypylon with the PayloadCRC16 chunk (and another chunk before it) on black frames: how
many grabs pylon's own CheckCRC accepts. JSON."""

import json

from pypylon import pylon

camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.ExposureTime.Value = camera.ExposureTime.Min
camera.Gain.Value = 0.0
camera.BlackLevel.Value = 0.0
camera.ChunkModeActive.Value = True
for name in ("Timestamp", "PayloadCRC16"):
    camera.ChunkSelector.Value = name
    camera.ChunkEnable.Value = True
report = {"grabbed": 0, "has_crc": 0, "crc_ok": 0, "brightest": 0}
camera.StartGrabbingMax(15)
while camera.IsGrabbing():
    result = camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException)
    if result.GrabSucceeded():
        report["grabbed"] += 1
        report["brightest"] = max(report["brightest"], int(result.Array.max()))
        if result.HasCRC():
            report["has_crc"] += 1
            report["crc_ok"] += bool(result.CheckCRC())
    result.Release()
camera.ChunkModeActive.Value = False
camera.Close()
print(json.dumps(report))
