"""Injected faults (u3v_sim/faults.py) in the sans-I/O core: when they fire, and what each
stream and control fault puts on the wire, as a host would parse it."""

from __future__ import annotations


import pytest

from observing import drain
from stream_host import program_like_aravis, pull_block
from u3v_sim import faults as fl
from u3v_sim.camera import observations as ob
from u3v_sim.protocol import gencp
from u3v_sim.protocol import stream as sp
from u3v_sim.protocol.control import ControlChannel


def fired_at(fault: fl.Fault, opportunities: int, step_ns: int = 1000) -> list[int]:
    plan = fl.FaultPlan(lambda o: None)
    plan.add(fault)
    return [i for i in range(opportunities) if plan.fire(fl.STREAM, i * step_ns)]


def test_when_a_fault_fires():
    assert fired_at(fl.Fault("dropped_frame"), 5) == [0]                     # once
    assert fired_at(fl.Fault("dropped_frame", every=3, count=None), 10) == [2, 5, 8]
    assert fired_at(fl.Fault("dropped_frame", count=2, every=2), 10) == [1, 3]
    assert fired_at(fl.Fault("dropped_frame", count=None, start_ns=3000, end_ns=6000),
                    10) == [3, 4, 5]
    seeded = fl.Fault("dropped_frame", probability=0.3, seed=11, count=None)
    first = fired_at(seeded, 200)
    assert first == fired_at(seeded, 200) and 30 < len(first) < 90     # reproducible
    assert fired_at(fl.Fault("dropped_frame", probability=0.3, seed=12, count=None),
                    200) != first


def test_faults_are_listed_cleared_and_observed():
    seen: list = []
    plan = fl.FaultPlan(seen.append)
    first = plan.add(fl.Fault("busy", count=None))
    plan.add(fl.Fault("failed_buffer", count=2))
    assert [f["kind"] for f in plan.listed()] == ["busy", "failed_buffer"]
    plan.fire(fl.STREAM, 5)
    plan.fire(fl.STREAM, 6)
    assert [f["kind"] for f in plan.listed()] == ["busy"]      # spent after its count
    assert seen == [fl.FaultFired(5, 2, "failed_buffer", 1), fl.FaultFired(6, 2, "failed_buffer", 2)]
    assert plan.clear(first) == 1 and plan.listed() == []
    with pytest.raises(KeyError):
        plan.clear(first)
    with pytest.raises(ValueError, match="no fault kind 'melt'"):
        fl.Fault("melt")
    with pytest.raises(ValueError, match="busy takes no delay_ms"):
        fl.Fault("busy", params={"delay_ms": 1.0})


@pytest.mark.parametrize("fault, says", [
    (dict(kind="pending_ack_storm", params={"pendings": 1e6}), "pendings = 1e\\+06: a whole"),
    (dict(kind="pending_ack_storm", params={"pendings": 2.5}), "a whole number from 1 to 100"),
    (dict(kind="status", params={"status": 0}), "status = 0: a whole number from 1 to 65535"),
    (dict(kind="slow_link", params={"rate_mb_s": 0}), "rate_mb_s = 0: a number from 0.001"),
    (dict(kind="truncated_payload", params={"fraction": -3}), "fraction = -3"),
    (dict(kind="late_ack", params={"delay_ms": -100}), "delay_ms = -100"),
    (dict(kind="disconnect", params={"replug_ms": -1}), "replug_ms = -1"),
    (dict(kind="busy", start_ns=10, end_ns=5), "window 10..5 ns"),
    (dict(kind="busy", probability=0.0), "probability = 0"),
    (dict(kind="busy", every=0), "every and count must be at least 1"),
])
def test_fault_settings_out_of_range_are_refused(fault, says):
    with pytest.raises(ValueError, match=says):
        fl.Fault(**fault)


