"""pypylon grabbing when the camera is unplugged: pylon notices the removal, and
StopGrabbing and Close return promptly (they used to hang). JSON."""

import json
import sys
import time

from pypylon import pylon

camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.StartGrabbing()
for _ in range(3):
    camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException).Release()
print("grabbing", flush=True)
sys.stdin.readline()  # the camera is unplugged meanwhile
deadline = time.monotonic() + 5
while not camera.IsCameraDeviceRemoved() and time.monotonic() < deadline:
    try:
        camera.RetrieveResult(100, pylon.TimeoutHandling_Return)
    except Exception:
        pass
report = {"removed": camera.IsCameraDeviceRemoved(), "noticed_at": time.monotonic()}
started = time.monotonic()
camera.StopGrabbing()
report["stop_grabbing_s"] = round(time.monotonic() - started, 3)
started = time.monotonic()
camera.Close()
camera.DestroyDevice()
report["close_s"] = round(time.monotonic() - started, 3)
print(json.dumps(report))
