"""Where the ROI's pixels come from on the sensor: reverse, binning, offset and size.

The order, as on a Basler camera, is *reverse, then bin, then crop*: ReverseX/ReverseY mirror
the whole sensor image, binning combines blocks of that mirrored image counted from its first
row/column, and the ROI (OffsetX/OffsetY/Width/Height, in binned pixels) is cut from the
result. So the ROI stays at the same place relative to the (mirrored) readout and shows the
mirror-image part of the scene, not a mirrored copy of the unmirrored ROI.

Binning values: a Sum-mode axis adds its pixels, an Average-mode axis divides the total by its
factor (integer division, rounding down), and the result saturates at the format's maximum.
"""

from __future__ import annotations

import numpy as np

from .sensor import IMX255
from .settings import ImageSettings

SENSOR_WIDTH = IMX255.width
SENSOR_HEIGHT = IMX255.height


def axis_slice(offset: int, size: int, binning: int, total: int, reverse: bool) -> slice:
    """Sensor indices (as a slice, descending when reversed) of ``size`` binned pixels
    starting at binned index ``offset`` of the (mirrored) sensor axis of ``total`` pixels."""
    start, stop = offset * binning, (offset + size) * binning
    if not reverse:
        return slice(start, stop)
    first, end = total - 1 - start, total - 1 - stop
    return slice(first, end if end >= 0 else None, -1)


def axis_indices(offset: int, size: int, binning: int, total: int, reverse: bool) -> np.ndarray:
    """Same as :func:`axis_slice`, as an index array of length ``size * binning``."""
    i = np.arange(offset * binning, (offset + size) * binning, dtype=np.int64)
    return total - 1 - i if reverse else i


def sensor_columns(s: ImageSettings, total: int = SENSOR_WIDTH) -> np.ndarray:
    return axis_indices(s.offset_x, s.width, s.binning_horizontal, total, s.reverse_x)


def sensor_rows(s: ImageSettings, total: int = SENSOR_HEIGHT) -> np.ndarray:
    return axis_indices(s.offset_y, s.height, s.binning_vertical, total, s.reverse_y)


def sensor_region(full: np.ndarray, s: ImageSettings) -> np.ndarray:
    """View (no copy) of the sensor pixels the ROI reads, in output order:
    shape (Height * BinningVertical, Width * BinningHorizontal)."""
    total_y, total_x = full.shape
    return full[axis_slice(s.offset_y, s.height, s.binning_vertical, total_y, s.reverse_y),
                axis_slice(s.offset_x, s.width, s.binning_horizontal, total_x, s.reverse_x)]


def bin_values(region: np.ndarray, s: ImageSettings, max_value: int) -> np.ndarray:
    """Bins a region of shape (rows * bv, Width * bh) to (rows, Width) uint16, saturating at
    ``max_value`` (see the module docstring)."""
    bh, bv = s.binning_horizontal, s.binning_vertical
    rows = region.shape[0] // bv
    if bh == bv == 1:
        total = region
    else:
        total = region.reshape(rows, bv, s.width, bh).sum(axis=(1, 3), dtype=np.int64)
        if s.average_pixels > 1:
            total = total // s.average_pixels
    return np.minimum(total, max_value).astype(np.uint16)


def apply_geometry(full: np.ndarray, s: ImageSettings, max_value: int) -> np.ndarray:
    """Reference: the (Height, Width) uint16 ROI of a full-sensor image of digital values."""
    return bin_values(sensor_region(full, s), s, max_value)
