"""An example acquisition application (the code under test of the HIL example): a
part-present sensor on Line1 triggers a grab; the application measures the part's mean
brightness and signals "part OK" on Line2 (UserOutput1) when it is bright enough.

Plain pypylon, nothing simulator-specific: it runs the same against a real acA4096-40um."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from pypylon import pylon

THRESHOLD_DN = 100.0      # mean brightness (Mono8) of a good part


@dataclass
class Inspection:
    block_id: int
    mean_dn: float
    ok: bool


class PartInspector:
    def __init__(self):
        self.camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
        self.armed = threading.Event()

    def configure(self) -> None:
        c = self.camera
        c.Open()
        c.PixelFormat.Value = "Mono8"
        c.Width.Value, c.Height.Value = 512, 256
        c.ExposureTime.Value = 10000.0
        c.TriggerSelector.Value = "FrameStart"
        c.TriggerMode.Value = "On"
        c.TriggerSource.Value = "Line1"
        c.TriggerActivation.Value = "RisingEdge"
        c.LineSelector.Value = "Line2"
        c.LineSource.Value = "UserOutput1"
        c.UserOutputSelector.Value = "UserOutput1"
        c.UserOutputValue.Value = False

    def inspect(self, parts: int, timeout_ms: int = 5000) -> list[Inspection]:
        """Wait for ``parts`` triggers; one inspection each (Line2 follows the verdict)."""
        c = self.camera
        results = []
        c.StartGrabbingMax(parts)
        self.armed.set()
        while c.IsGrabbing():
            grab = c.RetrieveResult(timeout_ms, pylon.TimeoutHandling_ThrowException)
            try:
                mean = float(np.mean(grab.Array)) if grab.GrabSucceeded() else -1.0
                verdict = mean >= THRESHOLD_DN
                c.UserOutputValue.Value = verdict
                results.append(Inspection(grab.BlockID, mean, verdict))
            finally:
                grab.Release()
        return results

    def close(self) -> None:
        self.camera.Close()
