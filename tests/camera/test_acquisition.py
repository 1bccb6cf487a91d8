"""The acquisition engine on an injected clock: rated frame rate, each limiter, triggers,
overtriggers, trigger delay, debouncer, exposure by pulse width, bursts, single frame."""

from __future__ import annotations

import pytest

from genapi_host import software_trigger_at
from observing import output_edges
from stream_host import program_like_aravis




def run_for(camera, host, seconds: float) -> None:
    """Let the camera run, the host keeping up with the stream (frames never pile up)."""
    end = host.clock.now + seconds
    while True:
        deadline = camera.next_deadline()
        if deadline is None or deadline > end:
            break
        host.clock.now = deadline
        camera.advance(deadline)
        camera.stream_channel.reset()  # a host that consumes every frame at once
    host.clock.now = end
    camera.advance(end)


def frame_starts(camera):
    return camera.acquisition.stats.frames_started


def test_default_settings_run_at_the_rated_42_7_fps(rig):
    camera, host, node_map = rig
    program_like_aravis(host)
    node_map.AcquisitionStart.execute()
    run_for(camera, host, 60.0)
    started = frame_starts(camera)
    # 60 s at 42.7 fps: frames start at t = 0, 1/42.7, ... : 2562 or 2563 (within 0.04 %).
    assert abs(started - 60 * 42.7) <= 1
    assert node_map.ResultingFrameRate.value == pytest.approx(42.7, rel=1e-9)


@pytest.mark.parametrize("setup, fps", [
    ({"ExposureTime": 50_000.0}, 20.0),                                 # exposure-limited
    ({"Height": 1084}, 85.4),                                           # readout-limited
    ({"PixelFormat": "Mono12"}, 400e6 / (4096 * 2168 * 2)),             # USB-limited
    ({"DeviceLinkThroughputLimitMode": "On",
      "DeviceLinkThroughputLimit": 100_000_000}, 100e6 / (4096 * 2168)),  # link limit
    ({"AcquisitionFrameRateEnable": True, "AcquisitionFrameRate": 12.5}, 12.5),
])
def test_each_limiter_sets_the_frame_rate_and_resulting_frame_rate_agrees(rig, setup, fps):
    camera, host, node_map = rig
    for name, value in setup.items():
        setattr(node_map.get_node(name), "value", value)
    assert node_map.ResultingFrameRate.value == pytest.approx(fps, rel=1e-6)
    program_like_aravis(host)
    node_map.AcquisitionStart.execute()
    start_time = host.clock.now
    run_for(camera, host, 8.0)
    produced = frame_starts(camera)
    assert abs(produced - 8.0 * fps) <= 1.0 + 1e-3 * 8.0 * fps
    assert host.clock.now - start_time == pytest.approx(8.0)


def exposure_active_on_line2(node_map) -> None:
    node_map.LineSelector.value = "Line2"
    node_map.LineSource.value = "ExposureActive"


def test_exposure_active_drives_line2_with_exact_timestamps(rig):
    camera, host, node_map = rig
    exposure_active_on_line2(node_map)
    node_map.ExposureTime.value = 1000.0
    node_map.TriggerSelector.value = "FrameStart"
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Line1"
    node_map.AcquisitionStart.execute()
    camera.drive_line("Line1", 0.5, level=True)
    camera.advance(0.6)
    edges = [(e.line, e.level, e.timestamp_ns) for e in output_edges(camera)]
    assert edges == [("Line2", True, 500_000_000), ("Line2", False, 501_000_000)]
    assert frame_starts(camera) == 1
    camera.drive_line("Line1", 0.7, level=False)   # falling edge: not a rising trigger
    camera.advance(1.0)
    assert frame_starts(camera) == 1


def test_trigger_delay_and_overtrigger(rig, events):
    camera, host, node_map = rig
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.TriggerDelay.value = 2000.0
    node_map.EventSelector.value = "FrameStartOvertrigger"
    node_map.EventNotification.value = "On"
    node_map.AcquisitionStart.execute()
    host.clock.now = 1.0
    node_map.TriggerSoftware.execute()
    camera.advance(1.0015)
    assert frame_starts(camera) == 0                   # still inside the trigger delay
    camera.advance(1.0021)
    assert frame_starts(camera) == 1
    assert camera.acquisition.exposing.timestamp_ns == 1_002_000_000
    host.clock.now = 1.010                             # the camera is still busy (23.4 ms)
    node_map.TriggerSoftware.execute()
    camera.advance(1.013)
    assert frame_starts(camera) == 1
    assert camera.acquisition.stats.frame_start_overtriggers == 1
    events.deliver(camera, 1.013)
    assert node_map.EventFrameStartOvertriggerTimestamp.value == 1_012_000_000
    assert node_map.EventFrameStartOvertriggerFrameID.value == 1   # the frame it did not start
    host.clock.now = 1.030
    node_map.TriggerSoftware.execute()
    camera.advance(1.040)
    assert frame_starts(camera) == 2


