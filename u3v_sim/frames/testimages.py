"""Test images (TestImageSelector): digital patterns that replace the sensor image.

Basler does not publish the exact patterns of its ace USB test images, so these are
Basler-style patterns of our own choosing. Each is defined on the whole sensor (x, y are sensor
column and row, k is the frame index), in the value range of the pixel format (``max`` = 255,
1023 or 4095, ``M = max + 1``), and then goes through the same ReverseX/ReverseY, binning and
ROI steps as the sensor image (:mod:`.geometry`). They ignore exposure, gain, black level,
gamma, digital shift and the noise model.

==========  ==========================================  =======================================
Testimage1  fixed diagonal gray gradient, 8-bit         ``(x + y) mod 256`` (8-bit values wrap,
            values wrapping                             also in 10/12-bit formats)
Testimage2  moving diagonal gray gradient, 8-bit        ``(x + y + k) mod 256``: moves by one
                                                        pixel per frame
Testimage3  moving diagonal gray gradient, full bit     ``(x + y + k) mod M`` (the same as
            depth (Basler's "12-bit" variant)           Testimage2 in Mono8). Chosen without
                                                        noise: test images are digital patterns
Testimage4  fixed horizontal ramp over the full bit     ``x * M // 4112``: 0 at the left sensor
            depth                                       edge, ``max`` at the right
Testimage5  moving vertical bars                        64 px wide bars, ``max`` and 0,
                                                        period 128 px, moving right one pixel
                                                        per frame: ``max if (x - k) mod 128 <
                                                        64 else 0``
Testimage6  fixed checkerboard                          64 x 64 px squares, ``max`` where
                                                        ``(x // 64 + y // 64)`` is odd, else 0
==========  ==========================================  =======================================

Rendering costs (see :mod:`.generator`): fixed images are built once per layout and returned
as they are; the moving gradients (whose frame k equals frame 0 shifted up by k rows) are built
once as a taller image from which each frame is a contiguous slice; the bars (every row equal)
are one prebuilt row per phase, copied into the frame.
"""

from __future__ import annotations

import numpy as np

from .geometry import SENSOR_HEIGHT, SENSOR_WIDTH, apply_geometry, bin_values, sensor_columns
from .pixel_formats import FORMATS, Packer, PixelFormat, pack
from .settings import ImageSettings

__all__ = [
    "BARS",
    "BAR_PERIOD",
    "BAR_WIDTH",
    "FIXED",
    "SCROLLING",
    "SQUARE",
    "TEST_PATTERNS",
    "make_test_plan",
    "pattern",
    "reference_test_image",
    "scroll_period",
    "sensor_test_image",
]

FIXED = ("Testimage1", "Testimage4", "Testimage6")
SCROLLING = ("Testimage2", "Testimage3")
BARS = ("Testimage5",)
TEST_PATTERNS = FIXED[:1] + SCROLLING + FIXED[1:2] + BARS + FIXED[2:]
BAR_WIDTH = 64
BAR_PERIOD = 2 * BAR_WIDTH
SQUARE = 64
_CHUNK_ROWS = 256


