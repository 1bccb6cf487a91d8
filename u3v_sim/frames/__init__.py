"""Frame generation for the simulated acA4096-40um: pure computation, no I/O except reading
image files.

- :mod:`.settings` — :class:`ImageSettings`, the image-relevant feature values.
- :mod:`.generator` — :class:`FrameGenerator`, the payload bytes of one frame.
- :mod:`.sources` — scenes: :class:`SyntheticScene` (default), :class:`FileSource`.
- :mod:`.sensor` — :class:`SensorModel` (the IMX255's figures) and the response table.
- :mod:`.testimages` — the six Basler-style test images.
- :mod:`.geometry` — reverse, binning and ROI.
- :mod:`.pixel_formats` — PFNC codes, Mono10p/Mono12p packing and unpacking.
- :mod:`.snapshot` — a frame saved as a PNG file.
"""

from .generator import FrameGenerator
from .pixel_formats import FORMATS, PixelFormat, pack, payload_size, unpack
from .sensor import IMX255, SensorModel
from .settings import TEST_IMAGES, ImageSettings
from .sources import ArraySource, FileSource, ImageSource, SyntheticScene

__all__ = [
    "FORMATS", "IMX255", "TEST_IMAGES", "ArraySource", "FileSource", "FrameGenerator",
    "ImageSettings", "ImageSource", "PixelFormat", "SensorModel", "SyntheticScene", "pack",
    "payload_size", "unpack",
]
