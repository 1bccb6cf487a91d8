"""The small ace USB nodes, through the official GenApi on the in-process camera: parameter
limits, test image hold, idle state, link speed, shutter and line logic, user-defined values."""

from __future__ import annotations

import hashlib

import pytest
from genicam import genapi

from genapi_host import triggered_chunk_frames
from stream_host import program_like_aravis, pull_block, sirm
from u3v_features.bootstrap import SIRM


def test_remove_parameter_limit_widens_the_range_and_the_value_comes_back_inside(node_map):
    assert (node_map.Gain.min, node_map.Gain.max) == (0.0, 24.0)
    assert node_map.ExposureTime.min == 16.0
    with pytest.raises(genapi.OutOfRangeException):
        node_map.Gain.value = 30.0
    node_map.RemoveParameterLimitSelector.value = "Gain"
    node_map.RemoveParameterLimit.value = True
    assert node_map.Gain.max == 36.0
    node_map.Gain.value = 30.0
    node_map.RemoveParameterLimitSelector.value = "ExposureTime"
    node_map.RemoveParameterLimit.value = True
    node_map.ExposureTime.value = 5.0
    assert node_map.ExposureTime.value == 5.0
    # Limits back: the values are brought into the factory range.
    node_map.RemoveParameterLimit.value = False
    node_map.RemoveParameterLimitSelector.value = "Gain"
    node_map.RemoveParameterLimit.value = False
    assert (node_map.Gain.max, node_map.Gain.value) == (24.0, 24.0)
    assert node_map.ExposureTime.value == 16.0


def test_reset_and_hold_keeps_a_moving_test_image_at_its_start(camera, host, node_map):
    node_map.Width.value, node_map.Height.value = 64, 8
    node_map.TestImageSelector.value = "Testimage2"         # moves one pixel per frame
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    program = program_like_aravis(host)
    node_map.AcquisitionStart.execute()

    def frame(at: float) -> str:
        host.clock.now = at
        node_map.TriggerSoftware.execute()
        return hashlib.sha256(pull_block(camera, program, at + 0.05).payload).hexdigest()

    moving = [frame(0.1 * i) for i in range(1, 4)]
    assert len(set(moving)) == 3
    node_map.TestImageResetAndHold.value = True
    held = [frame(0.1 * i) for i in range(4, 7)]
    assert held == [moving[0]] * 3                           # back at the start, held
    node_map.TestImageResetAndHold.value = False
    again = [frame(0.1 * i) for i in range(7, 10)]
    assert again[0] == held[0] and len(set(again)) == 3    # moves on from its start


def test_acquisition_idle_follows_the_acquisition(node_map):
    assert node_map.AcquisitionIdle.value is True
    node_map.AcquisitionStart.execute()
    assert node_map.AcquisitionIdle.value is False
    node_map.AcquisitionStop.execute()
    assert node_map.AcquisitionIdle.value is True


def test_read_only_facts_of_this_camera(node_map):
    assert node_map.BslUSBSpeedMode.value == "SuperSpeed"
    assert not genapi.is_writable(node_map.get_node("BslUSBSpeedMode"))
    assert node_map.ShutterMode.value == "Global"
    assert node_map.PixelColorFilter.value == "None"
    for line in ("Line1", "Line2", "Line3", "Line4"):
        node_map.LineSelector.value = line
        assert node_map.LineLogic.value == "Positive"


def test_user_defined_values_are_kept_in_user_sets(node_map):
    node_map.UserDefinedValueSelector.value = "Value4"
    node_map.UserDefinedValue.value = -123456
    assert (node_map.UserDefinedValue.min, node_map.UserDefinedValue.max) == (-2**31, 2**31 - 1)
    node_map.UserSetSelector.value = "UserSet2"
    node_map.UserSetSave.execute()
    node_map.UserDefinedValue.value = 7
    node_map.UserSetLoad.execute()
    assert node_map.UserDefinedValue.value == -123456
    node_map.UserDefinedValueSelector.value = "Value1"
    assert node_map.UserDefinedValue.value == 0