def test_a_fault_whose_window_has_passed_leaves_the_plan():
    plan = fl.FaultPlan(lambda o: None)
    plan.add(fl.Fault("busy", count=None, end_ns=1000))
    assert plan.fire(fl.CONTROL, 500) and plan.listed()
    assert plan.fire(fl.CONTROL, 1000) == [] and plan.listed() == []


def one_frame(camera, host, node_map, fault: fl.Fault | None = None, width=64, height=8):
    node_map.Width.value, node_map.Height.value = width, height
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    program = program_like_aravis(host, max_transfer=128)   # several payload transfers
    if fault is not None:
        camera.faults.add(fault)
    node_map.AcquisitionStart.execute()
    host.clock.now = 1.0
    node_map.TriggerSoftware.execute()
    return program, pull_block(camera, program, 2.0)


def test_a_truncated_payload_keeps_the_hosts_transfers_in_step(rig):
    camera, host, node_map = rig
    program, block = one_frame(camera, host, node_map,
                               fl.Fault("truncated_payload", params={"fraction": 0.3}))
    assert (block.status, block.valid_payload_size) == (sp.STATUS_DATA_OVERRUN, 152)
    assert len(block.payload) == 152
    # every programmed transfer answered (the rest as zero-length), then the trailer
    assert block.transfer_lengths == [52, 128, 24, 0, 0, 32]   # leader, payload, trailer
    node_map.TriggerSoftware.execute()       # the next frame is whole again
    again = pull_block(camera, program, 3.0)
    assert (again.status, again.valid_payload_size) == (sp.STATUS_SUCCESS, 512)


def test_a_failed_buffer_says_data_discarded(rig):
    camera, host, node_map = rig
    _, block = one_frame(camera, host, node_map, fl.Fault("failed_buffer"))
    assert (block.status, block.valid_payload_size) == (sp.STATUS_DATA_DISCARDED, 512)


def test_a_dropped_frame_is_a_block_id_gap(rig):
    camera, host, node_map = rig
    program, block = one_frame(camera, host, node_map, fl.Fault("dropped_frame"))
    assert block is None
    host.clock.now = 2.5
    node_map.TriggerSoftware.execute()
    assert pull_block(camera, program, 3.0).block_id == 1          # frame 0 never left
    lost = [o for o in drain(camera) if isinstance(o, (ob.FrameDropped, fl.FaultFired))]
    assert [(o.kind, getattr(o, "cause", None)) for o in lost] == [
        ("fault", None), ("frame_dropped", "fault")]
    assert camera.stream_channel.stats.frames_dropped_fault == 1


@pytest.mark.parametrize("fault, earliest_s", [
    (fl.Fault("delayed_trailer", params={"delay_ms": 300}), 0.3),
    (fl.Fault("slow_link", params={"rate_mb_s": 0.002}), 0.26),    # 512 bytes at 2 kB/s
])
def test_a_late_trailer_or_a_slow_link_delays_the_frame(rig, fault, earliest_s):
    camera, lengths = software_triggered_frames(rig, fault, (1.0,))
    early = delivered(camera, lengths, 1.0 + earliest_s * 0.8)
    assert early < len(lengths)                                  # the frame is not done yet
    assert delivered(camera, lengths[early:], 1.0 + earliest_s + 0.01) == len(lengths) - early


def test_a_slow_link_carries_one_frame_at_a_time(rig):
    """A link slowed for every frame paces the stream, not each frame on its own: a frame
    read out while the one before is still going out waits for it (the frames' payloads
    never overlap on the link)."""
    camera, lengths = software_triggered_frames(                 # two frames, 10 ms apart
        rig, fl.Fault("slow_link", count=None, params={"rate_mb_s": 0.002}), (1.0, 1.01))
    assert delivered(camera, lengths, 1.3) == len(lengths)      # 512 bytes at 2 kB/s: 0.26 s
    # The second frame starts on the link when the first has left, at 1.3 s.
    early = delivered(camera, lengths, 1.3 + 0.2)
    assert early < len(lengths)
    assert delivered(camera, lengths[early:], 1.3 + 0.27) == len(lengths) - early


