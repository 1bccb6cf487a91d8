"""The sensor image (TestImageSelector Off): EMVA-style response, noise, geometry, buffers."""

from __future__ import annotations

import dataclasses
import math
import tracemalloc

import numpy as np
import pytest

from u3v_sim.frames import IMX255, ArraySource, FrameGenerator, ImageSettings, unpack
from u3v_sim.frames.sources import SyntheticScene

SW, SH = 4112, 2176
LEVELS = [0.0, 0.05, 0.1, 0.2, 0.25, 0.4, 0.8, 1.0]      # irradiance of columns x % 8


# Both sensor paths: "cached" (prebuilt noise realisations of the still image, the default)
# and "per-frame" (strips=0).
PATHS = {"cached": {}, "per-frame": {"strips": 0}}


@pytest.fixture(scope="module", params=list(PATHS))
def gen(request):
    """Scene: column x has irradiance LEVELS[x % 8] everywhere."""
    return FrameGenerator(ArraySource([np.array([LEVELS])], fit="none"), **PATHS[request.param])


def render(gen, s, k=1, t=0):
    data = gen.render(s, k, t)
    assert len(data) == s.payload_size
    return unpack(data, s.pixel_format, s.pixels).reshape(s.height, s.width).astype(np.int64)


def level(v, i, offset_x=0):
    """Pixels of irradiance LEVELS[i] in a frame whose first column is sensor column
    offset_x."""
    return v[:, (i - offset_x) % 8::8]


ROI = {"width": 1024, "height": 512, "offset_x": 0, "offset_y": 0}
M12 = ImageSettings(pixel_format="Mono12", **ROI)


def test_default_scene_at_default_settings_is_mid_gray():
    gen = FrameGenerator()
    s = ImageSettings()
    v = np.frombuffer(gen.render(s, 1, 0), np.uint8)
    assert 80 <= v.mean() <= 170, v.mean()
    assert (v == 255).mean() < 0.01 and (v == 0).mean() < 0.01
    assert v.std() > 20                                  # a scene, not a flat field


def test_mean_is_linear_in_exposure(gen):
    means = [level(render(gen, dataclasses.replace(M12, exposure_us=e)), 5).mean()
             for e in (1000.0, 2000.0, 4000.0)]
    assert means[1] / means[0] == pytest.approx(2, rel=0.02)
    assert means[2] / means[1] == pytest.approx(2, rel=0.02)
    assert means[2] == pytest.approx(IMX255.mean_dn(0.4, 4000.0), rel=0.01)


def test_mean_scales_with_gain_in_db(gen):
    s = dataclasses.replace(M12, exposure_us=1000.0)
    base = level(render(gen, s), 5).mean()
    for db in (6.0, 12.0):
        v = level(render(gen, dataclasses.replace(s, gain_db=db)), 5).mean()
        assert v / base == pytest.approx(10 ** (db / 20), rel=0.02)


def test_black_level_raises_the_dark_mean(gen):
    dark0 = level(render(gen, M12), 0).mean()
    dark30 = level(render(gen, dataclasses.replace(M12, black_level=30.0)), 0).mean()
    assert dark0 < 1.0
    assert dark30 - dark0 == pytest.approx(30, abs=1.5)


@pytest.mark.parametrize("fmt, top", [("Mono8", 255), ("Mono10", 1023), ("Mono10p", 1023),
                                      ("Mono12", 4095), ("Mono12p", 4095)])
def test_saturation_clips_at_the_format_max(gen, fmt, top):
    v = render(gen, dataclasses.replace(M12, pixel_format=fmt, gain_db=12.0))
    assert (level(v, 7) == top).all() and (level(v, 6) == top).all()
    assert v.max() == top
    v0 = render(gen, dataclasses.replace(M12, pixel_format=fmt))
    assert (level(v0, 6) < top).mean() > 0.99                 # 0.8 of full well: not clipped


def test_temporal_noise_grows_like_shot_noise(gen):
    a = render(gen, M12, k=1)
    b = render(gen, M12, k=2)
    diff = a - b
    sigma = {i: level(diff, i).std() / math.sqrt(2) for i in (2, 5)}
    for i, sig in sigma.items():
        expected = IMX255.temporal_noise_dn(LEVELS[i], M12.exposure_us)
        assert sig == pytest.approx(math.sqrt(expected ** 2 + 1 / 12), rel=0.1), i
    # 4x the signal, 2x the noise (shot-noise limited)
    assert sigma[5] / sigma[2] == pytest.approx(2.0, rel=0.1)
    assert abs(level(diff, 5).mean()) < 0.5                   # zero-mean noise


