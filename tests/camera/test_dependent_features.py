"""Features that depend on others follow them, as a host sees through GenApi, and PayloadSize
always equals the SIRM Required Payload Size."""

from __future__ import annotations

import struct

import pytest
from genicam import genapi

from u3v_features.bootstrap import SIRM
from u3v_sim.camera.camera import Camera
from u3v_sim.transports.inproc import InProcessHost

from genapi_host import connect_node_map


def required_payload_size(host) -> int:
    return struct.unpack("<Q", host.read(SIRM.BASE + SIRM.REQUIRED_PAYLOAD_SIZE, 8))[0]


def test_roi_limits_follow_offset_and_binning(node_map):
    assert (node_map.Width.value, node_map.Height.value) == (4096, 2168)
    assert (node_map.OffsetX.value, node_map.OffsetY.value) == (8, 4)
    assert node_map.WidthMax.value == node_map.Width.max == 4112 - 8
    node_map.OffsetX.value = 16
    assert node_map.WidthMax.value == node_map.Width.max == 4096
    assert node_map.OffsetX.max == 16
    node_map.BinningHorizontal.value = 2
    # Binned: the width shrinks into the binned sensor and the offset is re-limited.
    assert node_map.WidthMax.value == 4112 // 2 - node_map.OffsetX.value
    assert node_map.Width.value <= node_map.WidthMax.value
    node_map.BinningVertical.value = 4
    assert node_map.HeightMax.value == 2176 // 4 - node_map.OffsetY.value
    assert node_map.Height.value == node_map.HeightMax.value


