"""pypylon with chunks on every frame of a moving test image at full resolution, from the
acquisition's first frame: whether each grab's chunks are its own (ChunkTimestamp equals the
grab's timestamp, CheckCRC accepts the payload) and every image differs. JSON."""

import hashlib
import json

from pypylon import pylon

camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.TestImageSelector.Value = "Testimage2"          # moves every frame
camera.ChunkModeActive.Value = True
for name in ("Timestamp", "PayloadCRC16"):
    camera.ChunkSelector.Value = name
    camera.ChunkEnable.Value = True
report = {"grabbed": 0, "own_timestamp": 0, "crc_ok": 0, "distinct_images": 0}
digests = set()
camera.StartGrabbingMax(60)
while camera.IsGrabbing():
    with camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException) as result:
        if not result.GrabSucceeded():
            continue
        report["grabbed"] += 1
        report["own_timestamp"] += result.ChunkTimestamp.Value == result.TimeStamp
        report["crc_ok"] += bool(result.CheckCRC())
        digests.add(hashlib.sha256(result.Array.tobytes()).hexdigest())
report["distinct_images"] = len(digests)
camera.ChunkModeActive.Value = False
camera.TestImageSelector.Value = "Off"
camera.Close()
print(json.dumps(report))
