"""pypylon. "reset": DeviceReset.Execute() returns promptly and pylon sees the camera leave.
"after": a new process finds the camera back, and a UserSetLoad (a command answered with
PENDING_ACK) completes. JSON."""

import json
import sys
import time

from pypylon import pylon

factory = pylon.TlFactory.GetInstance()
camera = pylon.InstantCamera(factory.CreateFirstDevice())
camera.Open()
report = {}
if sys.argv[1] == "reset":
    camera.Width.Value = 1024
    started = time.monotonic()
    try:
        camera.DeviceReset.Execute()
        report["reset_error"] = None
    except Exception as error:  # what pylon reports, if anything
        report["reset_error"] = str(error)[:200]
    report["reset_s"] = round(time.monotonic() - started, 3)
    deadline = time.monotonic() + 5
    while not camera.IsCameraDeviceRemoved() and time.monotonic() < deadline:
        time.sleep(0.05)
    report["removed"] = camera.IsCameraDeviceRemoved()
    camera.DestroyDevice()
else:
    report["width"] = camera.Width.Value
    try:
        camera.UserSetSelector.Value = "Default"
        camera.UserSetLoad.Execute()
        report["user_set_load"] = "ok"
    except Exception as error:
        report["user_set_load"] = str(error)[:200]
    camera.Close()
print(json.dumps(report))
