"""The cached sensor path: frames as zero-copy slices of prebuilt strips (see
u3v_sim.frames.generator): geometry, noise, view stability, rebuilds, the memory cap."""

from __future__ import annotations

import dataclasses
import math
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from u3v_sim.frames import IMX255, ArraySource, FileSource, FrameGenerator, ImageSettings, unpack
from u3v_sim.frames.generator import CachedSensorPlan, SensorPlan, strip_noise_offset
from u3v_sim.frames.geometry import sensor_region
from u3v_sim.frames.sources import ImageSource, SyntheticScene

SW, SH = 4112, 2176
SPEED = 1000.0                       # px/s: rows_moved(t) == t // 1 ms, exactly
MS = 1_000_000


def rows_t(rows: int) -> int:
    """A timestamp at which the belt has moved ``rows`` rows."""
    return rows * MS


@pytest.fixture(scope="module")
def scene():
    return SyntheticScene(speed_px_per_s=SPEED)


def values(data, s: ImageSettings) -> np.ndarray:
    assert len(data) == s.payload_size
    return unpack(data, s.pixel_format, s.pixels).reshape(s.height, s.width).astype(np.int64)


def small(**kw) -> ImageSettings:
    base = {"width": 256, "height": 96, "offset_x": 40, "offset_y": 30, "pixel_format": "Mono12"}
    base.update(kw)
    return ImageSettings(**base)


