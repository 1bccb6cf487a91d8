"""Scene sources: what the simulated sensor looks at.

A source hands out, per frame, the scene's irradiance over the whole sensor as a
(SensorHeight, SensorWidth) uint16 array of *scene values*: ``code << 4`` with a 12-bit code,
irradiance = value / 65520 in [0, 1] (1.0 just fills the full well at the default 5000 us
exposure and 0 dB, see :class:`~.sensor.SensorModel`); the 4 low bits must be zero (the
generator puts the noise there). :func:`~.sensor.scene_values` converts irradiance. The array
is read-only and usually a view into data prepared once: asking for a frame must cost nothing.

- :class:`SyntheticScene` (the default): a conveyor belt carrying a gray-step wedge, discs,
  rings, boxes, barcodes and a Siemens star under a line light that is brighter in the middle.
  The belt moves down by ``speed_px_per_s`` rows per second of the frame's timestamp and
  repeats every SensorHeight rows, so every frame is a contiguous slice of one prebuilt image
  twice the sensor's height.
- :class:`FileSource`: one image file or a folder of them (PNG, TIFF, BMP, PGM, JPEG via
  Pillow; ``.npy`` via numpy), loaded at start, converted to mono, fitted to the sensor, and
  played frame by frame (by frame index) in sorted file-name order, looping.
- :class:`ArraySource`: the same for arrays already in memory.

Sources also say how their frames relate, so the generator can render them once and hand out
slices (its cached path): ``still_frames()`` (array and file sources: frame k is image
``k % N`` whatever the time) or ``scroll_period`` with ``loop()`` and ``rows_moved(t)`` (the
synthetic belt). Other sources get the per-frame path.

Fitting an image of another size to the sensor (``fit``): ``"cover"`` (default) scales it
keeping its aspect ratio until it covers the sensor and crops the centre; ``"stretch"`` scales
it to exactly the sensor size; ``"none"`` keeps its pixels as they are, crops the centre of a
larger image and tiles a smaller one from the sensor's top-left corner.

A ``.npy`` holds a 2-D image, an (H, W, 3 or 4) colour image, or else an (N, H, W) stack
of N frames; a multi-page TIFF gives one frame per page. Pixel values become irradiance as
follows: 8-bit and 16-bit images are divided by 255 and 65535 (a ``.npy`` or array must be
uint8 or uint16 then: other integer types do not say their full scale and are refused), float
images are taken as irradiance and clipped to [0, 1] (NaN refused); colour images become luma
(ITU-R 601).
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sensor import IMX255, scene_values

__all__ = [
    "FITS",
    "IMAGE_EXTENSIONS",
    "ArraySource",
    "FileSource",
    "ImageSource",
    "SyntheticScene",
    "to_scene_values",
]

SENSOR_WIDTH = IMX255.width
SENSOR_HEIGHT = IMX255.height
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".bmp", ".pgm", ".jpg", ".jpeg", ".npy")
FITS = ("cover", "stretch", "none")


class ImageSource(ABC):
    """Provides the scene (uint16 scene values over the whole sensor) for each frame."""

    width: int = SENSOR_WIDTH
    height: int = SENSOR_HEIGHT

    @abstractmethod
    def frame(self, frame_index: int, timestamp_ns: int) -> np.ndarray:
        """(height, width) uint16 scene values for this frame; read-only, no copy."""

    def prepare(self) -> None:
        """Does any one-off work now rather than at the first frame (optional)."""

    # Optional structure the generator uses to cache rendered frames (see .generator). A
    # source that overrides frame() in a way that breaks these promises must return None.

    #: Rows after which a vertically scrolling scene repeats, or None (not such a scene).
    #: If set, :meth:`loop` and :meth:`rows_moved` describe every frame:
    #: ``frame(k, t)[r] == loop()[(r - rows_moved(t)) % scroll_period]``.
    scroll_period: int | None = None

    def still_frames(self) -> Sequence[np.ndarray] | None:
        """The frames, if ``frame(k, t)`` is always ``still_frames()[k % n]`` whatever the
        timestamp (still images played by frame index); else None."""
        return None

    def loop(self) -> np.ndarray:
        """(scroll_period, width) uint16 scene values of one loop of a scrolling scene."""
        raise NotImplementedError

    def rows_moved(self, timestamp_ns: int) -> int:
        """Rows a scrolling scene has moved down at this time (not reduced mod its period)."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# converting images to scene codes

