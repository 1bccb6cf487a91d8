"""pypylon's camera-event flow, as Basler's grab-camera-events sample does it for USB cameras:
GrabCameraEvents, a CameraEventHandler registered on the Event...Data categories before Open,
EventNotification On. Prints JSON: every callback (event, frame id, timestamp) and every grab
(block id, timestamp).

Modes: ``frames`` (free run: ExposureEnd and FrameStart per frame), ``overtrigger`` (software
triggers faster than the camera can take them), ``temperature`` (the harness heats the camera
through ``u3v-sim temperature``)."""

import json
import subprocess
import sys
import time

from pypylon import pylon

mode = sys.argv[1]
EVENTS = {"frames": ("ExposureEnd", "FrameStart"),
          "overtrigger": ("FrameStart", "FrameStartOvertrigger", "FrameStartWait"),
          "temperature": ("CriticalTemperature", "OverTemperature")}[mode]
callbacks = []


errors = []


class Handler(pylon.CameraEventHandler):
    def OnCameraEvent(self, camera, user_id, node):
        try:   # (pylon swallows what a handler raises: report it instead)
            event = EVENTS[user_id]
            entry = {"event": event,
                     "timestamp": getattr(camera, f"Event{event}Timestamp").Value}
            if event not in ("FrameStartWait", "CriticalTemperature", "OverTemperature"):
                entry["frame_id"] = getattr(camera, f"Event{event}FrameID").Value
            callbacks.append(entry)
        except Exception as error:
            errors.append(repr(error))


camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.GrabCameraEvents.Value = True
handler = Handler()
for user_id, event in enumerate(EVENTS):
    camera.RegisterCameraEventHandler(handler, f"Event{event}Data", user_id,
                                      pylon.RegistrationMode_Append, pylon.Cleanup_None)
camera.Open()
for event in EVENTS:
    camera.EventSelector.Value = event
    camera.EventNotification.Value = "On"
camera.Width.Value = 512
camera.Height.Value = 256
camera.ExposureTime.Value = 5000.0
grabs = []


def grab_all(count: int) -> None:
    while len(grabs) < count and camera.IsGrabbing():
        result = camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException)
        grabs.append({"block_id": result.BlockID, "timestamp": result.TimeStamp,
                      "ok": result.GrabSucceeded()})
        result.Release()


if mode == "frames":
    camera.StartGrabbingMax(10)
    grab_all(10)
elif mode == "overtrigger":
    camera.TriggerSelector.Value = "FrameStart"
    camera.TriggerMode.Value = "On"
    camera.TriggerSource.Value = "Software"
    camera.ExposureTime.Value = 50000.0
    camera.StartGrabbing()
    time.sleep(0.2)
    camera.TriggerSoftware.Execute()    # starts a 50 ms exposure
    camera.TriggerSoftware.Execute()    # the camera is busy: an overtrigger
    grab_all(1)
    # Ready again after the exposure: FrameStartWait. pylon handles camera events inside
    # RetrieveResult: wait there for an image that does not come.
    camera.RetrieveResult(300, pylon.TimeoutHandling_Return)
    camera.StopGrabbing()
    camera.TriggerMode.Value = "Off"
else:
    # pylon takes camera events while it grabs: grab, waiting for triggers that never come.
    camera.TriggerMode.Value = "On"
    camera.TriggerSource.Value = "Software"
    # pylon's grab loop thread calls RetrieveResult, which handles the camera events.
    camera.StartGrabbing(pylon.GrabStrategy_OneByOne, pylon.GrabLoop_ProvidedByInstantCamera)
    for offset in ("31", "40", "0"):     # 73 C: Critical, 82 C: Error, back to rest
        subprocess.run([sys.executable, "-m", "u3v_sim", "temperature", offset], check=True,
                       capture_output=True)
        time.sleep(0.3)
    camera.StopGrabbing()
    camera.TriggerMode.Value = "Off"
camera.Close()
print(json.dumps({"callbacks": callbacks, "grabs": grabs, "errors": errors}))
