"""ExposureAuto and GainAuto through the official GenApi on the in-process camera, judged by
the pixels of the frames the camera sends (the oracle: what a host receives)."""

from __future__ import annotations

import numpy as np
import pytest
from genicam import genapi

from stream_host import program_like_aravis, pull_block
from u3v_sim.frames.sources import ArraySource

TOLERANCE = 0.03   # of full scale: the frames carry sensor noise


class Grabber:
    """Software-triggered Mono8 frames of a 512x256 ROI; each frame's mean gray value."""

    def __init__(self, camera, host, node_map):
        self.camera, self.host, self.node_map = camera, host, node_map
        node_map.Width.value, node_map.Height.value = 512, 256
        node_map.CenterX.value = node_map.CenterY.value = True
        node_map.TriggerMode.value = "On"
        node_map.TriggerSource.value = "Software"
        self.program = program_like_aravis(host)
        node_map.AcquisitionStart.execute()
        self.t = 0.0

    def frame(self):
        self.t += 0.01
        self.host.clock.now = self.t
        exposure_s = self.camera.store.get("ExposureTime") / 1e6
        self.node_map.TriggerSoftware.execute()
        self.t += exposure_s + 0.05                   # exposed and read out
        self.camera.advance(self.t)
        block = pull_block(self.camera, self.program, self.t)
        self.host.clock.now = self.t
        return block

    def mean(self) -> float:
        image = self.frame().payload[:512 * 256]              # (chunks may follow)
        return np.frombuffer(image, np.uint8).mean() / 255


def scene(camera, irradiance: float) -> None:
    camera.blocks.generator.set_source(ArraySource(np.full((64, 64), irradiance, np.float32)))


def test_exposure_auto_once_reaches_the_target_and_turns_itself_off(camera, host, node_map):
    grab = Grabber(camera, host, node_map)
    node_map.ExposureTime.value = 100.0
    assert grab.mean() < 0.05                                     # too dark to see
    node_map.ExposureAuto.value = "Once"
    assert not genapi.is_writable(node_map.get_node("ExposureTime"))   # the camera's now
    frames = 0
    while node_map.ExposureAuto.value != "Off":
        grab.mean()
        frames += 1
        assert frames <= 30, "Once must end after at most 30 frames"
    assert abs(grab.mean() - node_map.AutoTargetBrightness.value) < TOLERANCE
    assert genapi.is_writable(node_map.get_node("ExposureTime"))
    assert node_map.Gain.value == 0.0                             # GainAuto stayed Off


def test_continuous_holds_the_target_as_the_scene_changes(camera, host, node_map):
    node_map.ChunkModeActive.value = True
    node_map.ChunkSelector.value = "ExposureTime"
    node_map.ChunkEnable.value = True
    grab = Grabber(camera, host, node_map)
    node_map.AutoTargetBrightness.value = 0.3
    node_map.ExposureAuto.value = "Continuous"
    for irradiance in (0.05, 0.4, 0.01):
        scene(camera, irradiance)
        means = [grab.mean() for _ in range(25)]
        assert abs(means[-1] - 0.3) < TOLERANCE, (irradiance, means)
        assert node_map.ExposureAuto.value == "Continuous"
    # The settings a frame was taken with are in its chunk: the exposure set by the camera.
    adapter = genapi.ChunkAdapterU3V(node_map)
    block = grab.frame()
    adapter.attach_buffer(block.payload, len(block.payload))
    try:
        assert node_map.ChunkExposureTime.value == node_map.ExposureTime.value
    finally:
        adapter.detach_buffer()


def test_exposure_stays_within_its_auto_limits_and_gain_within_its(camera, host, node_map):
    grab = Grabber(camera, host, node_map)
    scene(camera, 0.002)                                          # very dark
    node_map.AutoExposureTimeUpperLimit.value = 20_000.0
    node_map.AutoGainUpperLimit.value = 6.0
    node_map.ExposureAuto.value = "Continuous"
    node_map.GainAuto.value = "Continuous"
    for _ in range(40):
        grab.mean()
    assert node_map.ExposureTime.value == pytest.approx(20_000.0)
    assert node_map.Gain.value == pytest.approx(6.0)
    # The limits bound each other: a lower limit cannot pass its upper one.
    with pytest.raises(genapi.OutOfRangeException):
        node_map.AutoGainLowerLimit.value = 10.0


@pytest.mark.parametrize("profile, exposure_moves, gain_moves", [
    ("MinimizeGain", True, False), ("MinimizeExposureTime", False, True)])
def test_the_profile_decides_which_setting_does_the_work(camera, host, node_map, profile,
                                                         exposure_moves, gain_moves):
    grab = Grabber(camera, host, node_map)
    scene(camera, 0.2)             # needs 6.4 times the light of 2 ms at 0 dB: 16 dB will do
    node_map.ExposureTime.value = 2000.0
    node_map.AutoFunctionProfile.value = profile
    node_map.AutoExposureTimeLowerLimit.value = 2000.0
    node_map.ExposureAuto.value = node_map.GainAuto.value = "Continuous"
    means = [grab.mean() for _ in range(30)]
    assert abs(means[-1] - 0.50196) < TOLERANCE, means
    assert (node_map.ExposureTime.value > 2000.0) == exposure_moves
    assert (node_map.Gain.value > 0.0) == gain_moves


def test_no_roi_using_brightness_means_no_adjustment(camera, host, node_map):
    grab = Grabber(camera, host, node_map)
    node_map.AutoFunctionROISelector.value = "ROI1"
    node_map.AutoFunctionROIUseBrightness.value = False
    node_map.ExposureTime.value = 100.0
    node_map.ExposureAuto.value = "Continuous"
    for _ in range(5):
        grab.mean()
    assert node_map.ExposureTime.value == 100.0


def test_a_profile_changed_on_target_moves_the_split_not_the_brightness(camera, host,
                                                                        node_map):
    grab = Grabber(camera, host, node_map)
    scene(camera, 0.05)
    node_map.AutoFunctionProfile.value = "MinimizeExposureTime"
    node_map.ExposureAuto.value = node_map.GainAuto.value = "Continuous"
    for _ in range(30):
        grab.mean()
    gain_first = node_map.Gain.value
    assert gain_first > 6.0                                  # the gain did the work
    node_map.AutoFunctionProfile.value = "MinimizeGain"
    means = [grab.mean() for _ in range(10)]
    assert node_map.Gain.value < 1.0 < gain_first            # the exposure took it over
    assert all(abs(m - 0.50196) < TOLERANCE for m in means[2:]), means


def test_once_ends_after_30_frames_when_no_roi_measures_anything(camera, host, node_map):
    grab = Grabber(camera, host, node_map)
    for roi in ("ROI1", "ROI2"):
        node_map.AutoFunctionROISelector.value = roi
        node_map.AutoFunctionROIUseBrightness.value = False
    node_map.ExposureAuto.value = "Once"
    frames = 0
    while node_map.ExposureAuto.value != "Off":
        grab.mean()
        frames += 1
        assert frames <= 30