def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


# Integer pixels and their full scale, by bytes per pixel: an image's own depths (either byte
# order). Other integer types (NumPy's default int64, int32) say nothing of their full scale,
# so they are refused, not guessed.
FULL_SCALE = {1: 255.0, 2: 65535.0}


def _unsigned_image(a: np.ndarray) -> bool:
    return a.dtype.kind == "u" and a.dtype.itemsize in FULL_SCALE


def check_pixels(a: np.ndarray) -> None:
    """ValueError unless ``a`` holds pixels an image source takes: bool, uint8 (0-255),
    uint16 (0-65535, either byte order) or finite floats (0-1 of full scale: above 1 is
    saturated, below 0 black)."""
    if a.dtype == bool or _unsigned_image(a):
        return
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ValueError("the image has NaN or infinite pixels")
        return
    raise ValueError(f"{a.dtype} pixels: give uint8 (0-255), uint16 (0-65535) or floats "
                     f"(0-1 of full scale), e.g. array.astype(np.uint8)")


def _irradiance(a: np.ndarray) -> np.ndarray:
    """A 2-D array of pixels (``check_pixels``) -> float32 irradiance in [0, 1]."""
    check_pixels(a)
    if a.dtype == bool:
        return a.astype(np.float32)
    if _unsigned_image(a):
        return (a / FULL_SCALE[a.dtype.itemsize]).astype(np.float32)
    return np.clip(a, 0.0, 1.0).astype(np.float32)


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image
    if img.shape == (height, width):
        return img
    im = Image.fromarray(np.ascontiguousarray(img, np.float32))
    return np.asarray(im.resize((width, height), Image.Resampling.BILINEAR), np.float32)