def test_payload_size_follows_roi_format_binning_and_chunks(node_map, host):
    def check(expected):
        assert node_map.PayloadSize.value == expected == required_payload_size(host)

    check(4096 * 2168)
    node_map.Width.value, node_map.Height.value = 1024, 1000
    check(1024 * 1000)
    for fmt, bits in (("Mono10", 16), ("Mono10p", 10), ("Mono12", 16), ("Mono12p", 12)):
        node_map.PixelFormat.value = fmt
        check(-(-1024 * 1000 * bits // 8))
    node_map.PixelFormat.value = "Mono8"
    node_map.BinningHorizontal.value = 2
    check(node_map.Width.value * node_map.Height.value)
    node_map.ChunkModeActive.value = True
    check(node_map.Width.value * node_map.Height.value + 8)  # the image chunk's id + length
    node_map.ChunkSelector.value = "Timestamp"
    node_map.ChunkEnable.value = True
    node_map.ChunkSelector.value = "LineStatusAll"
    node_map.ChunkEnable.value = True
    check(node_map.Width.value * node_map.Height.value + 8 + 16 + 12)


def test_pixel_format_sets_size_and_dynamic_range(node_map):
    for fmt, size, top in (("Mono8", "Bpp8", 255), ("Mono10", "Bpp16", 1023),
                           ("Mono10p", "Bpp10", 1023), ("Mono12", "Bpp16", 4095),
                           ("Mono12p", "Bpp12", 4095)):
        node_map.PixelFormat.value = fmt
        assert node_map.PixelSize.value == size
        assert node_map.PixelDynamicRangeMax.value == top


def test_center_x_recentres_and_locks_the_offset(node_map):
    node_map.Width.value = 2048
    node_map.CenterX.value = True
    assert node_map.OffsetX.value == (4112 - 2048) // 2 // 4 * 4
    assert not genapi.is_writable(node_map.get_node("OffsetX"))
    node_map.Width.value = 1000
    assert node_map.OffsetX.value == (4112 - 1000) // 2 // 4 * 4
    node_map.CenterX.value = False
    assert genapi.is_writable(node_map.get_node("OffsetX"))


def test_line_mode_decides_which_line_features_apply(node_map):
    node_map.LineSelector.value = "Line3"
    assert node_map.LineFormat.value == "TTL"
    assert genapi.is_available(node_map.get_node("LineDebouncerTime"))
    assert not genapi.is_available(node_map.get_node("LineSource"))
    node_map.LineMode.value = "Output"
    assert genapi.is_available(node_map.get_node("LineSource"))
    assert not genapi.is_available(node_map.get_node("LineDebouncerTime"))
    node_map.LineSelector.value = "Line2"
    assert node_map.LineFormat.value == "OptoCoupled"
    assert node_map.LineMode.value == "Output"
    # Writable (real saved files restore it), with Output its only available entry.
    node_map.LineMode.value = "Output"
    assert [e.symbolic for e in node_map.LineMode.entries if genapi.is_available(e)] == ["Output"]


def test_user_outputs_drive_lines_and_their_summary(node_map):
    node_map.LineSelector.value = "Line3"
    node_map.LineMode.value = "Output"
    node_map.LineSource.value = "UserOutput2"
    assert node_map.LineStatus.value is False
    node_map.UserOutputSelector.value = "UserOutput2"
    node_map.UserOutputValue.value = True
    assert node_map.UserOutputValueAll.value == 0b0100
    assert node_map.LineStatus.value is True
    assert node_map.LineStatusAll.value == 0b0100
    node_map.LineInverter.value = True
    assert node_map.LineStatus.value is False
    node_map.UserOutputValueAll.value = 0b1001
    node_map.UserOutputSelector.value = "UserOutput3"
    assert node_map.UserOutputValue.value is True
    node_map.UserOutputSelector.value = "UserOutput2"
    assert node_map.UserOutputValue.value is False


def test_exposure_and_link_limits_set_the_resulting_frame_rate(node_map):
    assert node_map.ResultingFrameRate.value == pytest.approx(42.7, rel=1e-9)
    node_map.ExposureTime.value = 50_000.0
    assert node_map.ResultingFrameRate.value == pytest.approx(20.0)
    node_map.ExposureTime.value = 5_000.0
    node_map.DeviceLinkThroughputLimitMode.value = "On"
    node_map.DeviceLinkThroughputLimit.value = 88_801_280
    assert node_map.ResultingFrameRate.value == pytest.approx(10.0)
    node_map.DeviceLinkThroughputLimitMode.value = "Off"
    node_map.Height.value = 1084
    assert node_map.ResultingFrameRate.value == pytest.approx(85.4)
    node_map.AcquisitionFrameRateEnable.value = True
    node_map.AcquisitionFrameRate.value = 30.0
    assert node_map.ResultingFrameRate.value == pytest.approx(30.0)


def test_timestamp_latch_reads_the_device_clock(node_map, host):
    host.clock.now = 1.5
    node_map.TimestampLatch.execute()
    assert node_map.TimestampLatchValue.value == 1_500_000_000


def test_user_sets_save_load_and_survive_a_restart(node_map, camera, host, tmp_path):
    node_map.Width.value = 2000
    node_map.PixelFormat.value = "Mono12p"
    node_map.LineSelector.value = "Line3"
    node_map.LineDebouncerTime.value = 12.5
    node_map.UserSetSelector.value = "UserSet2"
    node_map.UserSetSave.execute()
    node_map.UserSetDefault.value = "UserSet2"
    node_map.UserSetSelector.value = "Default"
    node_map.UserSetLoad.execute()
    assert (node_map.Width.value, node_map.PixelFormat.value) == (4096, "Mono8")
    assert not genapi.is_writable(node_map.get_node("UserSetSave"))  # factory set is read-only
    node_map.UserSetSelector.value = "UserSet2"
    node_map.UserSetLoad.execute()
    assert (node_map.Width.value, node_map.PixelFormat.value) == (2000, "Mono12p")
    assert host.pending_acks_seen == 3

    restarted = Camera(serial="40012345", state_dir=tmp_path / "state")
    node_map2, _ = connect_node_map(InProcessHost(restarted))
    assert node_map2.UserSetDefault.value == "UserSet2"
    assert (node_map2.Width.value, node_map2.PixelFormat.value) == (2000, "Mono12p")
    node_map2.LineSelector.value = "Line3"
    assert node_map2.LineDebouncerTime.value == 12.5


def test_device_reset_returns_to_the_startup_state(node_map, host):
    node_map.Width.value = 1024
    node_map.DeviceUserID.value = "left"
    node_map.DeviceReset.execute()
    assert node_map.Width.value == 4096
    assert node_map.DeviceUserID.value == "left"  # the user name is kept in non-volatile memory


def test_every_roi_in_every_pixel_format_keeps_the_payload_alignment(node_map):
    """Every Width and Height GenApi offers (minimum + n * increment, at every binning) gives
    an image whose size is a multiple of the payload alignment: hosts program the payload
    size as a transfer size (Aravis for payloads under 1 MiB), which must be aligned."""
    from u3v_features.acA4096_40um import PIXEL_BITS
    from u3v_sim.camera.stream_interface import ALIGNMENT
    for binning in (1, 2, 3, 4):
        node_map.BinningHorizontal.value = node_map.BinningVertical.value = binning
        width, height = node_map.Width, node_map.Height
        assert width.min % width.inc == 0 and height.min % height.inc == 0
        for name, bits in PIXEL_BITS.items():
            assert (width.inc * height.inc * bits) % (8 * ALIGNMENT) == 0, (name, binning)
    node_map.BinningHorizontal.value = node_map.BinningVertical.value = 1
    for name in PIXEL_BITS:   # and as the device reports it, at the smallest ROI
        node_map.PixelFormat.value = name
        node_map.Width.value, node_map.Height.value = node_map.Width.min, node_map.Height.min
        assert node_map.PayloadSize.value % ALIGNMENT == 0, name


@pytest.mark.parametrize("binning", [1, 2, 3, 4])
def test_every_maximum_is_a_value_the_feature_takes(node_map, binning):
    """GenApi hosts set ``Max`` as a value (Width = Width.Max is a common idiom): every
    integer's maximum lies on its increment grid, at every binning and offset."""
    node_map.BinningHorizontal.value = node_map.BinningVertical.value = binning
    for offset_x, offset_y in ((0, 0), (4, 2), (12, 6), (100, 50)):
        node_map.Width.value, node_map.Height.value = node_map.Width.min, node_map.Height.min
        node_map.OffsetX.value = min(offset_x, node_map.OffsetX.max)
        node_map.OffsetY.value = min(offset_y, node_map.OffsetY.max)
        node_map.Width.value = node_map.Width.max
        node_map.Height.value = node_map.Height.max
        assert node_map.Width.value == node_map.Width.max
        node_map.Width.value = node_map.Width.min
        node_map.OffsetX.value = node_map.OffsetX.max
        node_map.OffsetY.value = node_map.OffsetY.max
