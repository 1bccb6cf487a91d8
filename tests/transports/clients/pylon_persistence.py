"""pylon's feature persistence (FeaturePersistence.Save/Load, what pylon Viewer's "Save
Features" and "Load Features" do) against the camera. Prints JSON.

``roundtrip OUT_DIR``: change settings across every category, Save (a.pfs), load the Default
user set, Load(a.pfs, validate=True), Save again (b.pfs); prints both files' text.
``load FILE OUT_DIR``: Load(FILE, validate=True) into a fresh camera, then Save (after.pfs);
prints the error (if any) and the saved text."""

import json
import sys
from pathlib import Path

from pypylon import pylon

# Settings a user changes, each away from its default (feature, selector entry, value).
CHANGES = [
    ("Width", None, 2048), ("Height", None, 1000), ("OffsetX", None, 16),
    ("OffsetY", None, 100), ("ReverseX", None, True), ("PixelFormat", None, "Mono12p"),
    ("BinningHorizontalMode", None, "Average"), ("TestImageSelector", None, "Testimage4"),
    ("ExposureTime", None, 12345.0), ("AcquisitionFrameRateEnable", None, True),
    ("AcquisitionFrameRate", None, 20.5), ("AcquisitionBurstFrameCount", None, 3),
    ("TriggerMode", ("TriggerSelector", "FrameStart"), "On"),
    ("TriggerSource", ("TriggerSelector", "FrameStart"), "Line3"),
    ("TriggerActivation", ("TriggerSelector", "FrameBurstStart"), "FallingEdge"),
    ("TriggerDelay", ("TriggerSelector", "FrameStart"), 250.0),
    ("Gain", ("GainSelector", "All"), 6.5), ("BlackLevel", ("BlackLevelSelector", "All"), 4.0),
    ("Gamma", None, 0.7), ("DigitalShift", None, 2),
    ("LineMode", ("LineSelector", "Line3"), "Output"),
    ("LineSource", ("LineSelector", "Line3"), "Timer1Active"),
    ("LineInverter", ("LineSelector", "Line4"), True),
    ("LineDebouncerTime", ("LineSelector", "Line1"), 15.0),
    ("LineMinimumOutputPulseWidth", ("LineSelector", "Line2"), 100.0),
    ("UserOutputValueAll", None, 5),
    ("CounterDuration", ("CounterSelector", "Counter2"), 7),
    ("CounterResetSource", ("CounterSelector", "Counter1"), "Line1"),
    ("TimerDuration", ("TimerSelector", "Timer1"), 500.0),
    ("EventNotification", ("EventSelector", "ExposureEnd"), "On"),
    ("ChunkModeActive", None, True),
    ("ChunkEnable", ("ChunkSelector", "Timestamp"), True),
    ("UserDefinedValue", ("UserDefinedValueSelector", "Value3"), -42),
    ("RemoveParameterLimit", ("RemoveParameterLimitSelector", "Gain"), True),
    ("DeviceLinkThroughputLimitMode", ("DeviceLinkSelector", 0), "On"),
    ("DeviceLinkThroughputLimit", ("DeviceLinkSelector", 0), 300_000_000),
]


def change(camera) -> None:
    for name, selector, value in CHANGES:
        if selector is not None:
            getattr(camera, selector[0]).Value = selector[1]
        getattr(camera, name).Value = value


camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
result = {}
try:
    mode = sys.argv[1]
    if mode == "roundtrip":
        out = Path(sys.argv[2])
        change(camera)
        pylon.FeaturePersistence.Save(str(out / "a.pfs"), camera.GetNodeMap())
        camera.UserSetSelector.Value = "Default"
        camera.UserSetLoad.Execute()
        pylon.FeaturePersistence.Save(str(out / "defaults.pfs"), camera.GetNodeMap())
        pylon.FeaturePersistence.Load(str(out / "a.pfs"), camera.GetNodeMap(), True)
        pylon.FeaturePersistence.Save(str(out / "b.pfs"), camera.GetNodeMap())
        result = {name: (out / f"{name}.pfs").read_text() for name in ("a", "defaults", "b")}
        result["changed"] = [name for name, _selector, _value in CHANGES]
    else:
        out = Path(sys.argv[3])
        try:
            pylon.FeaturePersistence.Load(sys.argv[2], camera.GetNodeMap(), True)
            result["error"] = None
        except Exception as error:   # what pylon raised, for the test to show
            result["error"] = str(error)
        pylon.FeaturePersistence.Save(str(out / "after.pfs"), camera.GetNodeMap())
        result["after"] = (out / "after.pfs").read_text()
finally:
    camera.Close()
print(json.dumps(result))