def test_noise_off_gives_identical_frames_and_noise_on_does_not(gen):
    quiet = dataclasses.replace(M12, noise=False)
    assert bytes(gen.render(quiet, 1, 0)) == bytes(gen.render(quiet, 2, 0))
    assert bytes(gen.render(M12, 1, 0)) != bytes(gen.render(M12, 2, 0))
    # the same frame index gives the same noise (reproducible)
    assert bytes(gen.render(M12, 5, 0)) == bytes(gen.render(M12, 5, 0))
    q = render(gen, quiet)
    assert (q == q[0]).all()                                   # uniform columns, no noise


def test_formats_are_the_12_bit_value_shifted(gen):
    quiet = dataclasses.replace(M12, noise=False, exposure_us=3000.0)
    v12 = render(gen, quiet)
    assert len(np.unique(v12)) > 4
    np.testing.assert_array_equal(render(gen, dataclasses.replace(quiet, pixel_format="Mono8")),
                                  v12 >> 4)
    for fmt in ("Mono10", "Mono10p"):
        np.testing.assert_array_equal(render(gen, dataclasses.replace(quiet, pixel_format=fmt)),
                                      v12 >> 2)
    np.testing.assert_array_equal(render(gen, dataclasses.replace(quiet, pixel_format="Mono12p")),
                                  v12)


def test_digital_shift_and_gamma(gen):
    quiet = dataclasses.replace(M12, noise=False)
    v = render(gen, quiet)
    shifted = render(gen, dataclasses.replace(quiet, digital_shift=1))
    np.testing.assert_array_equal(level(shifted, 3), np.minimum(level(v, 3) * 2, 4095))
    assert (level(shifted, 6) == 4095).all()                   # 2 x 0.8 saturates
    g = render(gen, dataclasses.replace(quiet, gamma=0.5))
    dn = level(v, 4)[0, 0]                                     # irradiance 0.25: ~1024 DN
    assert level(g, 4)[0, 0] == round(4095 * math.sqrt(dn / 4095))
    assert (level(g, 0) == 0).all() and (level(g, 7) == 4095).all()


@pytest.fixture(scope="module")
def scene_gen():
    return FrameGenerator(SyntheticScene(), max_plans=3)


@pytest.fixture(scope="module")
def per_frame_gen():
    """The per-frame path (no strip cache)."""
    return FrameGenerator(SyntheticScene(), max_plans=3, strips=0)


@pytest.mark.parametrize("path", ["cached", "per-frame"])
def test_sensor_roi_and_reverse_are_crops_of_the_full_frame(request, path):
    scene_gen = request.getfixturevalue("scene_gen" if path == "cached" else "per_frame_gen")
    full_s = ImageSettings(pixel_format="Mono12", noise=False, width=SW, height=SH, offset_x=0,
                           offset_y=0)
    t = 123_456_789
    full = render(scene_gen, full_s, t=t)
    for ox, oy, w, h, rx, ry in ((8, 4, 4096, 2168, False, False), (100, 50, 1000, 500, True, False),
                                 (36, 20, 64, 6, False, True), (400, 300, 16, 2, True, True)):
        s = dataclasses.replace(full_s, offset_x=ox, offset_y=oy, width=w, height=h,
                                reverse_x=rx, reverse_y=ry)
        mirrored = full[::-1 if ry else 1, ::-1 if rx else 1]
        np.testing.assert_array_equal(render(scene_gen, s, t=t), mirrored[oy:oy + h, ox:ox + w])


def test_synthetic_scene_moves_with_time():
    scene = SyntheticScene(speed_px_per_s=240.0)
    a = scene.frame(0, 1_000_000_000)
    b = scene.frame(99, 2_000_000_000)                         # one second later: 240 rows down
    np.testing.assert_array_equal(b[240:], a[:-240])
    assert not np.array_equal(a, b)
    assert a.shape == (SH, SW) and a.dtype == np.uint16 and not a.flags.writeable
    assert (a & 0xF == 0).all()                                # scene values keep 4 low bits free


