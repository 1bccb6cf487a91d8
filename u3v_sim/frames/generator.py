"""FrameGenerator: the image bytes (U3V payload without chunks) of one frame.

Called once per frame from the acquisition worker thread, so the hot path allocates nothing
big: everything that depends only on the settings is built on the first frame with those
settings (a *plan*: buffers, prebuilt test images) and reused.

- Test images (:mod:`.testimages`): prebuilt per layout; a frame is the prebuilt bytes, a
  slice of them, or one row per phase copied into a reused buffer.
- Sensor image (``test_image == "Off"``): the source's scene for this frame (a view), cut to
  the ROI (views: reverse and crop cost nothing; binning sums into a reused buffer), then one
  table lookup per pixel turns scene code plus noise into the output value. The noise is a
  field of 4-bit noise indices drawn once and read at a per-frame pseudo-random offset; the
  table (:func:`.sensor.response_lut`, 65,536 entries) holds the whole sensor model for the
  current exposure, gain, black level, gamma and digital shift, and is cached per setting, so
  changing exposure every frame (auto exposure) costs 1-3 ms per change. Work runs in chunks
  of rows so the table indices (numpy wants intp) stay in the cache.

The memoryview returned by :meth:`FrameGenerator.render` is read-only and points into a buffer
of the generator's that stays valid until the next ``render()`` call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from .geometry import sensor_region
from .pixel_formats import Packer
from .sensor import IMX255, NOISE_LEVELS, SCENE_SHIFT, SensorModel, response_lut
from .settings import ImageSettings
from .sources import ImageSource, SyntheticScene
from .testimages import make_test_plan

__all__ = ["FrameGenerator"]

_CHUNK_PIXELS = 1 << 17        # table lookups per step (1 MiB of intp indices)
_NOISE_SLACK = 1 << 20         # extra noise indices beyond one full sensor: the offset range
_MASK64 = (1 << 64) - 1


def _mix(seed: int, n: int) -> int:
    """splitmix64 of (seed, n): the per-frame noise offset, deterministic per frame index."""
    x = (seed * 0x9E3779B97F4A7C15 + n * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@lru_cache(maxsize=2)
def _noise_field(size: int, seed: int) -> np.ndarray:
    """``size`` uniform noise indices 0..15 (the table index's low bits)."""
    rng = np.random.default_rng([seed, 0x4E4F495345])
    z = rng.integers(0, NOISE_LEVELS, size, dtype=np.uint16)
    z.setflags(write=False)
    return z


class SensorPlan:
    """Buffers for rendering the sensor image with one layout."""

    def __init__(self, gen: FrameGenerator, s: ImageSettings):
        self.gen = gen
        fmt = s.format
        self.fmt = fmt
        self.s = s
        w, h = s.width, s.height
        self.out = np.empty(s.payload_size, np.uint8)
        self.view = memoryview(self.out).toreadonly()
        # Rows per chunk: a multiple of 4 so packed chunks start on a 4-pixel group.
        self.rows_per_chunk = max(4, _CHUNK_PIXELS // w // 4 * 4)
        self.chunks = [(r0, min(h, r0 + self.rows_per_chunk))
                       for r0 in range(0, h, self.rows_per_chunk)]
        self.index = np.empty(self.rows_per_chunk * w, np.intp)
        self.packer = None
        if fmt.bits == 8:
            self.values = self.out
        elif not fmt.packed:
            self.values = self.out.view("<u2")
        else:   # table values of one chunk (stay in the cache), packed chunk by chunk
            self.values = None
            self.chunk_values = np.empty(self.rows_per_chunk * w, "<u2")
            self.packer = Packer(fmt, s.pixels)
        self.binning = s.binning_horizontal * s.binning_vertical
        if self.binning > 1:
            self.block_sums = np.empty((h, w), np.uint32)
            self.binned = np.empty((h, w), np.uint16)
            n = self.binning << SCENE_SHIFT
            self.bin_shift = n.bit_length() - 1 if n & (n - 1) == 0 else None

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> memoryview:
        gen = self.gen
        scene = gen.source.frame(frame_index, timestamp_ns)
        if scene.shape != (gen.model.height, gen.model.width) or scene.dtype != np.uint16:
            raise ValueError(f"image source gave {scene.shape} {scene.dtype}, expected "
                             f"({gen.model.height}, {gen.model.width}) uint16")
        roi = sensor_region(scene, s)
        w, h = s.width, s.height
        if self.binning > 1:
            bh, bv = s.binning_horizontal, s.binning_vertical
            # The table wants the block's mean scene value (binning's effect on signal and
            # noise is in the table): (sum // (n << 4)) << 4 keeps the low bits free.
            # One strided add per position in the block (np.sum over a 4-D view is ~15x
            # slower).
            sums = self.block_sums
            np.copyto(sums, roi[0::bv, 0::bh])
            for j in range(bv):
                for i in range(bh):
                    if i or j:
                        np.add(sums, roi[j::bv, i::bh], out=sums)
            if self.bin_shift is not None:
                np.right_shift(sums, self.bin_shift, out=sums)
            else:
                np.floor_divide(sums, self.binning << SCENE_SHIFT, out=sums)
            np.left_shift(sums, SCENE_SHIFT, out=self.binned, casting="unsafe")
            roi = self.binned
        lut = gen.lut(s)
        index = self.index
        if s.noise:
            field = gen.noise_field()
            offset = _mix(gen.seed, frame_index) % (field.size - s.pixels + 1)
            noise = field[offset:offset + s.pixels].reshape(h, w)
        values, packer = self.values, self.packer
        for r0, r1 in self.chunks:
            n = (r1 - r0) * w
            if s.noise:
                np.bitwise_or(roi[r0:r1], noise[r0:r1], out=index[:n].reshape(r1 - r0, w))
            else:
                np.copyto(index[:n].reshape(r1 - r0, w), roi[r0:r1])
            if packer is None:
                np.take(lut, index[:n], out=values[r0 * w:r1 * w], mode="wrap")
            else:
                np.take(lut, index[:n], out=self.chunk_values[:n], mode="wrap")
                packer.pack_range(self.chunk_values[:n], self.out, r0 * w)
        return self.view


class _TestPlan:
    def __init__(self, s: ImageSettings):
        self.plan = make_test_plan(s)

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> memoryview:
        return self.plan.render(frame_index)


class FrameGenerator:
    """Renders frames for the camera's current :class:`ImageSettings`.

    ``source``: the scene for the sensor image (default: a :class:`SyntheticScene`);
    ``seed``: seeds the noise field and the per-frame noise offsets (same seed, settings,
    frame index and timestamp give the same bytes).
    """

    def __init__(self, source: ImageSource | None = None, seed: int = 0,
                 model: SensorModel = IMX255, max_plans: int = 2, max_luts: int = 16):
        self.source = source if source is not None else SyntheticScene()
        self.seed = seed
        self.model = model
        self.max_plans = max_plans
        self.max_luts = max_luts
        self._plans: OrderedDict[tuple, object] = OrderedDict()
        self._luts: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------

    def payload_size(self, s: ImageSettings) -> int:
        """Bytes :meth:`render` returns for these settings: ceil(W * H * bits / 8)."""
        return s.payload_size

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> memoryview:
        """The frame's image bytes. The view is read-only and valid until the next call."""
        with self._lock:
            return self.plan(s).render(s, frame_index, timestamp_ns)

    def pixels(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> np.ndarray:
        """The frame's pixel values as a new (Height, Width) uint16 array, for snapshots and
        tools. Rendered with buffers of its own (allocated), so a view that :meth:`render`
        returned to another thread stays intact."""
        from .pixel_formats import unpack
        with self._lock:
            data = self._new_plan(s).render(s, frame_index, timestamp_ns)
            return unpack(data, s.pixel_format, s.pixels).reshape(s.height, s.width)

    def prepare(self, s: ImageSettings) -> None:
        """Builds what the first frame with these settings needs (optional)."""
        with self._lock:
            self.plan(s)
            if s.test_image == "Off":
                self.source.prepare()
                self.lut(s)
                if s.noise:
                    self.noise_field()

    # -- caches (call with the lock held) ---------------------------------------------------

    def plan(self, s: ImageSettings):
        key = s.layout_key()
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._new_plan(s)
            while len(self._plans) > self.max_plans:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    def _new_plan(self, s: ImageSettings):
        s.validate(self.model.width, self.model.height)
        return SensorPlan(self, s) if s.test_image == "Off" else _TestPlan(s)

    def lut(self, s: ImageSettings) -> np.ndarray:
        """The response table for the photometric settings of ``s``."""
        fmt = s.format
        key = (fmt.depth, fmt.bits == 8, s.exposure_us, s.gain_db, s.black_level, s.gamma,
               s.digital_shift, s.noise, s.sum_pixels, s.average_pixels)
        lut = self._luts.get(key)
        if lut is None:
            s.validate(self.model.width, self.model.height)
            lut = response_lut(
                self.model, depth=fmt.depth, exposure_us=s.exposure_us, gain_db=s.gain_db,
                black_level=s.black_level, gamma=s.gamma, digital_shift=s.digital_shift,
                noise=s.noise, sum_pixels=s.sum_pixels, average_pixels=s.average_pixels,
                dtype=np.uint8 if fmt.bits == 8 else np.dtype("<u2"))
            lut.setflags(write=False)
            self._luts[key] = lut
            while len(self._luts) > self.max_luts:
                self._luts.popitem(last=False)
        else:
            self._luts.move_to_end(key)
        return lut

    def noise_field(self) -> np.ndarray:
        return _noise_field(self.model.width * self.model.height + _NOISE_SLACK, self.seed)
