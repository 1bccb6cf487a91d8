"""The camera's frame buffer stays bounded in frames and bytes with O(1) bookkeeping, and a
camera driven by a real clock skips ahead (counting what it lost) instead of working through
a backlog. Sans-I/O: virtual clock, no daemon."""

from __future__ import annotations

import pytest

from stream_host import program_like_aravis, pull_block
from u3v_sim.camera.acquisition import FrameRecord
from u3v_sim.camera.realtime import RealTimeLimit
from u3v_sim.camera.scheduler import Scheduler
from u3v_sim.camera.stream_interface import StreamInterface
from u3v_sim.camera.streaming import (DEVICE_BUFFER_BYTES, DEVICE_BUFFER_FRAMES, StreamChannel,
                                      plan_block)


class CountingSize:
    """payload_bytes for a channel, counting how often the channel asks (O(1) per frame)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, record: FrameRecord) -> int:
        self.calls += 1
        return record.settings["PayloadSize"]


def tiny_record(block_id: int, size: int = 32) -> FrameRecord:
    t = block_id * 1e-3
    return FrameRecord(block_id, t, int(t * 1e9), settings={"PayloadSize": size},
                       readout_start=t, readout_end=t + 2e-5)


def channel_for(size_of: CountingSize, **limits) -> StreamChannel:
    interface = StreamInterface(lambda: 32, lambda: 32)
    interface.enabled = True
    interface.maximum_leader_size = interface.maximum_trailer_size = 1024
    interface.payload_transfer_size, interface.payload_transfer_count = 32, 1

    def build(record):
        payload = memoryview(bytes(size_of(record)))
        return plan_block(record, payload, interface, b"L" * 52, lambda valid, status: b"T" * 32)
    # build() asks for the size too: count only the channel's own bookkeeping.
    return StreamChannel(interface, build, size_of, **limits)


def test_a_hundred_thousand_tiny_frames_fill_the_frame_buffers_not_memory():
    size_of = CountingSize()
    channel = channel_for(size_of)
    pushes = 100_000
    kept = sum(channel.push(tiny_record(i)) for i in range(pushes))
    assert kept == DEVICE_BUFFER_FRAMES
    assert channel.buffered_frames == len(channel.queue) == DEVICE_BUFFER_FRAMES
    assert channel.buffered_bytes == DEVICE_BUFFER_FRAMES * 32 <= DEVICE_BUFFER_BYTES
    stats = channel.stats
    assert stats.frames_queued == DEVICE_BUFFER_FRAMES
    assert stats.frames_dropped_buffer_full == pushes - DEVICE_BUFFER_FRAMES
    assert stats.frames_dropped_not_streaming == stats.frames_dropped_daemon_overload == 0
    # One size look-up per frame offered: never a sum over the queue (that was O(n) a push).
    assert size_of.calls == pushes


def test_the_byte_bound_holds_for_large_frames_and_sent_frames_free_their_buffer():
    size_of = CountingSize()
    channel = channel_for(size_of, buffer_bytes=1000, buffer_frames=8)
    assert [channel.push(tiny_record(i, size=300)) for i in range(5)] == [
        True, True, True, False, False]
    assert (channel.buffered_frames, channel.buffered_bytes) == (3, 900)
    assert channel.stats.frames_dropped_buffer_full == 2
    # The host reads one block (leader, payload, trailer): its 300 bytes are free again.
    for length in (1024, 1024, 1024):
        assert channel.read(length) is not None
    assert channel.stats.frames_sent == 1
    assert (channel.buffered_frames, channel.buffered_bytes) == (2, 600)
    assert channel.push(tiny_record(9, size=300))
    # A block that could not be built and a reset both release what they held.
    record = channel.take_for_preparation()
    channel.finish_preparation(record, None)
    assert (channel.buffered_frames, channel.buffered_bytes) == (2, 600)
    channel.read(1024)                              # a block in flight
    channel.reset()
    assert (channel.buffered_frames, channel.buffered_bytes) == (0, 0)
    assert channel.stats.frames_aborted == 1 + 2


def test_frames_are_dropped_by_cause_when_the_stream_is_off():
    channel = channel_for(CountingSize())
    channel.interface.enabled = False
    assert not channel.push(tiny_record(0))
    assert channel.stats.frames_dropped_not_streaming == 1
    assert channel.buffered_frames == 0


def test_a_full_buffer_is_the_simulators_fault_when_the_host_waited_for_a_render():
    """Drops by cause: the host waited on the stream endpoint for a frame still being
    rendered within the last frame period (the renderer, not the host, is behind):
    daemon_overload. The host gone while waiting (a killed client), or a host that stopped
    coming for frames: buffer_full."""
    waiting = [True]
    channel = channel_for(CountingSize(), buffer_frames=3)
    channel.host_waiting = lambda: waiting[0]
    assert channel.push(tiny_record(0))
    rendering = channel.take_for_preparation()
    assert channel.read(1024, now=0.0005) is None          # the host waits on the render
    assert [channel.push(tiny_record(i)) for i in (1, 2, 3)] == [True, True, False]
    assert channel.stats.frames_dropped_daemon_overload == 1
    waiting[0] = False                                      # its transfers discarded
    assert not channel.push(tiny_record(4))
    assert channel.stats.frames_dropped_buffer_full == 1
    # A host comes back while the render goes on: at fault again.
    waiting[0] = True
    assert not channel.push(tiny_record(5))
    assert channel.stats.frames_dropped_daemon_overload == 2
    # The render lands and the host starts on the frame (its leader) at 5.5 ms: frame 6,
    # the first to come after the wait ended, is still the renderer's loss; frame 7, a
    # frame period later with the host not back for more, is the host's.
    channel.finish_preparation(rendering, channel.build_block(rendering))
    assert channel.read(1024, now=0.0055) is not None
    assert [channel.push(tiny_record(i)) for i in (6, 7)] == [False, False]
    assert channel.stats.frames_dropped_daemon_overload == 3
    assert channel.stats.frames_dropped_buffer_full == 2


def tiny_roi_at(node_map, rate_hz: float | None) -> None:
    """16x2 with the shortest exposure; the frame rate limited to rate_hz (None: as fast as
    the sensor reads out 2 rows, about 46 kHz)."""
    node_map.Width.value, node_map.Height.value = 16, 2
    node_map.ExposureTime.value = 16.0
    node_map.AcquisitionFrameRateEnable.value = rate_hz is not None
    if rate_hz is not None:
        node_map.AcquisitionFrameRate.value = rate_hz


def test_a_camera_nobody_reads_holds_at_most_its_frame_buffers(rig):
    camera, host, node_map = rig
    tiny_roi_at(node_map, 1000.0)
    program_like_aravis(host)
    node_map.AcquisitionStart.execute()
    start = host.clock.now
    for step in range(1, 1001):                      # 10 s in 10 ms steps: 10,000 frames
        camera.advance(start + step * 0.01)
    channel = camera.stream_channel
    started = camera.acquisition.stats.frames_started
    assert started == pytest.approx(10_000, abs=2)
    assert channel.buffered_frames == DEVICE_BUFFER_FRAMES
    assert channel.stats.frames_queued == DEVICE_BUFFER_FRAMES
    pushed = channel.stats.frames_queued + channel.stats.frames_dropped_buffer_full
    assert pushed == started - (camera.acquisition.exposing is not None)


def test_a_real_time_camera_skips_a_backlog_of_seconds_and_counts_the_frames(rig):
    camera, host, node_map = rig
    tiny_roi_at(node_map, 1000.0)
    program = program_like_aravis(host)
    camera.realtime = RealTimeLimit(max_lag_s=0.1)
    node_map.AcquisitionStart.execute()
    start = host.clock.now
    for step in range(1, 6):                         # on time: 50 frames, 10 ms a step
        camera.advance(start + step * 0.01)
    assert camera.acquisition.stats.frames_started == pytest.approx(50, abs=1)
    assert camera.realtime.stats.skips == 0
    camera.advance(start + 5.05)                     # the driver was away for 5 s
    stats = camera.realtime.stats
    assert stats.skips == 1
    assert stats.last_lag_s == pytest.approx(5.0, abs=0.002)
    # What free run would have started in the gap is dropped with its cause, not simulated.
    assert camera.stream_channel.stats.frames_dropped_daemon_overload == stats.frames_dropped
    assert stats.frames_dropped == pytest.approx(5000, abs=2)
    assert camera.acquisition.stats.frames_started == pytest.approx(50, abs=2)
    # The camera goes on at its rate from now, and the buffered frames still arrive in order.
    for step in range(1, 11):
        camera.advance(start + 5.05 + step * 0.01)
    assert camera.acquisition.stats.frames_started == pytest.approx(150, abs=2)
    ids = [pull_block(camera, program, start + 5.2).block_id for _ in range(3)]
    assert ids == [0, 1, 2]
    # Timestamps keep real time: the frames after the gap are stamped 5 s later.
    stamps = [r.timestamp_ns / 1e9 for r in camera.stream_channel.queue]
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:]))
    assert gaps[-1] == pytest.approx(5.001, abs=0.002) and gaps[-2] == pytest.approx(0.001)


def test_one_advance_runs_a_bounded_number_of_actions_however_fast_the_frames(rig):
    camera, host, node_map = rig
    tiny_roi_at(node_map, None)                      # ~46,000 fps: Python can't keep up
    assert camera.frame_timing().frame_rate > 40_000
    program_like_aravis(host)
    camera.realtime = RealTimeLimit(max_lag_s=0.1, max_actions=600)
    node_map.AcquisitionStart.execute()
    start = host.clock.now
    camera.advance(start + 0.05)                     # under max_lag, but 2,300 frames due
    started = camera.acquisition.stats.frames_started
    assert 100 < started <= 600                      # several actions make one frame
    assert camera.realtime.stats.skips == 1
    assert camera.stream_channel.stats.frames_dropped_daemon_overload > 1000


def test_a_virtual_clock_runs_every_frame_and_a_triggered_camera_loses_none(rig):
    camera, host, node_map = rig
    tiny_roi_at(node_map, 1000.0)
    program_like_aravis(host)
    node_map.AcquisitionStart.execute()
    camera.advance(host.clock.now + 2.0)             # no limit set: exact, every frame
    assert camera.acquisition.stats.frames_started == pytest.approx(2000, abs=1)
    assert camera.stream_channel.stats.frames_dropped_daemon_overload == 0
    node_map.AcquisitionStop.execute()
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    camera.realtime = RealTimeLimit()
    node_map.AcquisitionStart.execute()
    node_map.TriggerDelay.value = 1000.0             # a trigger waits 1 ms in the camera
    node_map.TriggerSoftware.execute()
    camera.advance(host.clock.now + 3.0)             # 3 s late: the delayed trigger still fires
    assert camera.realtime.stats.skips == 1
    assert camera.realtime.stats.frames_dropped == 0
    assert camera.acquisition.stats.frames_started == pytest.approx(2001, abs=1)


def test_shifting_the_scheduler_keeps_the_order_and_moves_the_clock():
    scheduler = Scheduler(0.0)
    ran = []
    for due in (0.3, 0.1, 0.2):
        scheduler.at(due, lambda due=due: ran.append((due, scheduler.time)))
    scheduler.shift(1.0)
    assert scheduler.time == 1.0 and scheduler.next_deadline() == pytest.approx(1.1)
    assert scheduler.run_until(1.25, max_actions=5)
    assert ran == [(0.1, pytest.approx(1.1)), (0.2, pytest.approx(1.2))]
    assert not scheduler.run_until(2.0, max_actions=0)
    assert scheduler.run_until(2.0) and ran[-1] == (0.3, pytest.approx(1.3))


def test_lateness_is_reported_once_when_an_episode_starts_and_once_when_it_ends():
    import logging

    from u3v_sim.camera.realtime import EPISODE_GAP_S, LatenessWatch, RealTimeStats
    stats, watch = RealTimeStats(), LatenessWatch()
    assert watch.update(stats, 1.0) is None
    said = []
    for second in range(2, 6):                       # a skip every second: one episode
        stats.skips += 1
        stats.frames_dropped += 1000
        stats.skipped_s += 0.5
        stats.last_lag_s, stats.last_skip_at = 0.5, float(second)
        watch.note(0.5)
        said.append(watch.update(stats, second + 0.5))
    assert said[0][0] == logging.WARNING and "500 ms behind" in said[0][1]
    assert said[1:] == [None] * 3 and watch.behind and watch.window_worst_s == 0.5
    assert watch.update(stats, 5.0 + EPISODE_GAP_S / 2) is None
    level, message = watch.update(stats, 5.0 + EPISODE_GAP_S)
    assert level == logging.INFO and "4 skip(s)" in message and "4000 frames" in message
    assert not watch.behind and watch.window_worst_s == 0.0
    stats.skips += 1
    stats.last_skip_at = 10.0
    assert watch.update(stats, 10.5)[0] == logging.WARNING   # a new episode warns again