def mean_binned(region: np.ndarray, s: ImageSettings) -> np.ndarray:
    """Reference binning as the generator's table wants it: the block's mean scene value."""
    bh, bv = s.binning_horizontal, s.binning_vertical
    total = region.reshape(s.height, bv, s.width, bh).sum(axis=(1, 3), dtype=np.int64)
    return (total // (bh * bv * 16) << 4).astype(np.int64)


def reference(gen: FrameGenerator, s: ImageSettings, k: int, t: int) -> np.ndarray:
    """What the cached path should give for a belt frame, computed independently: the scene
    scrolled by whole binned rows, ROI, binning, the noise of strip k % K read from the noise
    field at the strip's offset plus the frame's first strip row, the response table."""
    src = gen.source
    bv = s.binning_vertical
    q = src.rows_moved(t) // bv
    scene = np.roll(src.loop(), q * bv, axis=0)        # scene[r] = loop[(r - q * bv) % P]
    binned = mean_binned(sensor_region(scene, s), s)
    if s.noise:
        loop_rows = math.lcm(src.scroll_period, bv) // bv
        start = (s.offset_y + q if s.reverse_y else s.offset_y - q) % loop_rows
        field = gen.noise_field()
        first = strip_noise_offset(gen.seed, k % gen.strips) % field.size + start * s.width
        noise = field[(first + np.arange(s.pixels)) % field.size].reshape(s.height, s.width)
        binned |= noise
    return gen.lut(s)[binned].astype(np.int64)


# -- geometry and values --------------------------------------------------------------------

GEOMETRIES = [
    {},
    {"reverse_y": True},
    {"reverse_x": True, "reverse_y": True, "offset_x": 3000},
    {"binning_horizontal": 2, "binning_vertical": 2, "offset_y": 500},
    {"binning_vertical": 2, "reverse_y": True, "binning_vertical_mode": "Average"},
    {"binning_vertical": 3, "binning_horizontal": 1, "height": 50},   # lcm(2176, 3) loop
    {"binning_horizontal": 4, "binning_vertical": 4, "reverse_y": True, "height": 40},
    {"width": 4112, "height": 12, "offset_x": 0, "offset_y": 2164},   # last sensor rows
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: ",".join(g) or "plain")
def test_noise_free_cached_frames_equal_the_per_frame_path(scene, geometry):
    s = small(noise=False, **geometry)
    cached = FrameGenerator(scene)
    per_frame = FrameGenerator(scene, strips=0)
    assert cached.cached(s) and isinstance(cached.plan(s), CachedSensorPlan)
    assert isinstance(per_frame.plan(s), SensorPlan)
    bv = s.binning_vertical
    # scrolls that are whole binned rows (the cached path's quantum), incl. whole loops
    for k, rows in enumerate((0, bv, 7 * bv, 1000 * bv, 2176 * bv, 2176 * bv + 5 * bv,
                              123_456 * bv)):
        t = rows_t(rows)
        assert bytes(cached.render(s, k, t)) == bytes(per_frame.render(s, k, t)), rows


@pytest.mark.parametrize("geometry", GEOMETRIES[:5], ids=lambda g: ",".join(g) or "plain")
def test_cached_frames_are_the_scene_plus_the_strips_noise(scene, geometry):
    s = small(**geometry)
    gen = FrameGenerator(scene, seed=7)
    for k, t in ((0, 0), (1, rows_t(5)), (2, rows_t(2170)), (3, rows_t(4000)), (9, 10**10),
                 (6, 123_456_789)):                   # a timestamp between rows
        np.testing.assert_array_equal(values(gen.render(s, k, t), s), reference(gen, s, k, t))


@pytest.mark.parametrize("fmt", ["Mono8", "Mono10", "Mono10p", "Mono12", "Mono12p"])
def test_every_format_matches_the_reference(scene, fmt):
    s = small(pixel_format=fmt, width=4112, height=8, offset_x=0, offset_y=7)
    gen = FrameGenerator(scene)
    assert gen.cached(s)
    t = rows_t(777)
    np.testing.assert_array_equal(values(gen.render(s, 5, t), s), reference(gen, s, 5, t))


def strip_of(view: memoryview) -> np.ndarray:
    return view.obj


@pytest.mark.parametrize("reverse_y", [False, True])
@pytest.mark.parametrize("fmt", ["Mono8", "Mono12p"])
def test_a_frame_is_rows_of_its_strip_and_frames_scroll(scene, reverse_y, fmt):
    s = small(pixel_format=fmt, reverse_y=reverse_y)
    gen = FrameGenerator(scene)
    row_bytes = s.width * s.format.bits // 8
    views = [gen.render(s, k, rows_t(3 * k)) for k in range(2 * gen.strips)]
    for k, v in enumerate(views):
        strip = strip_of(v)
        assert isinstance(strip, np.ndarray) and not strip.flags.writeable
        assert v.readonly and v.contiguous and len(v) == s.payload_size
        start = (np.frombuffer(v, np.uint8).ctypes.data - strip.ctypes.data)
        assert start % row_bytes == 0
        q = 3 * k
        assert start // row_bytes == (s.offset_y + q if reverse_y else s.offset_y - q) % SH
    # frame k and k + K share a strip: the belt moved 3 K rows down between them (up when
    # mirrored), so the same pixels (noise included) appear 3 K rows further on
    d = 3 * gen.strips
    for k in range(gen.strips):
        assert strip_of(views[k]) is strip_of(views[k + gen.strips])
        a, b = values(views[k], s), values(views[k + gen.strips], s)
        if reverse_y:
            np.testing.assert_array_equal(b[:-d], a[d:])
        else:
            np.testing.assert_array_equal(b[d:], a[:-d])
    assert len({id(strip_of(v)) for v in views}) == gen.strips     # K realisations


def test_binned_frames_scroll_in_binned_rows(scene):
    s = small(binning_horizontal=2, binning_vertical=2, reverse_y=True)
    gen = FrameGenerator(scene)
    a = values(gen.render(s, 0, rows_t(100)), s)
    # 10 sensor rows = 5 binned rows; 11 rows quantise to 5 as well
    for rows in (110, 111):
        b = values(gen.render(s, gen.strips, rows_t(rows)), s)
        np.testing.assert_array_equal(b[:-5], a[5:])


def test_the_belt_looks_as_it_did(scene):
    """Same image statistics and temporal noise as the per-frame path."""
    s = small(width=2048, height=512, offset_x=1000, offset_y=800)
    cached = FrameGenerator(scene)
    per_frame = FrameGenerator(scene, strips=0)
    a = values(cached.render(s, 0, rows_t(40)), s)
    b = values(cached.render(s, 1, rows_t(46)), s)           # next frame: 6 rows further
    c = values(per_frame.render(s, 0, rows_t(40)), s)
    assert a.mean() == pytest.approx(c.mean(), rel=0.002)
    assert a.std() == pytest.approx(c.std(), rel=0.01)
    # the same scene rows in consecutive frames differ by independent noise
    diff = (b[6:] - a[:-6]).astype(np.float64)
    noise = (values(per_frame.render(s, 1, rows_t(46)), s)[6:] - c[:-6]).astype(np.float64)
    assert abs(diff.mean()) < 0.3
    assert diff.std() == pytest.approx(noise.std(), rel=0.05)


# -- still images ---------------------------------------------------------------------------

def flat_png(path, value: int = 102) -> None:
    Image.fromarray(np.full((64, 64), value, np.uint8)).save(path)


def test_still_image_has_temporal_noise_of_the_model(tmp_path):
    flat_png(tmp_path / "flat.png")                           # irradiance 0.4
    gen = FrameGenerator(FileSource(tmp_path / "flat.png"))
    s = small(width=1024, height=512)
    assert gen.cached(s)
    frames = [values(gen.render(s, k, k * 23 * MS), s) for k in range(2 * gen.strips)]
    expected = math.sqrt(IMX255.temporal_noise_dn(102 / 255, s.exposure_us) ** 2 + 1 / 12)
    for k in range(gen.strips - 1):
        diff = frames[k + 1] - frames[k]
        assert diff.std() / math.sqrt(2) == pytest.approx(expected, rel=0.15)
        assert abs(diff.mean()) < 0.5
    # the documented trade-off: the noise repeats every K frames
    for k in range(gen.strips):
        np.testing.assert_array_equal(frames[k + gen.strips], frames[k])


def test_still_image_frames_are_the_per_frame_image_with_strip_noise(tmp_path):
    img = np.random.default_rng(5).uniform(0, 1, (SH, SW)).astype(np.float32)
    source = ArraySource([img], fit="none")
    s = small(binning_horizontal=2, binning_vertical=2, reverse_x=True, reverse_y=True)
    gen = FrameGenerator(source, seed=3)
    per_frame = FrameGenerator(source, strips=0)
    quiet = dataclasses.replace(s, noise=False)
    assert bytes(gen.render(quiet, 3, 0)) == bytes(per_frame.render(quiet, 3, 0))
    binned = mean_binned(sensor_region(source.frames[0], s), s)
    field = gen.noise_field()
    for k in range(6):
        first = strip_noise_offset(3, k % gen.strips) % field.size
        noise = field[(first + np.arange(s.pixels)) % field.size].reshape(s.height, s.width)
        np.testing.assert_array_equal(values(gen.render(s, k, 0), s),
                                      gen.lut(s)[binned | noise])


def test_folder_of_images_cycles_with_noise_per_occurrence(tmp_path):
    for name, v in (("a.png", 0), ("b.png", 255), ("c.png", 102)):
        flat_png(tmp_path / name, v)
    gen = FrameGenerator(FileSource(tmp_path))
    s = small(width=64, height=16)
    assert gen.views_stable(s)
    means = [values(gen.render(s, k, 0), s).mean() for k in range(6)]
    assert means[0] < 50 and means[1] > 4000 and 1500 < means[2] < 1800
    assert means[3] < 50 and means[4] > 4000
    # the same image's next occurrence is another noise realisation
    assert bytes(gen.render(s, 2, 0)) != bytes(gen.render(s, 5, 0))
    assert bytes(gen.render(s, 2, 0)) == bytes(gen.render(s, 2 + 3 * gen.strips, 0))
    gen.prepare(s)
    assert gen.cache_nbytes == 3 * gen.strips * s.payload_size


def test_packed_rows_that_end_mid_byte(scene):
    """A scroll needs whole-byte rows; a still image (one frame per strip) does not."""
    odd = small(pixel_format="Mono10p", width=258)             # 2580 bits per row
    assert not FrameGenerator(scene).cached(odd)
    assert FrameGenerator(scene).cached(dataclasses.replace(odd, pixel_format="Mono12p"))
    still = FrameGenerator(ArraySource([np.full((8, 8), 0.3)]))
    per_frame = FrameGenerator(still.source, strips=0)
    s = dataclasses.replace(odd, width=17, height=9, noise=False)
    assert still.cached(s)
    assert bytes(still.render(s, 1, 0)) == bytes(per_frame.render(s, 1, 0))


# -- views, rebuilds, the cap ---------------------------------------------------------------

def test_views_stay_valid_after_later_renders_and_settings_changes(scene):
    gen = FrameGenerator(scene)
    s = small(pixel_format="Mono12p")
    assert gen.views_stable(s)
    held = [(gen.render(s, k, rows_t(7 * k)), None) for k in range(6)]
    held = [(v, bytes(v)) for v, _ in held]
    for k in range(6, 40):
        gen.render(s, k, rows_t(7 * k))
    gen.render(dataclasses.replace(s, exposure_us=2000.0), 40, 0)
    gen.render(dataclasses.replace(s, width=128), 41, 0)          # another layout
    gen.render(dataclasses.replace(s, test_image="Testimage2"), 42, 0)
    gen.prepare(dataclasses.replace(s, gain_db=6.0))
    gen.pixels(s, 3, 0)
    for v, before in held:
        assert bytes(v) == before
        with pytest.raises(TypeError):
            v[0] = 0


def test_a_settings_change_rebuilds_into_new_arrays(scene):
    gen = FrameGenerator(scene)
    s = small()
    gen.prepare(s)
    strip_rows = SH + s.height - 1
    assert gen.cache_nbytes == gen.strips * strip_rows * s.width * 2
    old = gen.render(s, 0, 0)
    old_bytes = bytes(old)
    brighter = dataclasses.replace(s, exposure_us=2 * s.exposure_us)
    new = gen.render(brighter, 0, 0)
    assert strip_of(new) is not strip_of(old)
    assert values(new, s).mean() == pytest.approx(2 * values(old, s).mean(), rel=0.05)
    assert gen.cache_nbytes == strip_rows * s.width * 2              # lazily: one strip so far
    assert bytes(old) == old_bytes
    # back to the first setting: rebuilt (one set at a time), the same bytes (deterministic)
    again = gen.render(s, 0, 0)
    assert strip_of(again) is not strip_of(old) and bytes(again) == old_bytes
    # noise off needs one strip
    quiet = dataclasses.replace(s, noise=False)
    gen.prepare(quiet)
    assert gen.cache_nbytes == strip_rows * s.width * 2
    assert strip_of(gen.render(quiet, 0, 0)) is strip_of(gen.render(quiet, 1, 0))


def test_only_one_strip_set_is_held(scene):
    gen = FrameGenerator(scene, max_plans=3)
    a, b = small(), small(width=128)
    gen.prepare(a)
    size_a = gen.cache_nbytes
    gen.prepare(b)
    assert gen.cache_nbytes == size_a // 2
    assert not gen.plan(a).views                              # a's strips were dropped
    gen.render(a, 0, 0)
    assert gen.cache_nbytes == size_a // gen.strips           # rebuilt lazily, b's dropped


def test_memory_cap_falls_back_to_the_per_frame_path(scene):
    s = small()
    need = 4 * (SH + s.height - 1) * s.width * 2
    assert FrameGenerator(scene, cache_bytes=need).cached(s)
    gen = FrameGenerator(scene, cache_bytes=need - 1)
    assert not gen.cached(s) and not gen.views_stable(s)
    assert isinstance(gen.plan(s), SensorPlan)
    reference_gen = FrameGenerator(scene, strips=0)
    v1 = gen.render(s, 1, rows_t(9))
    assert bytes(v1) == bytes(reference_gen.render(s, 1, rows_t(9)))
    v2 = gen.render(s, 2, rows_t(15))
    assert v1.obj is v2.obj                                     # the reused buffer
    assert gen.cache_nbytes == 0
    # the default cap holds every format at the full default ROI
    default = FrameGenerator(scene)
    for fmt in ("Mono8", "Mono10", "Mono10p", "Mono12", "Mono12p"):
        assert default.cached(ImageSettings(pixel_format=fmt))
    # a folder of many full-frame images exceeds it
    many = ArraySource([np.zeros((8, 8))] * 8)
    assert not FrameGenerator(many).cached(ImageSettings())
    assert FrameGenerator(many).cached(ImageSettings(width=512, height=512))


def test_views_stable_per_path(scene):
    gen = FrameGenerator(scene)
    assert gen.views_stable(ImageSettings())
    assert gen.views_stable(ImageSettings(test_image="Testimage1"))
    assert gen.views_stable(ImageSettings(test_image="Testimage2", pixel_format="Mono12p"))
    assert not gen.views_stable(ImageSettings(test_image="Testimage5"))
    assert not FrameGenerator(scene, strips=0).views_stable(ImageSettings())

    class Custom(ImageSource):
        def frame(self, frame_index, timestamp_ns):
            return np.zeros((SH, SW), np.uint16)

    custom = FrameGenerator(Custom())
    assert not custom.cached(ImageSettings()) and not custom.views_stable(ImageSettings())
    assert isinstance(custom.plan(small()), SensorPlan)


def test_steady_state_allocates_nothing(scene):
    gen = FrameGenerator(scene)
    s = small(pixel_format="Mono12p", width=2048, height=512)
    gen.prepare(s)
    tracemalloc.start()
    try:
        for k in range(20):
            gen.render(s, k, k * 23 * MS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000, peak


def test_pixels_match_the_cached_frames(scene):
    gen = FrameGenerator(scene)
    s = small()
    v = gen.render(s, 3, rows_t(50))
    np.testing.assert_array_equal(gen.pixels(s, 3, rows_t(50)), values(v, s))


def test_lazy_build_then_prepare(scene):
    gen = FrameGenerator(scene)
    s = small(width=64)
    strip = (SH + s.height - 1) * s.width * 2
    gen.render(s, 0, 0)
    gen.render(s, 4, 0)                                          # the same strip
    assert gen.cache_nbytes == strip
    gen.render(s, 1, 0)
    assert gen.cache_nbytes == 2 * strip
    gen.prepare(s)
    assert gen.cache_nbytes == gen.strips * strip