@pytest.fixture(scope="module", params=list(PATHS))
def blocky(request):
    """A scene constant over aligned 2x2 blocks (random levels up to 0.2)."""
    rng = np.random.default_rng(3)
    small = rng.uniform(0, 0.2, (SH // 2, SW // 2))
    return FrameGenerator(ArraySource([np.kron(small, np.ones((2, 2)))], fit="none"),
                          max_plans=3, **PATHS[request.param])


def test_binning_average_and_sum_on_the_sensor_image(blocky):
    s = ImageSettings(pixel_format="Mono12", noise=False, width=2048, height=1024, offset_x=20,
                      offset_y=12)
    unbinned = render(blocky, s)
    b = dataclasses.replace(s, width=1024, height=512, offset_x=10, offset_y=6,
                            binning_horizontal=2, binning_vertical=2)
    avg = render(blocky, dataclasses.replace(b, binning_horizontal_mode="Average",
                                             binning_vertical_mode="Average"))
    np.testing.assert_array_equal(avg, unbinned[::2, ::2])
    summed = render(blocky, b)
    four_times = render(blocky, dataclasses.replace(s, exposure_us=4 * s.exposure_us))
    assert np.abs(summed - four_times[::2, ::2]).max() <= 1


def test_binning_sum_adds_noise_variance(blocky):
    s = ImageSettings(pixel_format="Mono12", width=512, height=512, offset_x=0, offset_y=0,
                      binning_horizontal=2, binning_vertical=2)
    one = ImageSettings(pixel_format="Mono12", width=1024, height=1024, offset_x=0, offset_y=0)
    var_sum = (render(blocky, s, k=1) - render(blocky, s, k=2)).var()
    var_one = (render(blocky, one, k=1) - render(blocky, one, k=2)).var()
    assert var_sum / var_one == pytest.approx(4, rel=0.15)     # 4 pixels' noise added
    avg = dataclasses.replace(s, binning_horizontal_mode="Average",
                              binning_vertical_mode="Average")
    var_avg = (render(blocky, avg, k=1) - render(blocky, avg, k=2)).var()
    assert var_avg / var_one < 0.4                              # averaging reduces noise


def test_per_frame_path_reuses_its_buffer_and_allocates_no_frame(per_frame_gen):
    scene_gen = per_frame_gen
    s = ImageSettings()                                         # Mono8, full default ROI
    assert not scene_gen.views_stable(s)
    first = scene_gen.render(s, 1, 0)
    a = np.frombuffer(first, np.uint8)
    second = scene_gen.render(s, 2, 50_000_000)
    b = np.frombuffer(second, np.uint8)
    assert a.ctypes.data == b.ctypes.data and first.obj is second.obj
    assert first.readonly
    for fmt in ("Mono12p", "Mono10"):
        s2 = dataclasses.replace(s, pixel_format=fmt, binning_horizontal=2, width=2048)
        scene_gen.render(s2, 1, 0)
        tracemalloc.start()
        try:
            for k in range(3):
                scene_gen.render(s2, k, k * 23_000_000)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000, (fmt, peak)                    # a frame is 4-9 MB


def test_binning_by_three_and_four_on_known_levels(gen):
    quiet = dataclasses.replace(M12, noise=False, exposure_us=2000.0)
    unbinned = render(gen, quiet)
    tall = render(gen, dataclasses.replace(quiet, binning_vertical=3, height=300,
                                           binning_vertical_mode="Average"))
    np.testing.assert_array_equal(tall, unbinned[:300])       # equal rows: average = same
    wide = render(gen, dataclasses.replace(quiet, binning_horizontal=4, width=256))
    for x, levels in ((0, LEVELS[:4]), (1, LEVELS[4:])):
        # Sum of 4 pixels: 4 x the mean of their codes (floored), noise free
        code = sum(round(v * 4095) for v in levels) // 4
        expected = 4 * IMX255.mean_dn(code / 4095, quiet.exposure_us)
        assert abs(wide[0, x] - min(4095, round(expected))) <= 1, (x, wide[0, x], expected)


@pytest.mark.parametrize("w, h", [(17, 9), (1021, 300), (4112, 8)])
def test_packed_sensor_frames_hold_the_container_values(gen, w, h):
    """Packing runs chunk by chunk on the hot path; odd widths end chunks mid-byte-group."""
    s = ImageSettings(width=w, height=h, offset_x=0, offset_y=0)
    for packed, container in (("Mono10p", "Mono10"), ("Mono12p", "Mono12")):
        a = render(gen, dataclasses.replace(s, pixel_format=packed), k=4)
        b = render(gen, dataclasses.replace(s, pixel_format=container), k=4)
        np.testing.assert_array_equal(a, b)
