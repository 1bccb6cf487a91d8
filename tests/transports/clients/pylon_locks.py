"""pypylon: the features that define the payload are not writable while grabbing (a write
raises at once), and writable again after StopGrabbing. JSON."""

import json

from pypylon import genicam, pylon

NAMES = ("Width", "Height", "OffsetX", "PixelFormat", "BinningHorizontal", "ReverseX",
         "ChunkModeActive", "UserSetLoad", "DeviceLinkThroughputLimitMode")
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.Width.Value = 2048  # room for OffsetX
report = {"idle": {n: genicam.IsWritable(camera.GetNodeMap().GetNode(n)) for n in NAMES}}
camera.StartGrabbing()
camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException).Release()
report["grabbing"] = {n: genicam.IsWritable(camera.GetNodeMap().GetNode(n)) for n in NAMES}
try:
    camera.Width.Value = 1024
    report["width_write"] = "accepted"
except genicam.GenericException as error:
    report["width_write"] = type(error).__name__
report["width_while_grabbing"] = camera.Width.Value
camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException).Release()
camera.StopGrabbing()
report["stopped"] = {n: genicam.IsWritable(camera.GetNodeMap().GetNode(n)) for n in NAMES}
camera.Width.Value = 1024
report["width_after"] = camera.Width.Value
camera.Width.Value = 4096
camera.Close()
print(json.dumps(report))
