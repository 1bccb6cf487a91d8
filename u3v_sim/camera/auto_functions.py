"""ExposureAuto and GainAuto: the camera brings the brightness of its frames to
AutoTargetBrightness by changing ExposureTime and Gain itself.

After each frame's exposure the controller reads the mean gray value of the frame in the
auto-function ROIs that have UseBrightness (their overlap with the image ROI), as a fraction of
full scale, and sets the exposure time and gain of the frames that start after it (so each
change shows in the chunks and the frame timing of the frames it applies to). Facts from
Basler's documentation (docs.baslerweb.com: exposure-auto, gain-auto, auto-function-profile,
auto-function-roi):

- Off / Once / Continuous; Once goes back to Off when the target is reached, after at most 30
  frames (Basler: "a maximum of 30 calculation cycles");
- ExposureTime stays within AutoExposureTimeLowerLimit..UpperLimit, Gain within
  AutoGainLowerLimit..UpperLimit;
- with both on, AutoFunctionProfile decides which is kept low: MinimizeGain raises the
  exposure time first (and lowers the gain first), MinimizeExposureTime the other way round;
- only the part of an auto-function ROI inside the image ROI counts; with no ROI using
  brightness, nothing is adjusted.

Chosen (Basler does not publish its control law): each frame moves exposure x gain by the
factor that would reach the target, damped to its square root (Quick profiles: its 0.85th
power) and at most 8x either way, split between the two as the profile says; the target counts
as reached within 1% of full scale (``TOLERANCE``), where Continuous leaves the brightness
alone (a profile changed meanwhile moves the split). Once ends after 30 frames also when no
ROI measures anything.
"""

from __future__ import annotations

import math
from typing import Callable

from .features import FeatureStore
from .observations import FeatureWritten, Observation

ONCE_MAX_FRAMES = 30
TOLERANCE = 0.01          # of full scale
MAX_STEP = 8.0            # exposure x gain per frame, either way
DAMPING = {"MinimizeGain": 0.5, "MinimizeExposureTime": 0.5,
           "MinimizeGainQuick": 0.85, "MinimizeExposureTimeQuick": 0.85}

# measure(frame, region) -> mean gray value (0..1 of full scale) of the frame (its
# FrameRecord) in ``region`` = (offset_x, offset_y, width, height) of the image.
Measure = Callable[[object, tuple[int, int, int, int]], float]


