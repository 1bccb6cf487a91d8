"""A pypylon application the harness injects faults into (the protocol of aravis_faults.py):
prints ``ready``, waits for a line on stdin, then ``stream N`` grabs N more results (free
run, 256x64 Mono8; after 3 failed results in a row it stops and starts grabbing again, as an
application would) or ``reads N`` reads Width N times and writes it once. Prints one JSON
line: each result's success, block id, error code and description, or each access's result."""

import json
import sys

from pypylon import genicam, pylon

mode, count = sys.argv[1], int(sys.argv[2])
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
report = {"results": [], "accesses": [], "restarts": 0}
if mode == "stream":
    camera.Width.Value, camera.Height.Value = 256, 64
    camera.AcquisitionFrameRateEnable.Value = True
    camera.AcquisitionFrameRate.Value = 100.0
    camera.StartGrabbing()
    camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException).Release()
else:
    camera.Width.Value = 4096
print("ready", flush=True)
sys.stdin.readline()
if mode == "stream":
    failures = 0
    while len(report["results"]) < count:
        if failures >= 3:
            camera.StopGrabbing()
            camera.StartGrabbing()
            report["restarts"] += 1
            failures = 0
        try:
            result = camera.RetrieveResult(2000, pylon.TimeoutHandling_Return)
        except genicam.GenericException as error:
            report["results"].append({"exception": str(error).splitlines()[0][:200]})
            continue
        if result is None or not result.IsValid():
            report["results"].append({"timeout": True})
            failures += 1
            continue
        report["results"].append({"ok": result.GrabSucceeded(), "id": result.BlockID,
                                  "code": result.ErrorCode,
                                  "error": result.ErrorDescription[:120]})
        failures = 0 if result.GrabSucceeded() else failures + 1
        result.Release()
    camera.StopGrabbing()
else:
    for _ in range(count):
        try:
            report["accesses"].append(camera.Width.GetValue(False, True))   # not cached
        except genicam.GenericException as error:
            report["accesses"].append(str(error).splitlines()[0][:160])
    try:
        camera.Width.Value = 4096
        report["accesses"].append("written")
    except genicam.GenericException as error:
        report["accesses"].append(str(error).splitlines()[0][:160])
camera.Close()
print(json.dumps(report))