def test_debouncer_filters_short_pulses(rig):
    camera, host, node_map = rig
    node_map.LineSelector.value = "Line1"
    node_map.LineDebouncerTime.value = 100.0
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Line1"
    node_map.AcquisitionStart.execute()
    camera.drive_line("Line1", 1.0, level=True)
    camera.drive_line("Line1", 1.00005, level=False)    # 50 us glitch: filtered out
    camera.advance(1.1)
    assert frame_starts(camera) == 0 and node_map.LineStatus.value is False
    camera.drive_line("Line1", 1.2, level=True)
    camera.advance(1.20009)
    assert frame_starts(camera) == 0                    # not yet stable for 100 us
    camera.advance(1.3)
    assert frame_starts(camera) == 1
    assert camera.acquisition.stats.frames_started == 1
    assert node_map.LineStatus.value is True


def test_line_inverter_turns_falling_edges_into_triggers(rig):
    camera, host, node_map = rig
    node_map.LineSelector.value = "Line1"
    node_map.LineInverter.value = True
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Line1"
    node_map.AcquisitionStart.execute()
    camera.drive_line("Line1", 1.0, level=True)
    camera.advance(1.1)
    assert frame_starts(camera) == 0
    camera.drive_line("Line1", 1.2, level=False)
    camera.advance(1.3)
    assert frame_starts(camera) == 1


def test_trigger_width_exposure_lasts_while_the_line_is_active(rig):
    camera, host, node_map = rig
    exposure_active_on_line2(node_map)
    node_map.ExposureMode.value = "TriggerWidth"
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Line3"
    node_map.AcquisitionStart.execute()
    camera.drive_line("Line3", 2.0, level=True)
    camera.drive_line("Line3", 2.0075, level=False)
    camera.advance(2.1)
    assert [(e.level, e.timestamp_ns) for e in output_edges(camera) if e.line == "Line2"] == [
        (True, 2_000_000_000), (False, 2_007_500_000)]
    assert camera.acquisition.stats.frames_completed == 1


def test_burst_trigger_takes_burst_frame_count_frames(rig):
    camera, host, node_map = rig
    node_map.TriggerSelector.value = "FrameBurstStart"
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionBurstFrameCount.value = 3
    node_map.AcquisitionStart.execute()
    run_for(camera, host, 1.0)
    assert frame_starts(camera) == 0
    node_map.AcquisitionStatusSelector.value = "FrameBurstTriggerWait"
    assert node_map.AcquisitionStatus.value is True
    node_map.TriggerSoftware.execute()
    run_for(camera, host, 1.0)
    assert frame_starts(camera) == 3
    node_map.TriggerSoftware.execute()
    node_map.TriggerSoftware.execute()                  # during the burst: overtrigger
    run_for(camera, host, 1.0)
    assert frame_starts(camera) == 6
    assert camera.acquisition.stats.burst_overtriggers == 1


def test_single_frame_mode_stops_after_one_frame(rig):
    camera, host, node_map = rig
    node_map.AcquisitionMode.value = "SingleFrame"
    node_map.AcquisitionStart.execute()
    run_for(camera, host, 1.0)
    assert frame_starts(camera) == 1
    node_map.AcquisitionStart.execute()
    run_for(camera, host, 1.0)
    assert frame_starts(camera) == 2




def test_timer_pulses_on_exposure_start(rig):
    camera, host, node_map = rig
    node_map.TimerDelay.value = 100.0
    node_map.TimerDuration.value = 300.0
    node_map.LineSelector.value = "Line2"
    node_map.LineSource.value = "Timer1Active"
    software_trigger_at(camera, host, node_map, 1.0, 1.1)
    assert [(e.level, e.timestamp_ns) for e in output_edges(camera)] == [
        (True, 1_000_100_000), (False, 1_000_400_000)]


def test_minimum_output_pulse_width_stretches_short_pulses(rig):
    camera, host, node_map = rig
    node_map.ExposureTime.value = 100.0
    exposure_active_on_line2(node_map)
    node_map.LineMinimumOutputPulseWidth.value = 1000.0
    software_trigger_at(camera, host, node_map, 1.0, 1.1)
    assert [(e.level, e.timestamp_ns) for e in output_edges(camera)] == [
        (True, 1_000_000_000), (False, 1_001_000_000)]


def test_frame_trigger_wait_output_shows_when_the_camera_takes_a_trigger(rig):
    camera, host, node_map = rig
    node_map.ExposureTime.value = 1000.0
    node_map.LineSelector.value = "Line2"
    node_map.LineSource.value = "FrameTriggerWait"
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    host.clock.now = 1.0
    node_map.AcquisitionStart.execute()            # now waiting for a trigger
    host.clock.now = 2.0
    node_map.TriggerSoftware.execute()             # busy for one frame period (readout)
    camera.advance(2.1)
    period_ns = round(1e9 / 42.7)
    assert [(e.level, e.timestamp_ns) for e in output_edges(camera)] == [
        (True, 1_000_000_000), (False, 2_000_000_000), (True, 2_000_000_000 + period_ns)]