def pattern(name: str, y, x, frame_index: int, max_value: int) -> np.ndarray:
    """Pattern values at sensor rows ``y`` and columns ``x`` (broadcast against each other;
    any integers, also outside the sensor for the periodic patterns) in frame ``frame_index``."""
    y = np.asarray(y, np.int64)
    x = np.asarray(x, np.int64)
    k = int(frame_index)
    m = max_value + 1
    if name == "Testimage1":
        return (x + y) % 256
    if name == "Testimage2":
        return (x + y + k) % 256
    if name == "Testimage3":
        return (x + y + k) % m
    if name == "Testimage4":
        return x * m // SENSOR_WIDTH + 0 * y
    if name == "Testimage5":
        return np.where((x - k) % BAR_PERIOD < BAR_WIDTH, max_value, 0) + 0 * y
    if name == "Testimage6":
        return (x // SQUARE + y // SQUARE) % 2 * max_value
    raise ValueError(f"unknown test image {name!r}")


def sensor_test_image(name: str, frame_index: int, pixel_format: str) -> np.ndarray:
    """The whole-sensor test image (SensorHeight x SensorWidth, uint16) of frame
    ``frame_index`` before reverse, binning and ROI."""
    fmt = FORMATS[pixel_format]
    y = np.arange(SENSOR_HEIGHT)[:, None]
    x = np.arange(SENSOR_WIDTH)[None, :]
    return pattern(name, y, x, frame_index, fmt.max_value).astype(np.uint16)


def reference_test_image(s: ImageSettings, frame_index: int) -> np.ndarray:
    """Slow reference: the (Height, Width) pixel values of a test image for settings ``s``."""
    full = sensor_test_image(s.test_image, frame_index, s.pixel_format)
    return apply_geometry(full, s, s.format.max_value)


def scroll_period(name: str, fmt: PixelFormat) -> int:
    """Rows after which a scrolling pattern repeats (frame k = frame 0 shifted by k rows)."""
    return 256 if name == "Testimage2" else fmt.max_value + 1


def _evaluate(s: ImageSettings, sensor_y: np.ndarray, frame_index: int) -> np.ndarray:
    """Binned values (len(sensor_y) // bv, Width) for the given sensor rows (bv consecutive
    entries per output row) and the ROI's columns."""
    bv = s.binning_vertical
    rows = len(sensor_y) // bv
    x = sensor_columns(s)[None, :]
    maxv = s.format.max_value
    out = np.empty((rows, s.width), np.uint16)
    for r0 in range(0, rows, _CHUNK_ROWS):
        r1 = min(rows, r0 + _CHUNK_ROWS)
        y = sensor_y[r0 * bv:r1 * bv, None]
        out[r0:r1] = bin_values(pattern(s.test_image, y, x, frame_index, maxv), s, maxv)
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


class FixedPlan:
    """Frames that never change: built once, returned as they are."""

    def __init__(self, s: ImageSettings):
        bv = s.binning_vertical
        y = np.arange(s.offset_y * bv, (s.offset_y + s.height) * bv, dtype=np.int64)
        if s.reverse_y:
            y = SENSOR_HEIGHT - 1 - y
        self.data = _readonly(pack(_evaluate(s, y, 0), s.pixel_format))
        self.view = memoryview(self.data).toreadonly()

    def render(self, frame_index: int) -> memoryview:
        return self.view


class ScrollingPlan:
    """Patterns whose frame k is frame 0 moved up by k sensor rows and repeat every ``period``
    rows. Frame k reads binned rows from V(r), the (mirrored) sensor image extended
    periodically past its last row: V rows ``(OffsetY + y) * bv + d`` with ``d = +-k mod
    period``. Writing ``d = q * bv + p``, the frame is rows ``q .. q + Height`` of the image
    binned from V with phase p, so one taller image per phase holds every frame as a
    contiguous run of rows."""

    def __init__(self, s: ImageSettings):
        fmt = s.format
        self.s = s
        self.period = scroll_period(s.test_image, fmt)
        bv = s.binning_vertical
        extra = (self.period - 1) // bv + 1
        rows = s.height + extra
        self.whole_rows = fmt.row_is_whole_bytes(s.width)
        self.row_bytes = s.width * fmt.bits // 8 if self.whole_rows else 0
        self.phases = []
        for p in range(bv):
            v = ((s.offset_y + np.arange(rows, dtype=np.int64))[:, None] * bv + p
                 + np.arange(bv)[None, :]).reshape(-1)
            y = SENSOR_HEIGHT - 1 - v if s.reverse_y else v
            values = _evaluate(s, y, 0)
            self.phases.append(_readonly(pack(values, fmt.name) if self.whole_rows else values))
        if not self.whole_rows:   # packed format with rows that end mid-byte: pack per frame
            self.packer = Packer(fmt, s.pixels)
            self.out = np.empty(s.payload_size, np.uint8)
            self.view = memoryview(self.out).toreadonly()
        else:
            self.views = [memoryview(a).toreadonly() for a in self.phases]

    def render(self, frame_index: int) -> memoryview:
        s = self.s
        d = (-frame_index if s.reverse_y else frame_index) % self.period
        q, p = divmod(d, s.binning_vertical)
        if self.whole_rows:
            return self.views[p][q * self.row_bytes:(q + s.height) * self.row_bytes]
        self.packer.pack(self.phases[p][q:q + s.height], self.out)
        return self.view


class BarsPlan:
    """Patterns whose rows are all equal and repeat every BAR_PERIOD frames: one prebuilt
    row per phase, copied into every row of the frame."""

    def __init__(self, s: ImageSettings):
        fmt = s.format
        self.s = s
        bv = s.binning_vertical
        x = sensor_columns(s)
        maxv = fmt.max_value
        # one sensor row per phase, repeated bv times (the pattern ignores y), then binned
        region = np.repeat(np.stack([pattern(s.test_image, 0, x, k, maxv)
                                     for k in range(BAR_PERIOD)]), bv, axis=0)
        rows = bin_values(region, s, maxv)                        # (BAR_PERIOD, Width)
        self.whole_rows = fmt.row_is_whole_bytes(s.width)
        self.out = np.empty(s.payload_size, np.uint8)
        self.view = memoryview(self.out).toreadonly()
        if self.whole_rows:
            self.rows = pack(rows, fmt.name).reshape(BAR_PERIOD, -1)
            self.frame = self.out.reshape(s.height, -1)
        else:
            self.rows = rows
            self.work = np.empty((s.height, s.width), np.uint16)
            self.packer = Packer(fmt, s.pixels)

    def render(self, frame_index: int) -> memoryview:
        row = self.rows[frame_index % BAR_PERIOD]
        if self.whole_rows:
            np.copyto(self.frame, row)
        else:
            np.copyto(self.work, row)
            self.packer.pack(self.work, self.out)
        return self.view


def make_test_plan(s: ImageSettings):
    if s.test_image in FIXED:
        return FixedPlan(s)
    if s.test_image in SCROLLING:
        return ScrollingPlan(s)
    if s.test_image in BARS:
        return BarsPlan(s)
    raise ValueError(f"unknown test image {s.test_image!r}")
