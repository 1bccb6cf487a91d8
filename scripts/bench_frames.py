#!/usr/bin/env python3
"""Frame-generator figures at the default ROI (4096x2168): the cost of rendering one frame
(median and 95th percentile over FRAMES frames after WARMUP frames) for test images and the
sensor image with its noise model, per pixel format, and the first-frame (build) costs."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from u3v_sim.frames import FrameGenerator, ImageSettings

WARMUP = 10
FRAMES = 60
PERIOD_NS = round(1e9 / 42.7)          # frame timestamps as at the rated frame rate

# (label, settings, target ms or None)
CASES = [
    ("Mono8    Testimage2 (moving gradient)", ImageSettings(test_image="Testimage2"), 2.0),
    ("Mono8    Testimage1 (fixed gradient)", ImageSettings(test_image="Testimage1"), 2.0),
    ("Mono8    Testimage5 (moving bars)", ImageSettings(test_image="Testimage5"), 2.0),
    ("Mono12p  Testimage2", ImageSettings(test_image="Testimage2", pixel_format="Mono12p"), 6.0),
    ("Mono12p  Testimage5", ImageSettings(test_image="Testimage5", pixel_format="Mono12p"), 6.0),
    ("Mono10p  Testimage2", ImageSettings(test_image="Testimage2", pixel_format="Mono10p"), None),
    ("Mono12   Testimage2", ImageSettings(test_image="Testimage2", pixel_format="Mono12"), None),
    ("Mono12   Testimage3 (12-bit gradient)", ImageSettings(test_image="Testimage3",
                                                          pixel_format="Mono12"), None),
    ("Mono8    sensor + noise", ImageSettings(), 15.0),
    ("Mono8    sensor, noise off", ImageSettings(noise=False), None),
    ("Mono10p  sensor + noise", ImageSettings(pixel_format="Mono10p"), None),
    ("Mono12   sensor + noise", ImageSettings(pixel_format="Mono12"), None),
    ("Mono12p  sensor + noise", ImageSettings(pixel_format="Mono12p"), None),
    ("Mono8    sensor + noise, binning 2x2", ImageSettings(binning_horizontal=2,
                                                         binning_vertical=2, width=2048,
                                                         height=1084, offset_x=4,
                                                         offset_y=2), None),
]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.3f} ms"


def main() -> None:
    start = time.perf_counter()
    gen = FrameGenerator()
    gen.render(ImageSettings(), 0, 0)
    print(f"first frame of a new generator (synthetic scene, noise field, buffers, table): "
          f"{ms(time.perf_counter() - start)}")
    print(f"per-frame cost at {FRAMES} frames after {WARMUP} warm-up frames:")
    print(f"  {'case':<40} {'first frame':>11} {'median':>11} {'p95':>11}  target")
    for label, s, target in CASES:
        gen = FrameGenerator(source=gen.source)     # a fresh plan cache, the same scene
        start = time.perf_counter()
        gen.render(s, 0, 0)
        first = time.perf_counter() - start
        for k in range(1, WARMUP):
            gen.render(s, k, k * PERIOD_NS)
        times = []
        for k in range(WARMUP, WARMUP + FRAMES):
            t0 = time.perf_counter()
            gen.render(s, k, k * PERIOD_NS)
            times.append(time.perf_counter() - t0)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        median = statistics.median(times)
        mark = ""
        if target is not None:
            mark = f"<= {target:g} ms " + ("ok" if median * 1e3 <= target else "OVER")
        print(f"  {label:<40} {ms(first):>11} {ms(median):>11} {ms(p95):>11}  {mark}")


if __name__ == "__main__":
    main()
