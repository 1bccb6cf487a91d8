"""Camera events as a GenApi host sees them: every EventSelector entry is bound in the XML (a
Port per event id, an Event...Data category on it), so the official GenApi's U3V event
adapter updates the data nodes and fires their callbacks (issue 9 §1)."""

from __future__ import annotations

from genicam import genapi

from u3v_features.acA4096_40um import EVENT_IDS, EVENTS_WITH_FRAME_ID


def enable(node_map, *names: str) -> None:
    for name in names:
        node_map.EventSelector.value = name
        node_map.EventNotification.value = "On"


def test_every_event_selector_entry_has_its_data_category(rig):
    _, _, node_map = rig
    assert {e.symbolic for e in node_map.EventSelector.entries} == set(EVENT_IDS)
    for event in EVENT_IDS:
        category = node_map.get_node(f"Event{event}Data")
        names = {f.node.name for f in category.features}
        expected = {f"Event{event}", f"Event{event}Timestamp"}
        if event in EVENTS_WITH_FRAME_ID:
            expected.add(f"Event{event}FrameID")
        assert names == expected, event


def test_one_exposure_end_callback_per_frame_with_that_frames_data(rig, events):
    camera, host, node_map = rig
    node_map.ExposureTime.value = 1000.0
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    enable(node_map, "ExposureEnd")
    seen = []

    def on_exposure_end(_node):
        seen.append((node_map.EventExposureEndFrameID.value,
                     node_map.EventExposureEndTimestamp.value))

    handle = genapi.register(node_map.get_node("EventExposureEndData").node, on_exposure_end)
    try:
        node_map.AcquisitionStart.execute()
        for i in range(3):
            host.clock.now = 1.0 + i * 0.1
            node_map.TriggerSoftware.execute()
            camera.advance(host.clock.now + 0.01)
            events.deliver(camera, host.clock.now + 0.01)
    finally:
        genapi.deregister(handle)
    assert seen == [(0, 1_001_000_000), (1, 1_101_000_000), (2, 1_201_000_000)]


def test_frame_start_wait_when_the_camera_becomes_ready_for_a_trigger(rig, events):
    camera, host, node_map = rig
    node_map.ExposureTime.value = 1000.0
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    enable(node_map, "FrameStartWait", "FrameStart")
    host.clock.now = 1.0
    node_map.AcquisitionStart.execute()
    assert len(events.deliver(camera, 1.0)) == 1
    assert node_map.EventFrameStartWaitTimestamp.value == 1_000_000_000
    host.clock.now = 1.1
    node_map.TriggerSoftware.execute()
    camera.advance(1.2)
    delivered = events.deliver(camera, 1.2)
    assert len(delivered) == 2                      # FrameStart, then ready again
    period_ns = round(1e9 / node_map.ResultingFrameRate.value)
    ready_again = node_map.EventFrameStartWaitTimestamp.value
    assert node_map.EventFrameStartTimestamp.value == 1_100_000_000
    assert abs(ready_again - (1_100_000_000 + period_ns)) < 1000


def test_frame_burst_start_wait_and_overtrigger(rig, events):
    camera, host, node_map = rig
    node_map.TriggerSelector.value = "FrameBurstStart"
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionBurstFrameCount.value = 3
    enable(node_map, "FrameBurstStartWait", "FrameBurstStart", "FrameBurstStartOvertrigger")
    host.clock.now = 1.0
    node_map.AcquisitionStart.execute()
    events.deliver(camera, 1.0)
    assert node_map.EventFrameBurstStartWaitTimestamp.value == 1_000_000_000
    host.clock.now = 1.1
    node_map.TriggerSoftware.execute()              # the burst starts: frames 0..2
    host.clock.now = 1.12
    node_map.TriggerSoftware.execute()              # during the burst: an overtrigger
    events.deliver(camera, 1.12)
    assert node_map.EventFrameBurstStartTimestamp.value == 1_100_000_000
    assert node_map.EventFrameBurstStartFrameID.value == 0
    assert node_map.EventFrameBurstStartOvertriggerTimestamp.value == 1_120_000_000
    assert node_map.EventFrameBurstStartOvertriggerFrameID.value == 1
    assert camera.acquisition.stats.burst_overtriggers == 1
    camera.advance(1.5)                             # the burst is done: waiting again
    events.deliver(camera, 1.5)
    assert 1_120_000_000 < node_map.EventFrameBurstStartWaitTimestamp.value < 1_500_000_000


def test_events_the_host_did_not_enable_are_not_sent(rig, events):
    camera, host, node_map = rig
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    enable(node_map, "ExposureEnd")
    node_map.AcquisitionStart.execute()
    host.clock.now = 1.0
    node_map.TriggerSoftware.execute()
    camera.advance(1.1)
    packets = events.deliver(camera, 1.1)
    assert len(packets) == 1
    assert not genapi.is_readable(node_map.get_node("EventFrameStartTimestamp"))
