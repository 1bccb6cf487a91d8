"""Test images through FrameGenerator: payload sizes, ROI/offset, ReverseX/Y, binning, motion,
independence from exposure and gain; the prebuilt fast paths against a slow reference."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from u3v_sim.frames import FORMATS, FrameGenerator, ImageSettings, unpack
from u3v_sim.frames.testimages import reference_test_image, sensor_test_image

SW, SH = 4112, 2176
FULL = {"width": SW, "height": SH, "offset_x": 0, "offset_y": 0}
TEST_IMAGES = [f"Testimage{i}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def gen():
    # test images never touch the source: a generator without one would build a SyntheticScene
    return FrameGenerator(max_plans=4)


def values(gen, s, k=0):
    data = gen.render(s, k, 0)
    assert len(data) == s.payload_size
    return unpack(data, s.pixel_format, s.pixels).reshape(s.height, s.width)


@pytest.fixture(scope="module")
def full_sensor(gen):
    """Whole-sensor renders (Mono12) of every test image at frames 0 and 5."""
    out = {}
    for name in TEST_IMAGES:
        for k in (0, 5):
            s = ImageSettings(pixel_format="Mono12", test_image=name, **FULL)
            out[name, k] = values(gen, s, k)
    return out


def test_hand_computed_values(gen):
    s = ImageSettings(pixel_format="Mono12", test_image="Testimage1", width=400, height=8,
                      offset_x=8, offset_y=4)
    v = values(gen, s)
    assert v[0, 0] == 12 and v[0, 1] == 13 and v[1, 0] == 13          # (x + y) mod 256
    assert v[0, 255 - 12] == 255 and v[0, 256 - 12] == 0              # 8-bit values wrap
    s4 = dataclasses.replace(s, test_image="Testimage4", width=SW, offset_x=0)
    ramp = values(gen, s4)[0]
    assert ramp[0] == 0 and ramp[-1] == 4095 and (np.diff(ramp.astype(int)) >= 0).all()
    s6 = dataclasses.replace(s, test_image="Testimage6", pixel_format="Mono8", offset_x=0,
                             offset_y=0, width=256, height=128)
    board = values(gen, s6)
    assert board[0, 0] == 0 and board[0, 64] == 255 and board[64, 0] == 255
    assert board[64, 64] == 0
    s5 = dataclasses.replace(s6, test_image="Testimage5", pixel_format="Mono10")
    bars = values(gen, s5, k=0)
    assert (bars[:, :64] == 1023).all() and (bars[:, 64:128] == 0).all()


@pytest.mark.parametrize("name", TEST_IMAGES)
def test_full_sensor_render_matches_the_pattern(full_sensor, name):
    for k in (0, 5):
        np.testing.assert_array_equal(full_sensor[name, k], sensor_test_image(name, k, "Mono12"))


@pytest.mark.parametrize("name", TEST_IMAGES)
def test_roi_is_a_crop_of_the_full_sensor_image(gen, full_sensor, name):
    for ox, oy, w, h in ((8, 4, 4096, 2168), (100, 50, 1000, 500), (0, 0, 16, 2),
                         (4112 - 64, 2176 - 6, 64, 6)):
        s = ImageSettings(pixel_format="Mono12", test_image=name, offset_x=ox, offset_y=oy,
                          width=w, height=h)
        for k in (0, 5):
            np.testing.assert_array_equal(values(gen, s, k),
                                          full_sensor[name, k][oy:oy + h, ox:ox + w])


@pytest.mark.parametrize("name", TEST_IMAGES)
def test_reverse_mirrors_then_crops(gen, full_sensor, name):
    """ReverseX/Y mirror the sensor image; the ROI stays at the same (mirrored) position."""
    ox, oy, w, h = 100, 50, 1000, 500
    for rx, ry in ((True, False), (False, True), (True, True)):
        s = ImageSettings(pixel_format="Mono12", test_image=name, offset_x=ox, offset_y=oy,
                          width=w, height=h, reverse_x=rx, reverse_y=ry)
        for k in (0, 5):
            mirrored = full_sensor[name, k][::-1 if ry else 1, ::-1 if rx else 1]
            np.testing.assert_array_equal(values(gen, s, k), mirrored[oy:oy + h, ox:ox + w])


def test_full_frame_reverse_is_an_exact_mirror(gen, full_sensor):
    s = ImageSettings(pixel_format="Mono12", test_image="Testimage4", reverse_x=True, **FULL)
    np.testing.assert_array_equal(values(gen, s), full_sensor["Testimage4", 0][:, ::-1])


def test_binning_sum_and_average_values(gen):
    base = ImageSettings(test_image="Testimage1", offset_x=0, offset_y=0, width=64, height=4,
                         binning_horizontal=2, binning_vertical=2)
    v = values(gen, dataclasses.replace(base, pixel_format="Mono12"))
    # block (x, y) covers sensor (2x..2x+1, 2y..2y+1): 4 * (2x + 2y) + 4 before wrapping
    assert v[0, 0] == 0 + 1 + 1 + 2
    assert v[1, 3] == (6 + 2) + (7 + 2) + (6 + 3) + (7 + 3)
    assert v[0, 50] == 100 + 101 + 101 + 102
    mono8 = values(gen, dataclasses.replace(base, pixel_format="Mono8"))
    assert mono8[0, 0] == 4 and mono8[0, 50] == 255                    # Sum saturates
    avg = values(gen, dataclasses.replace(base, pixel_format="Mono8",
                                          binning_horizontal_mode="Average",
                                          binning_vertical_mode="Average"))
    assert avg[0, 0] == 1 and avg[0, 50] == 101                        # 404 // 4
    mixed = values(gen, dataclasses.replace(base, pixel_format="Mono12",
                                            binning_vertical_mode="Average"))
    assert mixed[0, 50] == 404 // 2                                    # sum of 4, / 2 rows
    full = sensor_test_image("Testimage1", 0, "Mono12").astype(np.int64)
    blocks = full[:8, :128].reshape(4, 2, 64, 2).sum(axis=(1, 3))
    np.testing.assert_array_equal(v, blocks)


def test_binned_roi_offsets_are_in_binned_pixels(gen):
    s = ImageSettings(pixel_format="Mono12", test_image="Testimage4", binning_horizontal=4,
                      binning_horizontal_mode="Average", offset_x=10, width=1000, offset_y=0,
                      height=2)
    full = sensor_test_image("Testimage4", 0, "Mono12").astype(np.int64)
    expected = full[:2, 40:4040].reshape(2, 1000, 4).sum(axis=2) // 4
    np.testing.assert_array_equal(values(gen, s), expected)


@pytest.mark.parametrize("name", ["Testimage2", "Testimage3"])
def test_moving_gradients_move_one_pixel_per_frame(gen, name):
    s = ImageSettings(pixel_format="Mono12", test_image=name, width=512, height=64)
    frames = [values(gen, s, k) for k in (0, 1, 2)]
    for a, b in itertools.pairwise(frames):
        np.testing.assert_array_equal(b[:, :-1], a[:, 1:])   # frame k+1 = frame k moved left
        np.testing.assert_array_equal(b[:-1], a[1:])          # (= moved up: diagonal)
        assert not np.array_equal(a, b)
    period = 256 if name == "Testimage2" else 4096
    np.testing.assert_array_equal(values(gen, s, period), frames[0])


def test_moving_bars_move_right(gen):
    s = ImageSettings(pixel_format="Mono8", test_image="Testimage5", width=512, height=16)
    a, b = values(gen, s, 7), values(gen, s, 8)
    np.testing.assert_array_equal(b[:, 1:], a[:, :-1])
    assert not np.array_equal(a, b)
    assert (a == a[0]).all()                                   # vertical bars: rows equal
    np.testing.assert_array_equal(values(gen, s, 7 + 128), a)


def test_fixed_images_do_not_move(gen):
    for name in ("Testimage1", "Testimage4", "Testimage6"):
        s = ImageSettings(test_image=name, width=256, height=16)
        assert bytes(gen.render(s, 0, 0)) == bytes(gen.render(s, 17, 10**9))


@pytest.mark.parametrize("name", TEST_IMAGES)
def test_test_images_ignore_exposure_gain_and_noise(gen, name):
    s = ImageSettings(test_image=name, pixel_format="Mono12p", width=400, height=40)
    reference = bytes(gen.render(s, 3, 0))
    for change in ({"exposure_us": 100.0}, {"gain_db": 12.0}, {"black_level": 30.0},
                   {"gamma": 0.5}, {"digital_shift": 2}, {"noise": False}):
        assert bytes(gen.render(dataclasses.replace(s, **change), 3, 0)) == reference, change


@pytest.mark.parametrize("name", TEST_IMAGES)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_values_stay_in_the_format_range(gen, name, fmt):
    s = ImageSettings(test_image=name, pixel_format=fmt, width=1024, height=8,
                      binning_horizontal=2, offset_x=1000)
    v = values(gen, s, 9)
    assert v.max() <= FORMATS[fmt].max_value
    if name not in ("Testimage1", "Testimage2"):     # these stay 8-bit in every format
        assert v.max() > 255 or fmt == "Mono8"


CASES = [
    ImageSettings(test_image="Testimage2", pixel_format="Mono10p", width=1000, height=30,
                  offset_x=12, offset_y=600, binning_vertical=3, reverse_y=True),
    ImageSettings(test_image="Testimage3", pixel_format="Mono12p", width=302, height=41,
                  offset_x=3, offset_y=7, binning_horizontal=3, binning_vertical=2,
                  binning_vertical_mode="Average", reverse_x=True),
    ImageSettings(test_image="Testimage3", pixel_format="Mono10p", width=17, height=5,
                  offset_x=5, offset_y=2, reverse_y=True),           # rows end mid-byte
    ImageSettings(test_image="Testimage2", pixel_format="Mono12p", width=33, height=3),
    ImageSettings(test_image="Testimage5", pixel_format="Mono10p", width=21, height=3,
                  offset_x=7, binning_horizontal=2, binning_vertical=4, reverse_x=True),
    ImageSettings(test_image="Testimage5", pixel_format="Mono8", width=100, height=7,
                  binning_vertical=2, binning_vertical_mode="Average"),
    ImageSettings(test_image="Testimage6", pixel_format="Mono12p", width=99, height=9,
                  offset_x=60, offset_y=60, binning_horizontal=4, binning_vertical=4,
                  reverse_x=True, reverse_y=True),
    ImageSettings(test_image="Testimage1", pixel_format="Mono10", width=1028, height=544,
                  offset_x=0, offset_y=0, binning_horizontal=4, binning_vertical=4),
]


@pytest.mark.parametrize("s", CASES)
def test_fast_paths_match_the_reference(gen, s):
    for k in (0, 1, 2, 1001, -3):
        np.testing.assert_array_equal(values(gen, s, k), reference_test_image(s, k), err_msg=k)


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("roi", [(4096, 2168, 8, 4), (4112, 2176, 0, 0), (16, 2, 0, 0),
                                 (17, 3, 1, 1), (1234, 567, 100, 200), (4, 1, 4108, 2175)])
def test_payload_size_is_the_rendered_length(gen, fmt, roi):
    w, h, ox, oy = roi
    s = ImageSettings(pixel_format=fmt, test_image="Testimage1", width=w, height=h,
                      offset_x=ox, offset_y=oy)
    expected = -(-w * h * FORMATS[fmt].bits // 8)
    assert gen.payload_size(s) == expected
    assert len(gen.render(s, 0, 0)) == expected
    assert len(gen.render(dataclasses.replace(s, test_image="Testimage5"), 0, 0)) == expected


def test_invalid_settings_raise(gen):
    with pytest.raises(ValueError, match="exceeds"):
        gen.render(ImageSettings(offset_x=100), 0, 0)
    with pytest.raises(ValueError, match="exceeds"):
        gen.render(ImageSettings(binning_vertical=2), 0, 0)
    with pytest.raises(ValueError, match="unknown pixel format"):
        gen.render(ImageSettings(pixel_format="RGB8"), 0, 0)
    with pytest.raises(ValueError, match="unknown test image"):
        gen.render(ImageSettings(test_image="Testimage7"), 0, 0)
