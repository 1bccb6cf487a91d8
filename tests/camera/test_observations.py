"""The camera's observation stream (``Camera.next_event``): what a test harness sees of what
the host made the camera do, in order, with device times, nothing lost silently, nothing lost
across DeviceReset."""

from __future__ import annotations

from observing import drain
from stream_host import program_like_aravis, pull_block
from u3v_sim.camera import observations as ob


def kinds(observations) -> list[str]:
    return [o.kind for o in observations]


def test_a_streamed_software_trigger_frame_is_observed_end_to_end(rig):
    camera, host, node_map = rig
    node_map.Width.value, node_map.Height.value = 64, 8
    node_map.ExposureTime.value = 1000.0
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.EventSelector.value = "ExposureEnd"
    node_map.EventNotification.value = "On"       # on, but the event channel is not enabled
    node_map.LineSelector.value = "Line2"
    node_map.LineSource.value = "ExposureActive"
    program = program_like_aravis(host)
    drain(camera)
    host.clock.now = 1.0
    node_map.AcquisitionStart.execute()
    host.clock.now = 1.5
    node_map.TriggerSoftware.execute()
    block = pull_block(camera, program, 1.6)
    seen = drain(camera)
    written = [(o.name, o.by) for o in seen if isinstance(o, ob.FeatureWritten)]
    assert written == [("AcquisitionStart", "host"), ("TriggerSoftware", "host")]
    (started,) = [o for o in seen if isinstance(o, ob.AcquisitionChanged)]
    assert started == ob.AcquisitionChanged(1_000_000_000, True)
    events = {o.name: o for o in seen if isinstance(o, ob.DeviceEvent)}
    assert events["FrameStart"] == ob.DeviceEvent(1_500_000_000, "FrameStart", 0, False)
    assert events["ExposureEnd"] == ob.DeviceEvent(1_501_000_000, "ExposureEnd", 0, False)
    waits = [o.timestamp_ns for o in seen
             if isinstance(o, ob.DeviceEvent) and o.name == "FrameStartWait"]
    assert waits == [1_000_000_000, 1_501_000_000]   # ready again when the exposure ends
    (sent,) = [o for o in seen if isinstance(o, ob.FrameSent)]
    assert sent == ob.FrameSent(1_600_000_000, block.block_id, block.timestamp, 64 * 8,
                                "Software")
    edges = [(o.line, o.level, o.timestamp_ns) for o in seen if isinstance(o, ob.LineEdge)]
    assert edges == [("Line2", True, 1_500_000_000), ("Line2", False, 1_501_000_000)]
    assert [o.timestamp_ns for o in seen] == sorted(o.timestamp_ns for o in seen)


def test_device_events_say_whether_they_were_sent(rig):
    camera, host, node_map = rig
    from u3v_features.bootstrap import EIRM
    import struct
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.EventSelector.value = "FrameStart"
    node_map.EventNotification.value = "On"
    host.write(EIRM.BASE + EIRM.EI_CONTROL, struct.pack("<I", 1))
    node_map.AcquisitionStart.execute()
    node_map.TriggerSoftware.execute()
    sent = {o.name: o.sent for o in drain(camera) if isinstance(o, ob.DeviceEvent)}
    assert sent == {"FrameStartWait": False, "FrameStart": True}
    assert camera.read_event(0.0) is not None


def test_harness_writes_are_told_from_host_writes(rig):
    camera, host, node_map = rig
    drain(camera)
    node_map.Gain.value = 3.0
    camera.write_feature("Gain", "6", 1.0)
    assert [(o.name, o.value, o.by) for o in drain(camera)] == [
        ("Gain", 3.0, "host"), ("Gain", 6.0, "harness")]


def test_frames_lost_are_observed_with_their_cause(rig):
    camera, host, node_map = rig
    node_map.AcquisitionStart.execute()          # the host never enabled the stream
    camera.advance(0.1)
    dropped = [o for o in drain(camera) if isinstance(o, ob.FrameDropped)]
    # frames start every 23.4 ms: five in 0.1 s, each lost at its exposure end
    assert [(o.block_id, o.cause) for o in dropped] == [(i, "not_streaming") for i in range(5)]
    program_like_aravis(host)
    camera.advance(0.2)
    camera.stream_channel.reset()                # the host clears a halt: frames held go
    aborted = [o for o in drain(camera) if isinstance(o, ob.FrameDropped)]
    assert aborted and {o.cause for o in aborted} == {"aborted"}


def test_device_reset_keeps_the_outside_world_and_the_observations(rig):
    camera, host, node_map = rig
    camera.drive_line("Line3", 1.0, level=True)   # held high from outside
    node_map.LineSelector.value = "Line3"
    assert node_map.LineStatus.value is True
    camera.drive_line("Line4", 1.0, voltage=1.4)  # undefined: chatters
    node_map.Gain.value = 2.0
    node_map.DeviceReset.execute()
    seen = drain(camera)
    assert kinds(seen)[-2:] == ["feature_written", "rebooted"]   # DeviceReset, then the boot
    assert ("Gain", 2.0) in [(o.name, o.value) for o in seen if isinstance(o, ob.FeatureWritten)]
    assert camera.lines.status("Line3") is True   # read after the reset: still high
    assert camera.lines.external().levels["Line4"] is None     # still chattering
    camera.advance(1.01)
    assert any(isinstance(o, ob.LineEdge) and o.line == "Line4" for o in drain(camera))
    camera.drive_line("Line3", 1.1, level=False)  # and the new engine hears the line
    assert [(o.line, o.level) for o in drain(camera)
            if isinstance(o, ob.LineEdge) and o.line == "Line3"] == [("Line3", False)]


def test_temperature_states_are_observed(rig):
    camera, host, node_map = rig
    camera.set_ambient_offset(31.0, 2.0)
    camera.set_ambient_offset(0.0, 3.0)
    states = [(o.state, o.timestamp_ns) for o in drain(camera)
              if isinstance(o, ob.TemperatureChanged)]
    assert states == [("Critical", 2_000_000_000), ("Ok", 3_000_000_000)]


def test_an_overflow_is_counted_and_reported_in_order():
    queue = ob.ObservationQueue(limit=3)
    for t in range(6):
        queue.emit(ob.Rebooted(t, "power_up"))
    taken = [queue.next_event() for _ in range(3)]
    assert [o.timestamp_ns for o in taken] == [0, 1, 2]
    queue.emit(ob.Rebooted(10, "power_up"))
    assert queue.next_event() == ob.ObservationsLost(10, 3)
    assert queue.next_event() == ob.Rebooted(10, "power_up")
    assert queue.next_event() is None and queue.lost_total == 3


def test_a_pulse_train_goes_on_through_a_device_reset(rig):
    """The train is the outside world: a reset mid-pulse leaves the line where the train has
    it, and the train's later edges come at their times."""
    camera, host, node_map = rig
    camera.pulse_train("Line3", 1.0, width_s=0.05, period_s=0.1, count=5)
    camera.advance(1.22)                          # inside the third pulse
    host.clock.now = 1.22
    node_map.DeviceReset.execute()
    assert camera.lines.status("Line3") is True
    drain(camera)
    camera.advance(2.0)
    edges = [(o.level, o.timestamp_ns) for o in drain(camera)
             if isinstance(o, ob.LineEdge) and o.line == "Line3"]
    # the device clock restarted at the reset (t = 1.22 s): its edges from there
    assert edges == [(False, 30_000_000), (True, 80_000_000), (False, 130_000_000),
                     (True, 180_000_000), (False, 230_000_000)]
    assert camera.lines.status("Line3") is False
