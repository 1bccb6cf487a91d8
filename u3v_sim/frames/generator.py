"""FrameGenerator: the image bytes (U3V payload without chunks) of one frame.

Called once per frame from the acquisition worker thread, so the hot path allocates nothing
big: everything that depends only on the settings is built on the first frames with those
settings (a *plan*: buffers, prebuilt test images, prebuilt sensor strips) and reused.

- Test images (:mod:`.testimages`): prebuilt per layout; a frame is the prebuilt bytes, a
  slice of them, or one row per phase copied into a reused buffer.
- Sensor image (``test_image == "Off"``), **cached path** (the default wherever it applies):
  the scene only moves, so its frames are windows into images rendered once per setting.
  For the current settings (ROI, offsets, binning, reverse, pixel format, exposure, gain,
  black level, gamma, digital shift, noise) the generator renders K (``strips``, default 4)
  *strips* in the output byte format, each with its own noise realisation (the per-frame
  path's noise model and table, applied to the taller image), and a frame is a read-only
  ``memoryview`` slice of one strip: no work per frame.

  * Scrolling scene (:class:`.SyntheticScene`, the conveyor belt): a strip is the ROI of the
    belt over one loop plus one frame, ``L + Height - 1`` rows, where ``L`` is the loop in
    binned rows (``lcm(period, BinningVertical) / BinningVertical``; SensorHeight /
    BinningVertical for binning 1, 2, 4). Frame k is strip ``k % K`` from the row the belt
    has reached at the frame's timestamp: the source's scroll counted in whole binned rows,
    ``q = rows_moved(t) // BinningVertical``, starting at row ``(OffsetY - q) mod L``, or
    ``(OffsetY + q) mod L`` with ReverseY (the mirrored belt moves up). Rows are contiguous
    in the strip, so this needs rows that end on a byte boundary (Width * bits % 8 == 0:
    any Width in Mono8/10/12, an even Width in Mono12p, a multiple of 4 in Mono10p).
  * Still images (:class:`.ArraySource`, :class:`.FileSource`: frame k shows image
    ``k % N``): a strip is one frame; each of the N images gets K noise realisations and
    frame k shows realisation ``(k // N) % K`` of its image. All N * K strips are cached or
    none (a folder changes image every frame, so rebuilding per image would cost K frames'
    work per frame): folders too large for the cap use the per-frame path.

  Strips are built lazily, each when a frame first needs it, so each of the K frames after a
  settings change costs about one strip render (a belt strip is ``(L + H) / H``, about 2,
  times the per-frame path; a still-image strip 1 times); :meth:`FrameGenerator.prepare`
  builds them all at once. Strip i reads the noise field (below) at its own pseudo-random
  offset, wrapping round; the field holds more indices than a frame has pixels, so no frame
  repeats noise within itself.

  Memory cap: a layout is cached only if K strips (N * K for still images) fit in
  ``cache_bytes`` (default 256 MiB, :data:`DEFAULT_CACHE_BYTES`); otherwise the per-frame
  path renders it. At the full default ROI (4096 x 2168) the belt's four strips take 71 MB
  in Mono8, 89 MB in Mono10p, 107 MB in Mono12p and 142 MB in Mono10/Mono12. Only one strip
  set lives in a generator at a time: the next setting's set replaces it (new arrays; views
  already handed out keep the old ones alive until they are released).

  Realism trade-offs: the noise belongs to the strip, so it travels with the belt (frames K
  apart show the same noise pattern moved by the belt's K-frame travel); a still image's
  noise repeats exactly every K frames (N * K for a folder of N images); the belt scrolls in
  whole binned rows.
- Sensor image, **per-frame path** (custom sources, a scrolling scene in a packed format
  whose rows end mid-byte, layouts over the cap, ``strips=0``): the source's scene for this
  frame (a view), cut to the ROI (views: reverse and crop cost nothing; binning sums into a
  reused buffer), then one table lookup per pixel turns scene code plus noise into the output
  value. The noise is a field of 4-bit noise indices drawn once and read at a per-frame
  pseudo-random offset; the table (:func:`.sensor.response_lut`, 65,536 entries) holds the
  whole sensor model for the current exposure, gain, black level, gamma and digital shift,
  and is cached per setting, so changing exposure every frame (auto exposure) costs 1-3 ms
  per change. Work runs in chunks of rows so the table indices (numpy wants intp) stay in the
  cache.

The memoryview returned by :meth:`FrameGenerator.render` is read-only. Where
:meth:`FrameGenerator.views_stable` is true for the settings (the cached sensor path, fixed
test images, scrolling test images with whole-byte rows) it points into arrays that are never
written again, so it stays valid and unchanged for as long as it is referenced, also across
settings changes; otherwise it points into a buffer of the generator's that the next
``render()`` call overwrites.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .geometry import axis_slice, sensor_region
from .pixel_formats import Packer
from .sensor import IMX255, NOISE_LEVELS, SCENE_SHIFT, SensorModel, response_lut
from .settings import ImageSettings
from .sources import ImageSource, SyntheticScene
from .testimages import FIXED, SCROLLING, make_test_plan

__all__ = ["DEFAULT_CACHE_BYTES", "DEFAULT_STRIPS", "FrameGenerator"]

DEFAULT_STRIPS = 4             # noise realisations (strips) per cached setting
DEFAULT_CACHE_BYTES = 256 << 20  # cap on one setting's strips, else the per-frame path
_CHUNK_PIXELS = 1 << 17        # table lookups per step (1 MiB of intp indices)
_NOISE_SLACK = 1 << 20         # extra noise indices beyond one full sensor: the offset range
_STRIP_SALT = 0x5354524950     # separates the strips' noise offsets from the frames'
_MASK64 = (1 << 64) - 1


@lru_cache(maxsize=64)
def _mean_response(model: SensorModel, depth: int, exposure_us: float, gain_db: float,
                   black_level: float, gamma: float, digital_shift: int, sum_pixels: int,
                   average_pixels: int, points: tuple[int, ...] | None) -> np.ndarray:
    """The noise-free output value of each 12-bit scene code (4,096 entries)."""
    lut = response_lut(model, depth=depth, exposure_us=exposure_us, gain_db=gain_db,
                       black_level=black_level, gamma=gamma, digital_shift=digital_shift,
                       noise=False, sum_pixels=sum_pixels, average_pixels=average_pixels,
                       dtype=np.uint16, lut=points)
    table = lut[::NOISE_LEVELS].astype(np.float64)
    table.setflags(write=False)
    return table


def _mix(seed: int, n: int) -> int:
    """splitmix64 of (seed, n): the per-frame noise offset, deterministic per frame index."""
    x = (seed * 0x9E3779B97F4A7C15 + n * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def strip_noise_offset(seed: int, strip: int) -> int:
    """Where strip ``strip`` (image * K + realisation) starts reading the noise field (before
    reducing mod the field's size)."""
    return _mix(seed ^ _STRIP_SALT, strip)


@lru_cache(maxsize=2)
def _noise_field(size: int, seed: int) -> np.ndarray:
    """``size`` uniform noise indices 0..15 (the table index's low bits)."""
    rng = np.random.default_rng([seed, 0x4E4F495345])
    z = rng.integers(0, NOISE_LEVELS, size, dtype=np.uint16)
    z.setflags(write=False)
    return z


def _rows_per_chunk(width: int) -> int:
    """A multiple of 4 so packed chunks start on a 4-pixel group."""
    return max(4, _CHUNK_PIXELS // width // 4 * 4)


def _bin_shift(s: ImageSettings) -> int | None:
    n = (s.binning_horizontal * s.binning_vertical) << SCENE_SHIFT
    return n.bit_length() - 1 if n & (n - 1) == 0 else None


def _bin(region: np.ndarray, s: ImageSettings, sums: np.ndarray, out: np.ndarray,
         shift: int | None) -> np.ndarray:
    """The mean scene value of each binning block of ``region`` (rows * bv, Width * bh) into
    ``out`` (rows, Width) uint16, through ``sums`` (rows, Width) uint32; returns ``out``.

    The table wants the block's mean scene value (binning's effect on signal and noise is in
    the table): (sum // (n << 4)) << 4 keeps the low bits free. One strided add per position
    in the block (np.sum over a 4-D view is ~15x slower)."""
    bh, bv = s.binning_horizontal, s.binning_vertical
    np.copyto(sums, region[0::bv, 0::bh])
    for j in range(bv):
        for i in range(bh):
            if i or j:
                np.add(sums, region[j::bv, i::bh], out=sums)
    if shift is not None:
        np.right_shift(sums, shift, out=sums)
    else:
        np.floor_divide(sums, (bh * bv) << SCENE_SHIFT, out=sums)
    np.left_shift(sums, SCENE_SHIFT, out=out, casting="unsafe")
    return out


def _render_rows(s: ImageSettings, rows: int,
                 region_rows: Callable[[int, int], np.ndarray], lut: np.ndarray,
                 field: np.ndarray | None, noise_offset: int, out: np.ndarray) -> None:
    """Renders ``rows`` output rows of the ROI's width into ``out`` (uint8, the payload of
    ``rows * Width`` pixels): ``region_rows(r0, r1)`` gives the scene region of output rows
    r0..r1 ((r1 - r0) * bv rows, Width * bh columns, in output order). The noise index of
    output pixel p is ``field[(noise_offset + p) % field.size]``; no noise if ``field`` is
    None. Builds strips (the per-frame path has its own loop with preallocated buffers)."""
    fmt = s.format
    w = s.width
    rpc = _rows_per_chunk(w)
    index = np.empty(rpc * w, np.intp)
    binning = s.binning_horizontal * s.binning_vertical > 1
    if binning:
        sums = np.empty((rpc, w), np.uint32)
        binned = np.empty((rpc, w), np.uint16)
        shift = _bin_shift(s)
    if field is not None:
        wrapped = np.empty(rpc * w, field.dtype)
        fsize = field.size
    packer = None
    if fmt.bits == 8:
        values = out
    elif not fmt.packed:
        values = out.view("<u2")
    else:
        chunk_values = np.empty(rpc * w, "<u2")
        packer = Packer(fmt, rows * w)
    for r0 in range(0, rows, rpc):
        r1 = min(rows, r0 + rpc)
        nr = r1 - r0
        n = nr * w
        roi = region_rows(r0, r1)
        if binning:
            roi = _bin(roi, s, sums[:nr], binned[:nr], shift)
        idx = index[:n].reshape(nr, w)
        if field is None:
            np.copyto(idx, roi)
        else:
            p = (noise_offset + r0 * w) % fsize
            if p + n <= fsize:
                noise = field[p:p + n]
            else:                                   # wraps round the end of the field
                k = fsize - p
                wrapped[:k] = field[p:]
                wrapped[k:n] = field[:n - k]
                noise = wrapped[:n]
            np.bitwise_or(roi, noise.reshape(nr, w), out=idx)
        if packer is None:
            np.take(lut, index[:n], out=values[r0 * w:r1 * w], mode="wrap")
        else:
            np.take(lut, index[:n], out=chunk_values[:n], mode="wrap")
            packer.pack_range(chunk_values[:n], out, r0 * w)


class SensorPlan:
    """Per-frame path: buffers for rendering the sensor image with one layout."""

    stable = False

    def __init__(self, gen: FrameGenerator, s: ImageSettings,
                 source: ImageSource | None = None):
        self.gen = gen
        self.source = source if source is not None else gen.source
        fmt = s.format
        self.fmt = fmt
        self.s = s
        w, h = s.width, s.height
        self.out = np.empty(s.payload_size, np.uint8)
        self.view = memoryview(self.out).toreadonly()
        self.rows_per_chunk = _rows_per_chunk(w)
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
            self.bin_shift = _bin_shift(s)

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> memoryview:
        gen = self.gen
        scene = self.source.frame(frame_index, timestamp_ns)
        if scene.shape != (gen.model.height, gen.model.width) or scene.dtype != np.uint16:
            raise ValueError(f"image source gave {scene.shape} {scene.dtype}, expected "
                             f"({gen.model.height}, {gen.model.width}) uint16")
        roi = sensor_region(scene, s)
        w, h = s.width, s.height
        if self.binning > 1:
            roi = _bin(roi, s, self.block_sums, self.binned, self.bin_shift)
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


class CachedSensorPlan:
    """Cached path: the sensor image as slices of prebuilt strips (see the module docstring)
    for one layout. ``still``: a still-image source (else a scrolling one). The strip set
    belongs to one full setting (``key``); another setting gets a new set."""

    stable = True

    def __init__(self, gen: FrameGenerator, s: ImageSettings, still: bool):
        self.gen = gen
        self.still = still
        fmt = s.format
        src = gen.source
        shape = (gen.model.height, gen.model.width)
        if still:
            self.frames = list(src.still_frames())
            for a in self.frames:
                if a.shape != shape or a.dtype != np.uint16:
                    raise ValueError(f"image source gave {a.shape} {a.dtype}, expected "
                                     f"{shape} uint16")
            self.images = len(self.frames)
            self.strip_rows = s.height
        else:
            self.period = int(src.scroll_period)
            bv = s.binning_vertical
            self.loop_rows = math.lcm(self.period, bv) // bv        # the loop in binned rows
            self.strip_rows = self.loop_rows + s.height - 1
            self.row_bytes = s.width * fmt.bits // 8
            self.images = 1
        self.strip_bytes = fmt.payload_size(self.strip_rows * s.width)
        self.key: ImageSettings | None = None
        self.realisations = 0
        self.views: list[memoryview | None] = []

    def drop(self) -> None:
        """Forgets the strips (views handed out keep theirs alive)."""
        self.key = None
        self.views = []

    @property
    def nbytes(self) -> int:
        return sum(len(v) for v in self.views if v is not None)

    def _select(self, s: ImageSettings) -> None:
        if s is self.key or s == self.key:
            return
        gen = self.gen
        gen._claim_cache(self)
        self.realisations = gen.strips if s.noise else 1
        self.lut = gen.lut(s)
        self.field = gen.noise_field() if s.noise else None
        self.views = [None] * (self.images * self.realisations)
        self.key = s

    def _strip(self, s: ImageSettings, i: int) -> memoryview:
        v = self.views[i]
        if v is None:
            v = self.views[i] = self._build(s, i)
        return v

    def _build(self, s: ImageSettings, i: int) -> memoryview:
        bv = s.binning_vertical
        if self.still:
            region = sensor_region(self.frames[i // self.realisations], s)

            def rows(r0: int, r1: int) -> np.ndarray:
                return region[r0 * bv:r1 * bv]
        else:
            loop = self.gen.source.loop()
            if loop.shape != (self.period, self.gen.model.width) or loop.dtype != np.uint16:
                raise ValueError(f"scrolling source gave a loop of {loop.shape} {loop.dtype}, "
                                 f"expected ({self.period}, {self.gen.model.width}) uint16")
            period = self.period
            top = self.gen.model.height - 1
            cols = axis_slice(s.offset_x, s.width, s.binning_horizontal, loop.shape[1],
                              s.reverse_x)

            def rows(r0: int, r1: int) -> np.ndarray:
                # strip row m, block row j reads sensor row m * bv + j of the belt at scroll 0
                # (mirrored: sensor row SensorHeight - 1 - (m * bv + j))
                y = np.arange(r0 * bv, r1 * bv)
                y = (top - y) % period if s.reverse_y else y % period
                return np.take(loop, y, axis=0)[:, cols]
        out = np.empty(self.strip_bytes, np.uint8)
        offset = strip_noise_offset(self.gen.seed, i) if self.field is not None else 0
        _render_rows(s, self.strip_rows, rows, self.lut, self.field, offset, out)
        out.setflags(write=False)                 # never written again: views stay valid
        return memoryview(out)

    def strip_index(self, frame_index: int) -> int:
        """The strip frame ``frame_index`` shows (image * realisations + realisation)."""
        r = self.realisations
        if self.still:
            n = self.images
            return frame_index % n * r + frame_index // n % r
        return frame_index % r

    def start_row(self, s: ImageSettings, timestamp_ns: int) -> int:
        """A scrolling scene's first strip row shown at this time."""
        q = self.gen.source.rows_moved(timestamp_ns) // s.binning_vertical
        return (s.offset_y + q if s.reverse_y else s.offset_y - q) % self.loop_rows

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> memoryview:
        self._select(s)
        view = self._strip(s, self.strip_index(frame_index))
        if self.still:
            return view
        a = self.start_row(s, timestamp_ns)
        rb = self.row_bytes
        return view[a * rb:(a + s.height) * rb]

    def build_all(self, s: ImageSettings) -> None:
        self._select(s)
        for i in range(len(self.views)):
            self._strip(s, i)


class _TestPlan:
    def __init__(self, s: ImageSettings):
        self.plan = make_test_plan(s)
        self.stable = _test_views_stable(s)

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> memoryview:
        return self.plan.render(frame_index)


def _test_views_stable(s: ImageSettings) -> bool:
    """Fixed test images and scrolling ones with whole-byte rows are prebuilt, read-only
    arrays (see :mod:`.testimages`); the others are copied into a reused buffer."""
    return s.test_image in FIXED or (s.test_image in SCROLLING
                                     and s.format.row_is_whole_bytes(s.width))


class FrameGenerator:
    """Renders frames for the camera's current :class:`ImageSettings`.

    ``source``: the scene for the sensor image (default: a :class:`SyntheticScene`);
    ``seed``: seeds the noise field and the noise offsets (same seed, settings, frame index
    and timestamp give the same bytes, given the same path: cached or per-frame);
    ``strips``: noise realisations K of the cached sensor path (0: always the per-frame path);
    ``cache_bytes``: the cap on the strips of one setting (see the module docstring).
    """

    def __init__(self, source: ImageSource | None = None, seed: int = 0,
                 model: SensorModel = IMX255, max_plans: int = 2, max_luts: int = 16,
                 strips: int = DEFAULT_STRIPS, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.source = source if source is not None else SyntheticScene()
        self.seed = seed
        self.model = model
        self.max_plans = max_plans
        self.max_luts = max_luts
        self.strips = strips
        self.cache_bytes = cache_bytes
        self._plans: OrderedDict[tuple, object] = OrderedDict()
        self._luts: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_owner: CachedSensorPlan | None = None
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------

    def set_source(self, source: ImageSource | None) -> None:
        """What the sensor sees from now on (None: a new synthetic scene). Frames already
        rendered keep what they showed."""
        with self._lock:
            self.source = source if source is not None else SyntheticScene()
            if self._cache_owner is not None:
                self._cache_owner.drop()
                self._cache_owner = None
            self._plans.clear()

    def payload_size(self, s: ImageSettings) -> int:
        """Bytes :meth:`render` returns for these settings: ceil(W * H * bits / 8)."""
        return s.payload_size

    def render(self, s: ImageSettings, frame_index: int, timestamp_ns: int,
               source: ImageSource | None = None) -> memoryview:
        """The frame's image bytes, as a read-only memoryview. ``source``: what the sensor
        saw when the frame was exposed, if the generator has been shown another since (the
        frame keeps its scene; rendered on the per-frame path, into a buffer of its own).

        If :meth:`views_stable` is true for ``s``, the view points into arrays that are never
        written again: it stays valid and unchanged for as long as it is referenced (later
        renders and settings changes allocate new arrays instead), so the caller need not
        copy it. Otherwise it is valid only until the next call, which overwrites it."""
        with self._lock:
            if source is not None and source is not self.source and s.test_image == "Off":
                return SensorPlan(self, s, source).render(s, frame_index, timestamp_ns)
            return self.plan(s).render(s, frame_index, timestamp_ns)

    def views_stable(self, s: ImageSettings) -> bool:
        """Whether :meth:`render` with these settings returns views that never change (see
        there): the cached sensor path (:meth:`cached`), fixed test images, and scrolling
        test images whose rows end on a byte boundary. Depends only on the layout and the
        generator's source and configuration, not on the frame."""
        if s.test_image != "Off":
            return _test_views_stable(s)
        return self.cached(s)

    def cached(self, s: ImageSettings) -> bool:
        """Whether the sensor image with these settings takes the cached path."""
        return self._cache_mode(s) is not None

    @property
    def cache_nbytes(self) -> int:
        """Bytes of the strips built so far for the current cached setting."""
        with self._lock:
            owner = self._cache_owner
            return owner.nbytes if owner is not None else 0

    def pixels(self, s: ImageSettings, frame_index: int, timestamp_ns: int) -> np.ndarray:
        """The frame's pixel values as a new (Height, Width) uint16 array, for snapshots and
        tools: the same values :meth:`render` gives. A view that :meth:`render` returned to
        another thread stays intact (the per-frame path and test images render with buffers
        of their own; the cached path's strips are never written)."""
        from .pixel_formats import unpack
        with self._lock:
            plan = self.plan(s) if self.cached(s) else self._new_plan(s)
            data = plan.render(s, frame_index, timestamp_ns)
            return unpack(data, s.pixel_format, s.pixels).reshape(s.height, s.width)

    def mean_level(self, s: ImageSettings, frame_index: int, timestamp_ns: int,
                   source: ImageSource | None = None, max_samples: int = 1 << 15) -> float:
        """The mean pixel value of the sensor image with settings ``s`` (its ROI: the region
        to measure), as a fraction of the pixel format's full scale, without noise: what an
        auto function reads from the frame. Samples a grid of at most ``max_samples`` of
        the region's pixels; a binned pixel is taken as binning times the sampled one. Costs
        about a millisecond; takes no lock (the source is replaced whole, tables are
        built here). ``source``: the one the frame saw (default: the current one)."""
        scene = (source or self.source).frame(frame_index, timestamp_ns)
        region = sensor_region(scene, s)
        step = max(1, math.ceil(math.sqrt(region.size / max_samples)))
        codes = region[::step, ::step] >> SCENE_SHIFT
        fmt = s.format
        table = _mean_response(self.model, fmt.depth, s.exposure_us, s.gain_db, s.black_level,
                               s.gamma, s.digital_shift, s.sum_pixels, s.average_pixels, s.lut)
        return float(table[codes].mean()) / ((1 << fmt.depth) - 1)

    def prepare(self, s: ImageSettings) -> None:
        """Builds what the frames with these settings need (optional): for the cached path,
        all the strips (otherwise built one per frame as the first K frames need them)."""
        with self._lock:
            plan = self.plan(s)
            if s.test_image == "Off":
                self.source.prepare()
                self.lut(s)
                if s.noise:
                    self.noise_field()
                if isinstance(plan, CachedSensorPlan):
                    plan.build_all(s)

    # -- caches (call with the lock held) ---------------------------------------------------

    def plan(self, s: ImageSettings):
        key = s.layout_key()
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._new_plan(s)
            while len(self._plans) > self.max_plans:
                _, old = self._plans.popitem(last=False)
                if old is self._cache_owner:
                    old.drop()
                    self._cache_owner = None
        else:
            self._plans.move_to_end(key)
        return plan

    def _new_plan(self, s: ImageSettings):
        s.validate(self.model.width, self.model.height)
        if s.test_image != "Off":
            return _TestPlan(s)
        mode = self._cache_mode(s)
        if mode is None:
            return SensorPlan(self, s)
        return CachedSensorPlan(self, s, still=mode == "still")

    def _cache_mode(self, s: ImageSettings) -> str | None:
        """The sensor image's path for ``s``: "still" or "scroll" (cached) or None (per-frame).
        The cap counts K strips even without noise (which needs one), so the answer depends
        on the layout only."""
        if self.strips < 1 or s.test_image != "Off":
            return None
        fmt = s.format
        src = self.source
        frames = src.still_frames()
        if frames is not None:
            mode, count, rows = "still", len(frames) * self.strips, s.height
        elif src.scroll_period:
            if not fmt.row_is_whole_bytes(s.width):
                return None
            bv = s.binning_vertical
            mode, count = "scroll", self.strips
            rows = math.lcm(int(src.scroll_period), bv) // bv + s.height - 1
        else:
            return None
        return mode if count * fmt.payload_size(rows * s.width) <= self.cache_bytes else None

    def _claim_cache(self, plan: CachedSensorPlan) -> None:
        """``plan`` is building a new strip set: the previous set (another plan's) goes, so at
        most one set is held."""
        owner = self._cache_owner
        if owner is not None and owner is not plan:
            owner.drop()
        self._cache_owner = plan

    def lut(self, s: ImageSettings) -> np.ndarray:
        """The response table for the photometric settings of ``s``."""
        fmt = s.format
        key = (fmt.depth, fmt.bits == 8, s.exposure_us, s.gain_db, s.black_level, s.gamma,
               s.digital_shift, s.noise, s.sum_pixels, s.average_pixels, s.lut)
        lut = self._luts.get(key)
        if lut is None:
            s.validate(self.model.width, self.model.height)
            lut = response_lut(
                self.model, depth=fmt.depth, exposure_us=s.exposure_us, gain_db=s.gain_db,
                black_level=s.black_level, gamma=s.gamma, digital_shift=s.digital_shift,
                noise=s.noise, sum_pixels=s.sum_pixels, average_pixels=s.average_pixels,
                dtype=np.uint8 if fmt.bits == 8 else np.dtype("<u2"), lut=s.lut)
            lut.setflags(write=False)
            self._luts[key] = lut
            while len(self._luts) > self.max_luts:
                self._luts.popitem(last=False)
        else:
            self._luts.move_to_end(key)
        return lut

    def noise_field(self) -> np.ndarray:
        return _noise_field(self.model.width * self.model.height + _NOISE_SLACK, self.seed)
