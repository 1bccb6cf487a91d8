"""Image sources: files and folders (PNG, TIFF, .npy), fitting to the sensor, looping, errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from u3v_sim.frames import ArraySource, FileSource, FrameGenerator, ImageSettings, unpack
from u3v_sim.frames.sensor import scene_values
from u3v_sim.frames.sources import to_scene_values

SW, SH = 4112, 2176


def codes(frame) -> np.ndarray:
    """Scene values -> 12-bit codes."""
    return np.asarray(frame) >> 4


def test_png_loads_and_tiles_pixel_exact(tmp_path):
    img = (np.arange(64 * 32).reshape(32, 64) % 251).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    src = FileSource(tmp_path / "a.png", fit="none")
    frame = src.frame(0, 0)
    assert frame.shape == (SH, SW) and frame.dtype == np.uint16 and not frame.flags.writeable
    expected = np.rint(np.tile(img, (SH // 32, -(-SW // 64)))[:, :SW] / 255 * 4095)
    np.testing.assert_array_equal(codes(frame), expected)


def test_16_bit_png_and_tiff(tmp_path):
    img = np.linspace(0, 65535, 200 * 100).reshape(100, 200).astype(np.uint16)
    Image.fromarray(img).save(tmp_path / "deep.png")
    Image.fromarray(img).save(tmp_path / "deep.tif")
    for name in ("deep.png", "deep.tif"):
        frame = FileSource(tmp_path / name, fit="none").frame(0, 0)
        # (float32 conversion: a code may round the other way at exactly .5)
        np.testing.assert_allclose(codes(frame)[:100, :200], np.rint(img / 65535 * 4095), atol=1)


def test_colour_png_becomes_luma(tmp_path):
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 1] = 255                                         # pure green: luma 0.587
    Image.fromarray(rgb).save(tmp_path / "green.png")
    frame = FileSource(tmp_path / "green.png").frame(0, 0)
    assert abs(codes(frame).mean() / 4095 - 0.587) < 0.01


def test_npy_float_and_stack_and_large_image_crop(tmp_path):
    big = np.random.default_rng(0).integers(0, 256, (SH + 24, SW + 88), dtype=np.uint8)
    np.save(tmp_path / "big.npy", big)
    frame = FileSource(tmp_path / "big.npy", fit="none").frame(0, 0)
    np.testing.assert_array_equal(frame, scene_values(big[12:12 + SH, 44:44 + SW] / 255))
    stack = np.stack([np.full((8, 8), v) for v in (0.0, 0.5, 1.0)])   # (N, H, W)
    np.save(tmp_path / "stack.npy", stack)
    src = FileSource(tmp_path / "stack.npy", fit="none")
    assert len(src) == 3
    assert [int(codes(src.frame(k, 0))[0, 0]) for k in range(4)] == [0, 2048, 4095, 0]


def test_folder_loops_in_sorted_name_order(tmp_path):
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "b.png")
    np.save(tmp_path / "a.npy", np.zeros((8, 8), np.float32))
    Image.fromarray(np.full((8, 8), 51, np.uint8)).save(tmp_path / "c.tiff")
    (tmp_path / "notes.txt").write_text("not an image")
    src = FileSource(tmp_path, fit="none")
    assert [p.name for p in src.files] == ["a.npy", "b.png", "c.tiff"]
    firsts = [int(codes(src.frame(k, 10**9 * k))[5, 5]) for k in range(7)]
    assert firsts == [0, 4095, 819, 0, 4095, 819, 0]


def test_resize_stretch_and_cover(tmp_path):
    # left half dark, right half bright, a tenth of the sensor's size
    img = np.zeros((217, 411), np.uint8)
    img[:, 206:] = 200
    Image.fromarray(img).save(tmp_path / "halves.png")
    for fit in ("stretch", "cover"):
        frame = codes(FileSource(tmp_path / "halves.png", fit=fit).frame(0, 0))
        assert frame.shape == (SH, SW)
        assert (frame[:, :1900] == 0).all()
        assert (frame[:, 2200:] == round(200 / 255 * 4095)).all()
    # cover keeps the aspect ratio: a square image covers the width and is cropped in height
    square = np.zeros((100, 100), np.float32)
    square[:50] = 1.0                                          # top half bright
    frame = codes(to_scene_values(square, "cover"))
    assert frame[0, 0] == 4095 and frame[-1, 0] == 0          # cropped to the centre rows
    assert (frame[:SH // 2 - 50] == 4095).all() and (frame[SH // 2 + 50:] == 0).all()


def test_file_source_renders_through_the_generator(tmp_path):
    img = np.zeros((SH, SW), np.float32)
    img[:, 2000:] = 0.5
    img[1000:, :] += 0.25
    np.save(tmp_path / "scene.npy", img)
    gen = FrameGenerator(FileSource(tmp_path / "scene.npy"))
    s = ImageSettings(pixel_format="Mono12", noise=False, width=400, height=200,
                      offset_x=1800, offset_y=900)
    v = unpack(gen.render(s, 0, 0), "Mono12", s.pixels).reshape(200, 400)
    # ROI columns 1800..2199 and rows 900..1099 of the file
    expected = gen.lut(s)[scene_values(img[900:1100, 1800:2200])]
    np.testing.assert_array_equal(v, expected)
    assert v[0, 0] < v[0, 399] < v[199, 399] and v[0, 0] < v[199, 0]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.png", "no such file or folder"),
    (lambda p: p, "holds no image files"),
])
def test_missing_path_or_empty_folder(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        FileSource(make(tmp_path))


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no image files"):
        FileSource(tmp_path)


@pytest.mark.parametrize("name, content", [
    ("broken.png", b"\x89PNG\r\n\x1a\nnot really"),
    ("broken.npy", b"garbage"),
    ("broken.tif", b""),
])
def test_unreadable_file(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=f"cannot read image file .*{name}"):
        FileSource(tmp_path / name)
    with pytest.raises(ValueError, match=f"cannot read image file .*{name}"):
        FileSource(tmp_path)


def test_npy_of_the_wrong_shape(tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="cannot read image file .*shape"):
        FileSource(tmp_path / "cube.npy")


def test_array_source_and_bad_fit():
    with pytest.raises(ValueError, match="fit must be"):
        ArraySource([np.zeros((4, 4))], fit="zoom")
    with pytest.raises(ValueError, match="no images"):
        ArraySource([])


def test_a_folder_names_the_file_whose_pixels_it_refuses(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((8, 8), np.uint8))
    np.save(tmp_path / "b.npy", np.full((8, 8), 255))               # int64: no full scale
    with pytest.raises(ValueError) as refused:
        FileSource(tmp_path)
    assert str(refused.value).startswith(f"cannot read image file {tmp_path / 'b.npy'}: int64")