def software_triggered_frames(rig, fault: fl.Fault, at: tuple[float, ...]):
    """The rig's camera with ``fault`` injected, 64x8 frames software-triggered at the
    times ``at`` (seconds); the camera and a frame's transfer lengths as Aravis reads them."""
    camera, host, node_map = rig
    node_map.Width.value, node_map.Height.value = 64, 8
    node_map.ExposureTime.value = 100.0
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    program = program_like_aravis(host)
    camera.faults.add(fault)
    node_map.AcquisitionStart.execute()
    for now in at:
        host.clock.now = now
        node_map.TriggerSoftware.execute()
    return camera, [program.leader, *[program.transfer_size] * program.count, program.trailer]


def delivered(camera, lengths: list[int], now: float) -> int:
    """How many of the transfers (in order) the camera answers by ``now``."""
    for n, length in enumerate(lengths):
        if camera.read_stream(length, now) is None:
            return n
    return len(lengths)


def control_pair(*faults: fl.Fault):
    from u3v_sim.camera.camera import Camera
    camera = Camera()
    for fault in faults:
        camera.faults.add(fault)
    hook = lambda header, address, now: camera.faults.fire(   # noqa: E731
        fl.CONTROL, 0, lambda f: f.kind != "status" or int(f.param("address")) in (-1, address))
    return ControlChannel(camera, max_command_length=1024, max_ack_length=1024,
                          response_time_s=0.05, faults=hook)


def ack_of(packet: bytes) -> gencp.Ack:
    return gencp.Ack.parse(packet)


def test_control_faults_as_a_host_reads_them():
    read = gencp.readmem_command(7, 0x0, 4)
    channel = control_pair(fl.Fault("busy"))
    (busy,) = channel.receive(read, 0.0)
    assert ack_of(busy).status == gencp.Status.BUSY
    assert ack_of(channel.receive(read, 0.1)[0]).status == gencp.Status.SUCCESS
    channel = control_pair(fl.Fault("status", params={"status": 0x8006, "address": 4}))
    assert ack_of(channel.receive(read, 0.0)[0]).status == gencp.Status.SUCCESS  # address 0
    refused = channel.receive(gencp.readmem_command(8, 0x4, 4), 0.0)
    assert ack_of(refused[0]).status == 0x8006
    channel = control_pair(fl.Fault("pending_ack_storm", params={"pendings": 3,
                                                                 "timeout_ms": 40}))
    first = channel.receive(read, 0.0)
    assert [ack_of(a).command_id for a in first] == [gencp.CommandId.PENDING_ACK]
    later = channel.due_acks(0.02) + channel.due_acks(0.04) + channel.due_acks(0.06)
    assert [ack_of(a).command_id for a in later] == [
        gencp.CommandId.PENDING_ACK, gencp.CommandId.PENDING_ACK, gencp.CommandId.READMEM_ACK]
    channel = control_pair(fl.Fault("late_ack", params={"delay_ms": 200}))
    assert channel.receive(read, 0.0) == [] and not channel.accepting
    assert channel.due_acks(0.19) == [] and len(channel.due_acks(0.2)) == 1
    assert channel.accepting


def test_an_injected_chatter_ends_on_time_even_across_a_reset(rig):
    camera, host, node_map = rig
    camera.device_fault(fl.Fault("line_chatter", params={"line": 4, "duration_ms": 3000}), 1.0)
    camera.advance(1.5)
    host.clock.now = 1.5
    node_map.DeviceReset.execute()
    drain(camera)
    camera.advance(4.5)
    edges = [o for o in drain(camera) if isinstance(o, ob.LineEdge) and o.line == "Line4"]
    # the device clock restarted at the reset (1.5 s): the chatter ends at 4.0 s, 2.5 s later
    assert edges and edges[-1].timestamp_ns <= 2_500_000_000 and edges[-1].level is False
    assert camera.lines.status("Line4") is False