def test_the_lut_is_not_in_user_sets_and_a_bad_table_changes_nothing(node_map, camera, host):
    """Basler: on ace U/L the LUT is not part of user sets. LUTValueAll takes the table in
    pieces (a host's WRITEMEMs); an entry above 4095 is refused and nothing changes."""
    import struct

    from genapi_host import value_of
    from u3v_features.acA4096_40um import BY_NAME
    from u3v_sim.transports.inproc import ControlError

    node_map.UserSetSelector.value = "UserSet1"
    node_map.UserSetSave.execute()
    node_map.LUTIndex.value = 8
    node_map.LUTValue.value = 4000
    node_map.UserSetLoad.execute()
    assert node_map.LUTValue.value == 4000
    table = value_of(node_map.get_node("LUTValueAll"), BY_NAME["LUTValueAll"])
    assert struct.unpack_from("<3I", table, 28) == (0, 4000, 0)      # words 7, 8, 9
    register = camera.layout.value_register("LUTValueAll")
    bad = bytearray(table)
    struct.pack_into("<I", bad, 4 * 16, 4096)                         # entry 16 too high
    with pytest.raises(ControlError):
        host.write(register.address, bytes(bad))
    assert camera.store.get("LUTValue", 16) == 16 and camera.store.get("LUTValue", 8) == 4000


def test_factory_sets_high_gain_and_auto_functions(node_map, camera):
    """Basler's factory sets: HighGain raises the gain, AutoFunctions turns ExposureAuto and
    GainAuto on; neither can be overwritten; one can be the set the camera starts with."""
    node_map.UserSetSelector.value = "HighGain"
    node_map.UserSetLoad.execute()
    assert node_map.Gain.value == 6.0 and node_map.ExposureAuto.value == "Off"
    assert not genapi.is_writable(node_map.get_node("UserSetSave"))
    node_map.UserSetSelector.value = "AutoFunctions"
    node_map.UserSetLoad.execute()
    assert (node_map.ExposureAuto.value, node_map.GainAuto.value) == ("Continuous",) * 2
    assert node_map.Gain.value == 0.0
    node_map.UserSetDefault.value = "AutoFunctions"
    node_map.UserSetSelector.value = "Default"
    node_map.UserSetLoad.execute()
    assert node_map.ExposureAuto.value == "Off"
    node_map.AcquisitionStart.execute()              # refused while acquiring
    assert not genapi.is_writable(node_map.get_node("UserSetLoad"))
    node_map.AcquisitionStop.execute()
    node_map.DeviceReset.execute()                   # boots with its startup set
    assert camera.store.get("ExposureAuto") == "Continuous"


def test_a_level_activated_counter_reset_holds_the_counter_at_zero(camera, host, node_map):
    """Read from each frame's chunk (GenApi's chunk adapter) while Line3 is held high for
    two frames."""
    node_map.CounterSelector.value = "Counter1"
    node_map.CounterResetSource.value = "Line3"
    node_map.CounterResetActivation.value = "LevelHigh"
    counts = triggered_chunk_frames(
        camera, host, node_map, ("CounterValue",), 6, lambda n: n.ChunkCounterValue.value,
        lambda i: camera.drive_line("Line3", host.clock.now, level=i in (2, 3)))
    assert counts == [1, 2, 0, 0, 1, 2]


def test_the_stream_programming_reads_back_as_features(host, node_map):
    program = program_like_aravis(host)
    assert (node_map.SIPayloadTransferSize.value, node_map.SIPayloadTransferCount.value,
            node_map.SIPayloadFinalTransfer1Size.value) == (
        program.transfer_size, program.count, program.final1)
    assert node_map.SIPayloadFinalTransfer2Size.value == sirm(host, SIRM.PAYLOAD_FINAL_TRANSFER2_SIZE)


def test_an_overloaded_gpio_output_is_off_until_line_overload_reset(camera, host, node_map):
    from u3v_sim import faults as fl
    node_map.LineSelector.value = "Line3"
    node_map.LineMode.value = "Output"
    node_map.LineSource.value = "UserOutput2"
    node_map.UserOutputSelector.value = "UserOutput2"
    node_map.UserOutputValue.value = True
    assert node_map.LineStatus.value is True and node_map.LineOverloadStatus.value is False
    camera.device_fault(fl.Fault("line_overload", params={"line": 3}), host.clock.now)
    assert node_map.LineStatus.value is False and node_map.LineOverloadStatus.value is True
    node_map.LineOverloadReset.execute()
    assert node_map.LineStatus.value is True and node_map.LineOverloadStatus.value is False
    node_map.LineSelector.value = "Line1"                 # opto-coupled: no overload reset
    assert not genapi.is_available(node_map.get_node("LineOverloadReset"))