class AutoFunctions:
    def __init__(self, store: FeatureStore, measure: Measure,
                 emit: Callable[[Observation], None], timestamp_ns: Callable[[], int]):
        self.store, self.measure, self.emit, self.timestamp_ns = (store, measure, emit,
                                                                  timestamp_ns)
        # Frames a Once run has had, by feature ("ExposureAuto", "GainAuto").
        self.once_frames = {"ExposureAuto": 0, "GainAuto": 0}

    def running(self) -> tuple[str, ...]:
        s = self.store
        autos = [name for name in ("ExposureAuto", "GainAuto") if s.get(name) != "Off"]
        if "ExposureAuto" in autos and s.get("ExposureMode") != "Timed":
            autos.remove("ExposureAuto")
        return tuple(autos)

    def mode_written(self, name: str) -> None:
        """ExposureAuto or GainAuto was written: a Once run starts afresh."""
        self.once_frames[name] = 0

    def frame_done(self, frame) -> None:
        """A frame (its FrameRecord: the settings it was taken with) ended its exposure."""
        autos = self.running()
        if not autos:
            return
        level = self._brightness(frame)
        target = self.store.get("AutoTargetBrightness")
        reached = level is not None and abs(level - target) <= TOLERANCE
        if level is not None and not reached:
            self._adjust(autos, target / max(level, 1e-3))
        elif reached and len(autos) == 2:
            self._adjust(autos, 1.0)     # the same brightness, shared as the profile says
        for name in autos:   # (Once ends after 30 frames, also with nothing to measure)
            if self.store.get(name) != "Once":
                continue
            self.once_frames[name] += 1
            if reached or self.once_frames[name] >= ONCE_MAX_FRAMES:
                self._set(name, None, "Off")

    # -- measuring -------------------------------------------------------------------------

    def _brightness(self, frame) -> float | None:
        """Mean gray value over the brightness ROIs inside the image ROI, weighted by their
        areas; None if there is none."""
        settings = frame.settings
        image = (settings["OffsetX"], settings["OffsetY"], settings["Width"],
                 settings["Height"])
        total = weight = 0.0
        for roi in self.store.instances("AutoFunctionROIUseBrightness"):
            if not self.store.get("AutoFunctionROIUseBrightness", roi):
                continue
            region = _overlap(image, tuple(self.store.get(f"AutoFunctionROI{part}", roi)
                                           for part in ("OffsetX", "OffsetY", "Width",
                                                        "Height")))
            if region is None:
                continue
            area = region[2] * region[3]
            total += self.measure(frame, region) * area
            weight += area
        return total / weight if weight else None

    # -- adjusting -------------------------------------------------------------------------

    def _adjust(self, autos: tuple[str, ...], needed: float) -> None:
        s = self.store
        damping = DAMPING[s.get("AutoFunctionProfile")]
        factor = math.exp(max(-math.log(MAX_STEP), min(math.log(MAX_STEP),
                                                       damping * math.log(needed))))
        exposure, gain_db = s.get("ExposureTime"), s.get("Gain", "All")
        lo_e, hi_e = self._exposure_limits() if "ExposureAuto" in autos else (exposure,) * 2
        lo_g, hi_g = self._gain_limits() if "GainAuto" in autos else (gain_db,) * 2
        gain = 10 ** (gain_db / 20)
        # The light the frames need (exposure x gain), split as the profile says: the one it
        # keeps low takes only what the other, at its limit, cannot (a profile changed while
        # on target moves the split, not the brightness).
        product = exposure * gain * factor
        if s.get("AutoFunctionProfile").startswith("MinimizeGain"):
            exposure = min(hi_e, max(lo_e, product / 10 ** (lo_g / 20)))
            gain = min(10 ** (hi_g / 20), max(10 ** (lo_g / 20), product / exposure))
        else:
            gain = min(10 ** (hi_g / 20), max(10 ** (lo_g / 20), product / lo_e))
            exposure = min(hi_e, max(lo_e, product / gain))
        current = s.get("ExposureTime")
        if "ExposureAuto" in autos and abs(exposure - current) > 1e-9 * current:
            self._set("ExposureTime", None, exposure)
        gain_db_new = 20 * math.log10(gain)
        if "GainAuto" in autos and abs(gain_db_new - gain_db) > 1e-6:
            self._set("Gain", "All", min(hi_g, max(lo_g, gain_db_new)))

    def _exposure_limits(self) -> tuple[float, float]:
        s = self.store
        lo = max(s.get("AutoExposureTimeLowerLimit"), s.bound("ExposureTime", "min"))
        hi = min(s.get("AutoExposureTimeUpperLimit"), s.bound("ExposureTime", "max"))
        return lo, max(lo, hi)

    def _gain_limits(self) -> tuple[float, float]:
        s = self.store
        lo = max(s.get("AutoGainLowerLimit"), s.bound("Gain", "min", "All"))
        hi = min(s.get("AutoGainUpperLimit"), s.bound("Gain", "max", "All"))
        return lo, max(lo, hi)

    def _set(self, name: str, instance: str | None, value: object) -> None:
        """The camera changes its own setting (no host write: no lock applies)."""
        self.store.values[(name, instance)] = value
        self.emit(FeatureWritten(self.timestamp_ns(), name, instance, value, "camera"))


def _overlap(a: tuple[int, int, int, int],
             b: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The overlap of two (x, y, width, height) rectangles, or None."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None
