"""Input lines driven by level or voltage, and events on the U3V event channel."""

from __future__ import annotations

import struct

import pytest

from u3v_features.acA4096_40um import EVENT_IDS
from u3v_features.bootstrap import EIRM
from u3v_sim.camera.lines import LineError

from genapi_host import EventHost




@pytest.mark.parametrize("line, voltage, logic", [
    ("Line1", 0.0, False), ("Line1", 1.4, False), ("Line1", 2.21, True), ("Line1", 24.0, True),
    ("Line3", 0.8, False), ("Line3", 2.01, True), ("Line3", 5.0, True),
])
def test_voltages_map_through_the_datasheet_thresholds(rig, line, voltage, logic):
    camera, host, node_map = rig
    result = camera.drive_line(line, 1.0, voltage=voltage)
    assert result.logic is logic and result.warning is None
    node_map.LineSelector.value = line
    assert node_map.LineStatus.value is logic


@pytest.mark.parametrize("line, voltage", [("Line1", 1.8), ("Line3", 1.4)])
def test_an_undefined_voltage_makes_the_line_unstable(rig, line, voltage):
    camera, host, node_map = rig
    assert camera.drive_line(line, 1.0, voltage=voltage).logic is None
    seen = set()
    for step in range(200):
        camera.advance(1.0 + step * 37e-6)
        seen.add(camera.lines.status(line))
    assert seen == {False, True}
    camera.drive_line(line, 1.1, voltage=0.0)
    camera.advance(1.2)
    assert camera.lines.status(line) is False and camera.next_deadline() is None


def test_a_debouncer_longer_than_the_chatter_hides_it(rig):
    camera, host, node_map = rig
    node_map.LineSelector.value = "Line1"
    node_map.LineDebouncerTime.value = 1000.0
    camera.drive_line("Line1", 1.0, voltage=1.8)
    for step in range(100):
        camera.advance(1.0 + step * 1e-4)
        assert camera.lines.status("Line1") is False


def test_out_of_range_voltages_are_refused_and_overvoltage_damages(rig):
    camera, host, node_map = rig
    with pytest.raises(LineError, match="refused"):
        camera.drive_line("Line1", 1.0, voltage=-1.0)
    warned = camera.drive_line("Line3", 1.0, voltage=12.0)
    assert warned.logic is True and "safe 5 V" in warned.warning
    with pytest.raises(LineError, match="absolute maximum 30 V"):
        camera.drive_line("Line4", 1.0, voltage=31.0)
    node_map.LineSelector.value = "Line4"
    assert node_map.LineOverloadStatus.value is True
    assert camera.drive_line("Line4", 1.1, level=True).logic is False  # damaged: stays low


def test_outputs_and_unknown_lines_cannot_be_driven(rig):
    camera, host, node_map = rig
    with pytest.raises(LineError, match="output"):
        camera.drive_line("Line2", 1.0, level=True)
    node_map.LineSelector.value = "Line3"
    node_map.LineMode.value = "Output"
    with pytest.raises(LineError, match="output"):
        camera.drive_line("Line3", 1.0, level=True)
    with pytest.raises(LineError, match="no line"):
        camera.drive_line("Line9", 1.0, level=True)


def parse_event(packet: bytes) -> tuple[int, int, int, bytes]:
    prefix, flags, command, length, request_id = struct.unpack_from("<IHHHH", packet)
    assert prefix == 0x45563355 and command == 0x0C00 and length == len(packet) - 12
    _, event_id, timestamp = struct.unpack_from("<HHQ", packet, 12)
    return request_id, event_id, timestamp, packet[24:]


def test_events_are_sent_when_enabled_with_their_data(rig):
    camera, host, node_map = rig
    node_map.ExposureTime.value = 1000.0
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    for event in ("ExposureEnd", "FrameStart"):
        node_map.EventSelector.value = event
        node_map.EventNotification.value = "On"
    node_map.AcquisitionStart.execute()
    host.clock.now = 1.0
    node_map.TriggerSoftware.execute()
    camera.advance(1.01)
    assert camera.read_event(1.01) is None          # the host has not enabled the channel
    event_host = EventHost(host, node_map)
    try:
        host.clock.now = 1.1
        node_map.TriggerSoftware.execute()
        camera.advance(1.2)
        events = [parse_event(p) for p in event_host.deliver(camera, 1.2)]
        assert [(e[1], e[2], e[3]) for e in events] == [
            (EVENT_IDS["FrameStart"], 1_100_000_000, struct.pack("<Q", 1)),
            (EVENT_IDS["ExposureEnd"], 1_101_000_000, struct.pack("<Q", 1))]
        assert events[1][0] == events[0][0] + 1
        # What a GenApi host reads: the Event...Data nodes bound to each event's port.
        assert node_map.EventExposureEndTimestamp.value == 1_101_000_000
        assert node_map.EventExposureEndFrameID.value == 1
        assert node_map.EventExposureEnd.value == EVENT_IDS["ExposureEnd"]
        assert node_map.EventFrameStartTimestamp.value == 1_100_000_000
        assert camera.read_event(1.2) is None
    finally:
        event_host.close()


def test_event_test_control_sends_the_test_event(rig):
    camera, host, node_map = rig
    host.write(EIRM.BASE + EIRM.EI_CONTROL, struct.pack("<I", 1))
    host.clock.now = 0.5
    host.write(EIRM.BASE + EIRM.EVENT_TEST_CONTROL, struct.pack("<I", 1))
    _, event_id, timestamp, data = parse_event(camera.read_event(0.5))
    assert (event_id, timestamp, data) == (0x4FFF, 500_000_000, b"")


def test_temperature_warms_with_activity_and_raises_temperature_events(rig):
    camera, host, node_map = rig
    node_map.DeviceTemperatureSelector.value = "Coreboard"
    assert node_map.DeviceTemperature.value == pytest.approx(42.0)
    node_map.AcquisitionStart.execute()
    camera.stream_channel.buffer_bytes = 0   # frames dropped: keeps this test light
    host.clock.now = 60.0
    assert node_map.DeviceTemperature.value == pytest.approx(
        42.0 + 12 * (1 - 2.718281828 ** -0.1), rel=1e-4)
    for event in ("CriticalTemperature", "OverTemperature"):
        node_map.EventSelector.value = event
        node_map.EventNotification.value = "On"
    host.write(EIRM.BASE + EIRM.EI_CONTROL, struct.pack("<I", 1))
    camera.set_ambient_offset(29.0, 60.0)
    assert node_map.TemperatureState.value == "Critical"
    camera.set_ambient_offset(40.0, 60.0)
    assert node_map.TemperatureState.value == "Error"
    ids = [parse_event(camera.read_event(60.0))[1] for _ in range(2)]
    assert ids == [EVENT_IDS["CriticalTemperature"], EVENT_IDS["OverTemperature"]]


def test_temperature_events_reach_their_genapi_nodes(rig, events):
    camera, host, node_map = rig
    for event in ("CriticalTemperature", "OverTemperature"):
        node_map.EventSelector.value = event
        node_map.EventNotification.value = "On"
    camera.set_ambient_offset(31.0, 2.0)     # 73 C: Critical
    camera.set_ambient_offset(40.0, 3.0)     # 82 C: Error
    assert len(events.deliver(camera, 3.0)) == 2
    assert node_map.EventCriticalTemperatureTimestamp.value == 2_000_000_000
    assert node_map.EventOverTemperatureTimestamp.value == 3_000_000_000
    assert not node_map.has_node("EventOverTemperatureFrameID")