def _centre_crop_or_tile(img: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = img.shape
    if h > height:
        top = (h - height) // 2
        img = img[top:top + height]
    if w > width:
        left = (w - width) // 2
        img = img[:, left:left + width]
    h, w = img.shape
    if h < height or w < width:
        img = np.tile(img, (-(-height // h), -(-width // w)))[:height, :width]
    return img


def to_scene_values(image: np.ndarray, fit: str = "cover", width: int = SENSOR_WIDTH,
                   height: int = SENSOR_HEIGHT) -> np.ndarray:
    """A 2-D image (pixels as ``check_pixels`` takes them) -> read-only (height, width)
    uint16 scene values, fitted to the sensor; ValueError for other pixels."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}, not {fit!r}")
    a = np.asarray(image)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"expected a 2-D image, got shape {a.shape}")
    img = _irradiance(a)
    h, w = img.shape
    if fit == "stretch":
        img = _resize(img, width, height)
    elif fit == "cover":
        scale = max(width / w, height / h)
        img = _resize(img, max(width, math.ceil(w * scale - 1e-9)),
                      max(height, math.ceil(h * scale - 1e-9)))
    # crop, convert, then tile (converting the fewest pixels)
    h, w = img.shape
    img = _centre_crop_or_tile(img, min(width, w), min(height, h))
    codes = _centre_crop_or_tile(scene_values(img), width, height)
    codes.setflags(write=False)
    return codes


# ---------------------------------------------------------------------------------------------
# arrays and files

class ArraySource(ImageSource):
    """Frames from 2-D arrays in memory, fitted to the sensor once, looped by frame index."""

    def __init__(self, images: Sequence[np.ndarray] | np.ndarray, fit: str = "cover"):
        if isinstance(images, np.ndarray) and images.ndim == 2:
            images = [images]
        if len(images) == 0:
            raise ValueError("no images")
        self.fit = fit
        self.frames = [to_scene_values(a, fit, self.width, self.height) for a in images]

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, frame_index: int, timestamp_ns: int) -> np.ndarray:
        return self.frames[frame_index % len(self.frames)]

    def still_frames(self) -> Sequence[np.ndarray]:
        return self.frames


def _load_npy(path: Path) -> list[np.ndarray]:
    a = np.load(path, allow_pickle=False)
    if a.ndim == 2:
        return [a]
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        return [_luma(_irradiance(a[..., :3]))]
    if a.ndim == 3:
        return list(a)
    raise ValueError(f"expected a 2-D image, an (H, W, 3|4) colour image or an (N, H, W) "
                     f"stack, got shape {a.shape}")


def _pil_to_array(im) -> np.ndarray:
    mode = im.mode
    if mode in ("L", "F") or mode.startswith("I;16"):
        a = np.asarray(im)
        return a.astype(np.uint16) if mode.startswith("I;16") else a
    if mode == "I":   # 32-bit integer: 16-bit PNG/TIFF data arrive like this
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
    if mode == "1":
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("L"))        # colour, palette, alpha: ITU-R 601 luma


def _load_pillow(path: Path) -> list[np.ndarray]:
    from PIL import Image, ImageSequence
    with Image.open(path) as im:
        return [_pil_to_array(page) for page in ImageSequence.Iterator(im)]


def load_image_file(path: str | Path) -> list[np.ndarray]:
    """The frames (one, or several for a stack/multi-page file) of one image file, as
    2-D arrays; ValueError if it cannot be read."""
    path = Path(path)
    try:
        frames = _load_npy(path) if path.suffix.lower() == ".npy" else _load_pillow(path)
    except ValueError as exc:
        raise ValueError(f"cannot read image file {path}: {exc}") from exc
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError, SyntaxError ...
        raise ValueError(f"cannot read image file {path}: {type(exc).__name__}: {exc}") from exc
    if not frames:
        raise ValueError(f"cannot read image file {path}: it holds no image")
    for a in frames:
        if a.ndim != 2 or 0 in a.shape:
            raise ValueError(f"cannot read image file {path}: not a 2-D image ({a.shape})")
        try:
            check_pixels(a)
        except ValueError as error:   # (named here: a folder's error names its file)
            raise ValueError(f"cannot read image file {path}: {error}") from None
    return frames


class FileSource(ArraySource):
    """One image file or a folder of image files, loaded at start (see module docstring)."""

    def __init__(self, path: str | Path, fit: str = "cover"):
        path = Path(path)
        if not path.exists():
            raise ValueError(f"image source {path}: no such file or folder")
        if path.is_dir():
            files = sorted((p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
                           key=lambda p: p.name)
            if not files:
                raise ValueError(f"image source {path}: folder holds no image files "
                                 f"({', '.join(IMAGE_EXTENSIONS)})")
        else:
            files = [path]
        self.path = path
        self.files = files
        images = [a for f in files for a in load_image_file(f)]
        super().__init__(images, fit)


# ---------------------------------------------------------------------------------------------
# the synthetic scene

def _paint(canvas: np.ndarray, y0: int, x0: int, coverage: np.ndarray, value) -> None:
    """Blend ``value`` (scalar or array like coverage) into the canvas with the given
    coverage (0..1) at (y0, x0), clipped to the canvas."""
    h, w = coverage.shape
    value = np.broadcast_to(np.asarray(value, np.float32), coverage.shape)
    ys, xs = max(0, -y0), max(0, -x0)
    ye, xe = min(h, canvas.shape[0] - y0), min(w, canvas.shape[1] - x0)
    if ye <= ys or xe <= xs:
        return
    sub = canvas[y0 + ys:y0 + ye, x0 + xs:x0 + xe]
    sub += coverage[ys:ye, xs:xe] * (value[ys:ye, xs:xe] - sub)


def _disc_coverage(r: float, inner: float = 0.0):
    n = math.ceil(r) + 2
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1].astype(np.float32)
    d = np.hypot(yy, xx)
    cov = np.clip(r + 0.5 - d, 0, 1)
    if inner:
        cov *= np.clip(d - inner + 0.5, 0, 1)
    return n, cov, yy, xx


def _draw_scene(width: int, height: int, seed: int) -> np.ndarray:
    """The belt (height rows, periodic in y) as float32 irradiance in [0, 1]."""
    rng = np.random.default_rng(seed)
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    two_pi = np.float32(2 * math.pi)
    # Belt: reflectance 0.42 with a slow wave along y and a fine woven texture. All y
    # frequencies are whole cycles per belt length, so the belt joins up with itself.
    belt = (0.42 + 0.03 * np.sin(two_pi * 3 * y / height)
            + 0.015 * np.sin(two_pi * 59 * y / height) * np.sin(two_pi * x / 37.0)).astype(
        np.float32)
    canvas = belt
    sy = height / 2176.0
    sx = width / 4112.0

    def Y(v):
        return int(v * sy)

    def X(v):
        return int(v * sx)

    # gray-step wedge: 11 patches 0.0 .. 1.0 (a linearity target)
    pw, ph = X(300), Y(220)
    for i in range(11):
        _paint(canvas, Y(120), X(300) + i * (pw + X(20)), np.ones((ph, pw), np.float32),
               i / 10)
    # smooth ramp 0 -> 1
    ramp = np.linspace(0, 1, X(3400), dtype=np.float32)[None, :].repeat(Y(90), 0)
    _paint(canvas, Y(400), X(350), np.ones_like(ramp), ramp)
    # discs and rings
    for cx, cy, r, inner, v in ((700, 800, 230, 0, 0.92), (1500, 900, 160, 0, 0.06),
                                (2300, 780, 200, 120, 0.85), (3500, 1650, 260, 0, 0.1),
                                (3100, 850, 120, 0, 0.98), (600, 1800, 180, 90, 0.04)):
        n, cov, _, _ = _disc_coverage(r * sx, inner * sx)
        _paint(canvas, Y(cy) - n, X(cx) - n, cov, v)
    # Siemens star (36 spokes)
    n, cov, yy, xx = _disc_coverage(280 * sx)
    spokes = ((np.arctan2(yy, xx) + math.pi) / (2 * math.pi) * 36).astype(np.int32) % 2
    _paint(canvas, Y(1650) - n, X(1700) - n, cov, np.where(spokes, 0.9, 0.08))
    # boxes with a dark outline, one carrying a barcode
    for bx, by, bw, bh, v in ((2700, 1200, 900, 330, 0.75), (300, 1250, 700, 300, 0.62),
                              (2350, 1850, 700, 250, 0.55)):
        _paint(canvas, Y(by), X(bx), np.ones((Y(bh), X(bw)), np.float32), 0.12)
        _paint(canvas, Y(by) + 8, X(bx) + 8, np.ones((Y(bh) - 16, X(bw) - 16), np.float32), v)
    widths = rng.choice([4, 8, 12], size=80)
    bars = np.concatenate([np.full(w, 0.05 if i % 2 == 0 else 0.93, np.float32)
                           for i, w in enumerate(widths)])[:X(800)]
    _paint(canvas, Y(1250), X(2750), np.ones((Y(220), bars.size), np.float32),
           bars[None, :])
    # Line light across the belt: brighter in the middle, 75 % at the edges (depends on x
    # only, so it stays put while the belt moves).
    light = (1.0 - 0.25 * ((x - width / 2) / (width / 2)) ** 2).astype(np.float32)
    canvas *= light
    np.clip(canvas, 0, 1, out=canvas)
    return canvas


@lru_cache(maxsize=2)
def _belt_codes(width: int, height: int, period: int, seed: int) -> np.ndarray:
    """Belt of ``period`` rows extended by ``height`` rows (so any frame is one slice)."""
    belt = _draw_scene(width, period, seed)
    ext = np.empty((period + height, width), np.uint16)
    ext[:period] = scene_values(belt)
    ext[period:] = np.tile(ext[:period], (-(-height // period), 1))[:height]
    ext.setflags(write=False)
    return ext


class SyntheticScene(ImageSource):
    """Objects on a conveyor belt moving down the image (see module docstring)."""

    def __init__(self, speed_px_per_s: float = 240.0, seed: int = 1):
        self.speed_px_per_s = float(speed_px_per_s)
        self.seed = seed
        self.period = self.height          # the belt repeats every sensor height
        self._ext: np.ndarray | None = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        with self._lock:
            if self._ext is None:
                self._ext = _belt_codes(self.width, self.height, self.period, self.seed)

    @property
    def scroll_period(self) -> int:        # type: ignore[override]
        return self.period

    def rows_moved(self, timestamp_ns: int) -> int:
        """Rows the belt has moved at this time (not reduced mod its period)."""
        return int(timestamp_ns * self.speed_px_per_s // 1_000_000_000)

    def shift(self, timestamp_ns: int) -> int:
        """Rows the belt has moved at this time (mod its period)."""
        return self.rows_moved(timestamp_ns) % self.period

    def loop(self) -> np.ndarray:
        if self._ext is None:
            self.prepare()
        return self._ext[:self.period]

    def frame(self, frame_index: int, timestamp_ns: int) -> np.ndarray:
        if self._ext is None:
            self.prepare()
        start = (self.period - self.shift(timestamp_ns)) % self.period
        return self._ext[start:start + self.height]
