"""Stream transfers as a host receives them: leader, payload in the programmed transfers and
trailer, for several ROIs and pixel formats, with chunks; parsed by an independent parser."""

from __future__ import annotations

import binascii
import struct

import pytest

from stream_host import (parse_leader, program_like_aravis, pull_block,
                         walk_chunks)
from u3v_features.acA4096_40um import CHUNKS, IMAGE_CHUNK_ID, PIXEL_FORMATS
from u3v_sim.camera.streaming import TransferOverflow

PFNC = {e.name: e.value for e in PIXEL_FORMATS}
BITS = {"Mono8": 8, "Mono10": 16, "Mono12": 16, "Mono10p": 10, "Mono12p": 12}




def take_one_frame(camera, host, node_map, max_transfer=1024 * 1024):
    program = program_like_aravis(host, max_transfer)
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionStart.execute()
    host.clock.now += 0.001
    node_map.TriggerSoftware.execute()
    camera.advance(host.clock.now + 0.2)
    return program, pull_block(camera, program, host.clock.now + 0.2)


@pytest.mark.parametrize("width, height, offset_x, offset_y, fmt", [
    (4096, 2168, 8, 4, "Mono8"),
    (1024, 768, 100, 50, "Mono12p"),
    (640, 480, 0, 0, "Mono10p"),
    (2000, 1000, 12, 2, "Mono12"),
    (16, 2, 4096, 2174, "Mono10"),
])
def test_blocks_for_rois_and_pixel_formats(rig, width, height, offset_x, offset_y, fmt):
    camera, host, node_map = rig
    node_map.OffsetX.value = node_map.OffsetY.value = 0
    node_map.Width.value, node_map.Height.value = width, height
    node_map.OffsetX.value, node_map.OffsetY.value = offset_x, offset_y
    node_map.PixelFormat.value = fmt
    program, block = take_one_frame(camera, host, node_map)
    size = -(-width * height * BITS[fmt] // 8)
    assert node_map.PayloadSize.value == size == program.payload_size
    assert (block.block_id, block.payload_type, block.pixel_format) == (0, 0x0001, PFNC[fmt])
    assert (block.width, block.height, block.offset_x, block.offset_y) == (
        width, height, offset_x, offset_y)
    assert block.timestamp == 1_000_000
    assert (block.status, block.valid_payload_size, block.size_y) == (0, size, height)
    assert block.chunk_layout_id is None
    assert len(block.payload) == size
    # Exactly the programmed transfers: count x transfer size, then the remainder.
    remainder = size - program.count * program.transfer_size
    expected = [52] + [program.transfer_size] * program.count + (
        [remainder] if remainder else []) + [32]
    assert block.transfer_lengths == expected
    assert camera.stream_channel.stats.frames_sent == 1


def small_triggered_stream(camera, host, node_map):
    node_map.Width.value, node_map.Height.value = 64, 8
    program = program_like_aravis(host)
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionStart.execute()
    return program


def trigger(camera, host, node_map, at: float) -> None:
    host.clock.now = at
    node_map.TriggerSoftware.execute()
    camera.advance(at + 0.01)        # exposure 5 ms + readout: the frame is complete


def test_block_ids_count_up_and_an_idle_stream_sends_nothing(rig):
    camera, host, node_map = rig
    program = small_triggered_stream(camera, host, node_map)
    for i in range(4):
        trigger(camera, host, node_map, 0.1 * (i + 1))
    ids = [pull_block(camera, program, 0.5).block_id for _ in range(4)]
    assert ids == [0, 1, 2, 3]
    assert camera.read_stream(program.leader, 0.5) is None
    node_map.AcquisitionStop.execute()
    trigger(camera, host, node_map, 0.6)     # stopped: the trigger is ignored
    assert camera.read_stream(program.leader, 0.7) is None


def small_roi_with_every_chunk(node_map) -> None:
    node_map.Width.value, node_map.Height.value = 256, 100
    node_map.ChunkModeActive.value = True
    for name in CHUNKS:
        node_map.ChunkSelector.value = name
        node_map.ChunkEnable.value = True


def test_chunks_follow_the_image_and_are_found_walking_backwards(rig):
    camera, host, node_map = rig
    small_roi_with_every_chunk(node_map)
    node_map.ExposureTime.value = 1234.5
    node_map.Gain.value = 6.0
    node_map.CounterSelector.value = "Counter1"
    program, block = take_one_frame(camera, host, node_map)
    assert block.payload_type == 0x4001
    assert len(block.payload) == node_map.PayloadSize.value == program.payload_size
    assert block.chunk_layout_id is not None and block.valid_payload_size == len(block.payload)
    chunks = walk_chunks(block.payload)
    image = chunks[IMAGE_CHUNK_ID]
    assert len(image) == 256 * 100
    assert struct.unpack("<Q", chunks[CHUNKS["Timestamp"][0]])[0] == block.timestamp
    assert struct.unpack("<d", chunks[CHUNKS["ExposureTime"][0]])[0] == 1234.5
    assert struct.unpack("<d", chunks[CHUNKS["Gain"][0]])[0] == 6.0
    # Both counters count frame starts by default, this frame's included.
    assert struct.unpack("<II", chunks[CHUNKS["CounterValue"][0]]) == (1, 1)
    # The CRC chunk comes last and covers all before it: the image, its chunk tag and the
    # other chunks (Basler's definition; pylon's CheckCRC is the oracle in the transport
    # tests).
    payload = bytes(block.payload)
    crc_id, crc_length = struct.unpack("<II", payload[-8:])
    assert (crc_id, crc_length) == (CHUNKS["PayloadCRC16"][0], 4)
    assert struct.unpack("<I", chunks[CHUNKS["PayloadCRC16"][0]])[0] == binascii.crc_hqx(
        payload[:-12], 0)


def test_a_full_camera_buffer_drops_new_frames_and_counts_them(rig):
    camera, host, node_map = rig
    program_like_aravis(host)
    node_map.AcquisitionStart.execute()
    camera.advance(2.0)                      # nobody reads: 64 MiB hold 7 default frames
    stats = camera.stream_channel.stats
    assert stats.frames_queued == 7
    read_out = camera.acquisition.stats.frames_completed + camera.acquisition.reading_out
    assert stats.frames_dropped_buffer_full == read_out - 7


def test_frames_before_the_stream_is_enabled_are_dropped(rig):
    camera, host, node_map = rig
    node_map.AcquisitionStart.execute()
    camera.advance(0.1)   # exposures at 0, 23.4, 46.8, 70.3, 93.7 ms, each 5 ms long
    assert camera.stream_channel.stats.frames_dropped_not_streaming == 5
    assert camera.read_stream(1024, 0.1) is None


def test_clear_halt_and_stream_disable_discard_the_block_in_flight(rig):
    camera, host, node_map = rig
    program = small_triggered_stream(camera, host, node_map)
    trigger(camera, host, node_map, 0.1)
    leader = camera.read_stream(program.leader, 0.2)
    assert parse_leader(bytes(leader))["block_id"] == 0
    camera.clear_stream_halt()
    assert camera.read_stream(program.leader, 0.2) is None
    trigger(camera, host, node_map, 0.3)
    assert pull_block(camera, program, 0.4).block_id == 1
    trigger(camera, host, node_map, 0.5)
    camera.read_stream(program.leader, 0.6)
    host.write(0xAFFD0004, struct.pack("<I", 0))            # SI Control = 0 mid-block
    host.write(0xAFFD0004, struct.pack("<I", 1))
    assert camera.read_stream(program.leader, 0.6) is None
    assert camera.stream_channel.stats.frames_aborted == 2


def test_zero_length_packet_and_overflow(rig):
    camera, host, node_map = rig
    node_map.Width.value, node_map.Height.value = 1024, 4      # 4096 B = 4 full packets
    program = program_like_aravis(host)
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionStart.execute()
    trigger(camera, host, node_map, 0.1)
    trigger(camera, host, node_map, 0.2)
    camera.read_stream(program.leader, 0.3)
    assert len(camera.read_stream(8192, 0.3)) == 4096       # ended by a zero-length packet
    assert camera.stream_channel.stats.zero_length_packets == 1
    camera.read_stream(program.trailer, 0.3)
    camera.read_stream(program.leader, 0.3)
    with pytest.raises(TransferOverflow):
        camera.read_stream(1000, 0.3)                         # not a packet multiple
    assert camera.stream_channel.stats.overflows == 1


def test_payload_larger_than_the_programmed_transfers_is_an_overrun(rig):
    camera, host, node_map = rig
    node_map.Width.value, node_map.Height.value = 64, 8
    program = program_like_aravis(host)
    node_map.Width.value = 128                                 # grows after programming
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionStart.execute()
    trigger(camera, host, node_map, 0.1)
    first = camera.read_stream(program.leader, 0.2)
    payload = camera.read_stream(program.transfer_size, 0.2)
    trailer = camera.read_stream(program.trailer, 0.2)
    assert len(first) == 52 and len(payload) == 512
    parsed = __import__("stream_host").parse_trailer(bytes(trailer))
    assert parsed["status"] == 0xA101 and parsed["valid_payload_size"] == 512


def test_frame_data_leaves_the_camera_as_the_sensor_is_read_out(rig):
    camera, host, node_map = rig
    program = program_like_aravis(host)              # 8 x 1 MiB + 491,520 B
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionStart.execute()
    host.clock.now = 1.0
    node_map.TriggerSoftware.execute()
    readout_start = 1.0 + 0.005                      # after the 5 ms exposure
    readout_s = 1 / 42.7
    assert camera.read_stream(program.leader, readout_start - 1e-4) is None
    assert len(camera.read_stream(program.leader, readout_start)) == 52
    first_mib_ready = readout_start + readout_s * (1 << 20) / (4096 * 2168)
    assert camera.next_deadline() == pytest.approx(first_mib_ready)
    assert camera.read_stream(program.transfer_size, first_mib_ready - 1e-4) is None
    assert len(camera.read_stream(program.transfer_size, first_mib_ready)) == 1 << 20
    for _ in range(7):
        camera.read_stream(program.transfer_size, readout_start + readout_s)
    camera.read_stream(program.final1, readout_start + readout_s)
    trailer = camera.read_stream(program.trailer, readout_start + readout_s)
    assert len(trailer) == 32


def test_the_official_genapi_reads_every_chunk_feature_from_a_block(rig):
    """The chunk ports of the XML work with GenApi's U3V chunk adapter on a real payload."""
    from genicam import genapi

    camera, host, node_map = rig
    small_roi_with_every_chunk(node_map)
    node_map.ExposureTime.value = 1500.0
    node_map.Gain.value = 3.0
    _, block = take_one_frame(camera, host, node_map)
    adapter = genapi.ChunkAdapterU3V(node_map)
    adapter.attach_buffer(block.payload, len(block.payload))
    try:
        assert node_map.ChunkTimestamp.value == block.timestamp
        assert node_map.ChunkExposureTime.value == 1500.0
        assert node_map.ChunkGain.value == 3.0
        assert node_map.ChunkLineStatusAll.value == 0
        assert node_map.ChunkCounterValue.value == 1
        assert node_map.ChunkGainSelector.value == "All"
        assert node_map.ChunkPayloadCRC16.value == binascii.crc_hqx(
            bytes(block.payload)[:-12], 0)  # all before the CRC chunk (its data and tag)
    finally:
        adapter.detach_buffer()


def test_counters_are_read_from_the_chunks_by_chunk_counter_selector(rig):
    """Counters count frame starts, end (and restart) at their duration, reset on
    CounterReset; ChunkCounterSelector picks which one ChunkCounterValue reads (official
    GenApi chunk adapter)."""
    from genapi_host import triggered_chunk_frames

    camera, host, node_map = rig
    node_map.CounterSelector.value = "Counter2"
    node_map.CounterDuration.value = 3

    def both(n) -> tuple[int, int]:
        values = []
        for counter in ("Counter1", "Counter2"):
            n.ChunkCounterSelector.value = counter
            values.append(n.ChunkCounterValue.value)
        return tuple(values)

    def reset_counter1_before_frame_5(i: int) -> None:
        if i == 5:
            node_map.CounterSelector.value = "Counter1"
            node_map.CounterReset.execute()
    seen = triggered_chunk_frames(camera, host, node_map, CHUNKS, 7, both,
                                  reset_counter1_before_frame_5)
    assert seen == [(1, 1), (2, 2), (3, 0), (4, 1), (5, 2), (1, 0), (2, 1)]


def test_a_frame_that_cannot_be_built_is_lost_not_stuck(rig):
    camera, host, node_map = rig
    program = small_triggered_stream(camera, host, node_map)
    trigger(camera, host, node_map, 0.1)
    trigger(camera, host, node_map, 0.2)
    channel = camera.stream_channel
    record = channel.take_for_preparation()
    channel.finish_preparation(record, None)           # the render failed
    assert channel.stats.frames_aborted == 1
    assert pull_block(camera, program, 0.3).block_id == 1


def test_a_transfer_reaped_late_still_holds_its_own_frame(rig):
    """The data of a completed transfer reaches the host when it reaps it: until then the
    frame's buffer is not reused for later frames (pylon reaps late at an acquisition's start;
    with chunks, frames were built in a ring of three buffers and it got frame N+3's bytes)."""
    camera, host, node_map = rig
    small_roi_with_every_chunk(node_map)
    program = small_triggered_stream(camera, host, node_map)
    held, copies = [], []
    for i in range(6):
        trigger(camera, host, node_map, 0.1 * (i + 1))
        pieces = [camera.read_stream(program.leader, 0.1 * (i + 1) + 0.05)]
        for _ in range(program.count):
            pieces.append(camera.read_stream(program.transfer_size, 0.1 * (i + 1) + 0.05))
        if program.final1:
            pieces.append(camera.read_stream(program.final1, 0.1 * (i + 1) + 0.05))
        camera.read_stream(program.trailer, 0.1 * (i + 1) + 0.05)
        held.append(pieces)                          # not reaped yet: views kept
        copies.append([bytes(p) for p in pieces])
    assert [[bytes(p) for p in pieces] for pieces in held] == copies
    assert len({c[1] for c in copies}) == 6          # (each frame's own chunk data)
