#!/usr/bin/env python3
"""Frame-generator figures at the default ROI (4096x2168).

1. Per-frame cost (median and 95th percentile over FRAMES frames after WARMUP frames) of the
   test images and of the sensor image on the per-frame path (``strips=0``: scene, noise
   and table lookup every frame), per pixel format, with the first-frame (build) costs.
2. The sensor image on the cached path (the default): the rebuild after a settings change
   (all K strips at once via prepare(), and the worst of the first K frames when they are
   built lazily), the steady-state cost per frame after warm-up, the strips' memory, and what
   copying the frame would cost the caller (the copy the cached path's stable views save).
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from u3v_sim.frames import ArraySource, FrameGenerator, ImageSettings

WARMUP = 10
FRAMES = 60
PERIOD_NS = round(1e9 / 42.7)          # frame timestamps as at the rated frame rate

BIN2 = {"binning_horizontal": 2, "binning_vertical": 2, "width": 2048, "height": 1084,
        "offset_x": 4, "offset_y": 2}

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
    ("Mono8    sensor + noise, per-frame", ImageSettings(), 15.0),
    ("Mono8    sensor, noise off, per-frame", ImageSettings(noise=False), None),
    ("Mono10p  sensor + noise, per-frame", ImageSettings(pixel_format="Mono10p"), None),
    ("Mono12   sensor + noise, per-frame", ImageSettings(pixel_format="Mono12"), None),
    ("Mono12p  sensor + noise, per-frame", ImageSettings(pixel_format="Mono12p"), None),
    ("Mono8    sensor + noise, 2x2, per-frame", ImageSettings(**BIN2), None),
]

# (label, settings, still image?) for the cached path
CACHED = [
    ("Mono8    belt + noise", ImageSettings(), False),
    ("Mono8    belt, noise off", ImageSettings(noise=False), False),
    ("Mono10p  belt + noise", ImageSettings(pixel_format="Mono10p"), False),
    ("Mono12   belt + noise", ImageSettings(pixel_format="Mono12"), False),
    ("Mono12p  belt + noise", ImageSettings(pixel_format="Mono12p"), False),
    ("Mono8    belt + noise, 2x2", ImageSettings(**BIN2), False),
    ("Mono8    belt + noise, ReverseY", ImageSettings(reverse_y=True), False),
    ("Mono8    still image + noise", ImageSettings(), True),
    ("Mono12p  still image + noise", ImageSettings(pixel_format="Mono12p"), True),
]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.3f} ms"


def steady(gen: FrameGenerator, s: ImageSettings, first: int) -> tuple[float, float]:
    """Median and p95 of FRAMES frames from frame ``first`` + WARMUP on."""
    for k in range(first, first + WARMUP):
        gen.render(s, k, k * PERIOD_NS)
    times = []
    for k in range(first + WARMUP, first + WARMUP + FRAMES):
        t0 = time.perf_counter()
        gen.render(s, k, k * PERIOD_NS)
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def per_frame_section(scene) -> None:
    print(f"per-frame cost at {FRAMES} frames after {WARMUP} warm-up frames:")
    print(f"  {'case':<40} {'first frame':>11} {'median':>11} {'p95':>11}  target")
    for label, s, target in CASES:
        gen = FrameGenerator(source=scene, strips=0)   # a fresh plan cache, the same scene
        start = time.perf_counter()
        gen.render(s, 0, 0)
        first = time.perf_counter() - start
        median, p95 = steady(gen, s, 1)
        mark = ""
        if target is not None:
            mark = f"<= {target:g} ms " + ("ok" if median * 1e3 <= target else "OVER")
        print(f"  {label:<40} {ms(first):>11} {ms(median):>11} {ms(p95):>11}  {mark}")


def cached_section(scene, still) -> None:
    print(f"cached sensor path (K = {FrameGenerator().strips} strips; rebuild = all strips "
          f"via prepare(); lazy = worst of the first K frames; copy = what copying a frame "
          f"would cost):")
    print(f"  {'case':<34} {'rebuild':>11} {'lazy':>11} {'median':>11} {'p95':>11} "
          f"{'cache':>8} {'copy':>11}")
    for label, s, is_still in CACHED:
        source = still if is_still else scene
        gen = FrameGenerator(source=source)
        gen.render(dataclasses.replace(s, exposure_us=1000.0), 0, 0)  # table, field warm
        if not gen.cached(s):
            print(f"  {label:<34} not cached (over the cap): per-frame path")
            continue
        start = time.perf_counter()
        gen.prepare(s)
        rebuild = time.perf_counter() - start
        cache_mb = gen.cache_nbytes / 1e6
        # lazily: a settings change (another exposure), then the first K frames
        s2 = dataclasses.replace(s, exposure_us=s.exposure_us * 0.9)
        gen.lut(s2)
        lazy = 0.0
        for k in range(gen.strips):
            t0 = time.perf_counter()
            gen.render(s2, k, k * PERIOD_NS)
            lazy = max(lazy, time.perf_counter() - t0)
        median, p95 = steady(gen, s2, gen.strips)
        view = gen.render(s2, 0, 0)
        buf = bytearray(len(view))
        copies = []
        for _ in range(10):
            t0 = time.perf_counter()
            buf[:] = view
            copies.append(time.perf_counter() - t0)
        print(f"  {label:<34} {ms(rebuild):>11} {ms(lazy):>11} {ms(median):>11} {ms(p95):>11} "
              f"{cache_mb:5.0f} MB {ms(statistics.median(copies)):>11}")


def main() -> None:
    start = time.perf_counter()
    gen = FrameGenerator(strips=0)
    gen.render(ImageSettings(), 0, 0)
    print(f"first frame of a new generator (synthetic scene, noise field, buffers, table): "
          f"{ms(time.perf_counter() - start)}")
    scene = gen.source
    still = ArraySource([np.asarray(scene.frame(0, 0)) / 65520.0], fit="none")
    per_frame_section(scene)
    cached_section(scene, still)


if __name__ == "__main__":
    main()
