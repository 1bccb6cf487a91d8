"""pypylon (pylon's own transport layer and libusb) against the simulated camera."""

import json

from pypylon import pylon

factory = pylon.TlFactory.GetInstance()
devices = factory.EnumerateDevices()
report = {"devices": [[d.GetModelName(), d.GetSerialNumber(), d.GetDeviceClass()]
                      for d in devices]}
camera = pylon.InstantCamera(factory.CreateDevice(devices[0]))
camera.Open()
report["features"] = {"DeviceVendorName": camera.DeviceVendorName.Value,
                      "Width": camera.Width.Value, "PixelFormat": camera.PixelFormat.Value,
                      "SensorWidth": camera.SensorWidth.Value}
camera.Width.Value = 1024
report["width_after_write"] = camera.Width.Value

grabbed = failures = 0
camera.StartGrabbingMax(10)
while camera.IsGrabbing():
    result = camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException)
    if result.GrabSucceeded():
        grabbed += 1
        report["grab_size"] = [result.Width, result.Height]
    else:
        failures += 1
    result.Release()
report["grabbed"], report["grab_failures"] = grabbed, failures

camera.TriggerSelector.Value = "FrameStart"
camera.TriggerMode.Value = "On"
camera.TriggerSource.Value = "Software"
camera.StartGrabbing()
triggered = trigger_failures = 0
for _ in range(3):
    camera.TriggerSoftware.Execute()
    result = camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException)
    if result.GrabSucceeded():
        triggered += 1
    else:
        trigger_failures += 1
    result.Release()
camera.StopGrabbing()
camera.TriggerMode.Value = "Off"
camera.Width.Value = 4096
camera.Close()
report["triggered"], report["trigger_failures"] = triggered, trigger_failures
print(json.dumps(report))
