"""Snapshots: a frame saved as PNG holds the rendered pixel values."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PIL import Image

from u3v_sim.frames import FrameGenerator, ImageSettings
from u3v_sim.frames.snapshot import save_png, write_png
from u3v_sim.frames.testimages import reference_test_image


def test_write_png_8_and_16_bit(tmp_path):
    v = np.arange(12, dtype=np.uint16).reshape(3, 4) * 300
    write_png(v, 12, tmp_path / "a.png")
    back = np.asarray(Image.open(tmp_path / "a.png")).astype(np.int64)
    np.testing.assert_array_equal(back >> 4, v)
    write_png(v % 256, 8, tmp_path / "b.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "b.png")), v % 256)


def test_pixels_is_a_copy_of_the_frame():
    gen = FrameGenerator()
    s = ImageSettings(test_image="Testimage2", pixel_format="Mono10p", width=64, height=8)
    a = gen.pixels(s, 3, 0)
    gen.render(s, 4, 0)
    np.testing.assert_array_equal(a, reference_test_image(s, 3))


def test_save_png_renders_the_record(tmp_path):
    settings = {"Width": 256, "Height": 16, "OffsetX": 0, "OffsetY": 0,
                "BinningHorizontal": 1, "BinningVertical": 1, "BinningHorizontalMode": "Sum",
                "BinningVerticalMode": "Sum", "ReverseX": False, "ReverseY": False,
                "PixelFormat": "Mono12p", "ExposureTime": 5000.0, "Gain": 0.0,
                "BlackLevel": 0.0, "Gamma": 1.0, "DigitalShift": 0,
                "TestImageSelector": "Testimage1"}
    blocks = SimpleNamespace(generator=FrameGenerator(), noise=True)
    record = SimpleNamespace(settings=settings, block_id=1, timestamp_ns=0)
    path = save_png(blocks, record, tmp_path / "snap.png")
    back = np.asarray(Image.open(path)).astype(np.int64) >> 4
    s = ImageSettings(width=256, height=16, offset_x=0, offset_y=0, pixel_format="Mono12p",
                      test_image="Testimage1")
    np.testing.assert_array_equal(back, reference_test_image(s, 1))


def test_pixels_leaves_the_render_buffer_alone():
    gen = FrameGenerator()
    s = ImageSettings(test_image="Testimage5", width=64, height=4)
    view = gen.render(s, 1, 0)
    before = bytes(view)
    gen.pixels(s, 2, 0)
    assert bytes(view) == before
