"""pypylon's file access (GenICam's FileProtocolAdapter on pylon's node map): write UserData,
read it back, read a saved user set as a file. Prints JSON."""

import json

from pypylon import genicam, pylon

DATA = bytes(range(256)) * 24          # 6 KiB: two buffers' worth
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
report = {}
try:
    files = genicam.FileProtocolAdapter()
    files.attach(camera.GetNodeMap())
    report["opened_for_write"] = files.openFile("UserData", "w")
    report["written"] = files.write(DATA, 0, "UserData")
    report["closed"] = files.closeFile("UserData")
    files.openFile("UserData", "r")
    count, back = files.read(len(DATA), 0, "UserData")[:2]
    files.closeFile("UserData")
    report["read_back_equal"] = count == len(DATA) and bytes(back) == DATA
    camera.Width.Value = 1024
    camera.UserSetSelector.Value = "UserSet3"
    camera.UserSetSave.Execute()
    camera.FileSelector.Value = "UserSet3"
    size = camera.FileSize.Value
    files.openFile("UserSet3", "r")
    count, text = files.read(size, 0, "UserSet3")[:2]
    files.closeFile("UserSet3")
    report["user_set_width"] = json.loads(bytes(text))["Width"]
    report["user_set_writable"] = files.openFile("UserSet3", "w")
finally:
    camera.Close()
print(json.dumps(report))
