"""Every feature of the table through the official GenApi, over real UVCP packets: read every
readable feature, write every writable one at its minimum, maximum and a middle value, and
check that out-of-range writes are refused by GenApi and by the device itself."""

from __future__ import annotations

import math
import struct

import pytest
from genicam import genapi

from u3v_features import FEATURES
from u3v_features.model import (BOOLEAN, COMMAND, ENUMERATION, FLOAT, INTEGER, STRING,
                                Feature)
from u3v_sim.camera.feature_registers import encode
from u3v_sim.protocol.gencp import Status
from u3v_sim.transports.inproc import ControlError

from genapi_host import instances, node, sweep, value_of

REGISTER_FEATURES = [f for f in FEATURES if f.data_port is None and not f.host_local]
PORT_DATA_FEATURES = [f for f in FEATURES if f.data_port is not None]
SETTINGS = [f for f in REGISTER_FEATURES if f.kind != COMMAND]
# Settings that make a feature writable in some instance (the sweep covers every feature).
ENABLERS = {
    "DeviceLinkThroughputLimit": [("DeviceLinkThroughputLimitMode", "On")],
    "OffsetX": [("CenterX", False)],
    "OffsetY": [("CenterY", False)],
    "LineSource": [("LineMode", "Output")],
    "LineMinimumOutputPulseWidth": [("LineMode", "Output")],
}
# Commands whose effect would undo the sweep's state; executed on their own below.
RESETTING_COMMANDS = {"DeviceReset", "UserSetLoad"}


def test_every_readable_feature_reads_the_device_value(node_map, camera):
    read = set()
    for feature in REGISTER_FEATURES:
        for _ in instances(node_map, feature):
            n = node(node_map, feature.name)
            if feature.kind == COMMAND:
                assert n.is_done()
                read.add(feature.name)
                continue
            if not genapi.is_available(n):
                assert not camera.store.is_available(feature.name), feature.name
                continue
            assert genapi.is_readable(n), feature.name
            expected = camera.store.get(feature.name)
            if feature.kind == FLOAT:
                assert n.value == pytest.approx(expected, rel=1e-12), feature.name
            else:
                assert value_of(n, feature) == expected, feature.name
            read.add(feature.name)
    assert read == {f.name for f in REGISTER_FEATURES}


def test_chunk_and_event_data_are_not_readable_before_a_chunk_or_event(node_map):
    assert {f.name for f in PORT_DATA_FEATURES} >= {"ChunkTimestamp", "EventExposureEndFrameID"}
    for feature in PORT_DATA_FEATURES:
        assert not genapi.is_readable(node(node_map, feature.name)), feature.name


def test_every_writable_feature_takes_min_max_and_middle(node_map, camera):
    writable = {f.name for f in SETTINGS if f.access != "RO"}
    written = sweep(node_map, camera, SETTINGS)
    for target, settings in ENABLERS.items():
        for name, value in settings:
            feature = next(f for f in FEATURES if f.name == name)
            for _ in instances(node_map, feature):
                n = node(node_map, name)
                if genapi.is_writable(n) and (feature.kind != ENUMERATION or genapi.is_available(
                        n.get_entry_by_name(value))):
                    n.value = value
        written |= sweep(node_map, camera, [f for f in SETTINGS if f.name == target])
    assert written == writable


def test_every_command_executes_and_completes(node_map, camera, host):
    commands = [f for f in REGISTER_FEATURES if f.kind == COMMAND]
    node_map.SequencerConfigurationMode.value = "On"   # (the sequencer's set commands)
    executed = set()
    for feature in sorted(commands, key=lambda f: f.name in RESETTING_COMMANDS):
        for _ in instances(node_map, feature):
            n = node(node_map, feature.name)
            if not genapi.is_writable(n):
                continue
            n.execute()
            assert n.is_done(), feature.name
            executed.add(feature.name)
    assert executed == {f.name for f in commands}
    assert host.pending_acks_seen >= 2  # UserSetSave and UserSetLoad are slow (DeviceReset acks at once)


def raw_write(host, camera, feature: Feature, value) -> None:
    register = camera.layout.value_register(feature.name)
    if feature.kind == FLOAT:
        data = struct.pack("<d", value)
    elif feature.kind == ENUMERATION and isinstance(value, int):
        data = struct.pack("<I", value)
    else:
        data = encode(register, feature, value)
    host.write(register.address, data)


def test_out_of_range_writes_are_refused_and_change_nothing(node_map, camera, host):
    checked = 0
    for feature in SETTINGS:
        if feature.access == "RO" or feature.kind == STRING:
            continue
        for _ in instances(node_map, feature):
            n = node(node_map, feature.name)
            if not genapi.is_writable(n):
                continue
            before = dict(camera.store.values)
            bad_values = []
            if feature.kind in (INTEGER, FLOAT):
                step = n.inc if feature.kind == INTEGER else max(abs(n.max) * 1e-6, 1e-3)
                for bad in (n.max + step, n.min - step):
                    bits = 8 * feature.length
                    lowest, top = (-(1 << bits - 1), 1 << bits - 1) if feature.signed else (0, 1 << bits)
                    if feature.kind == INTEGER and not lowest <= bad < top:
                        continue  # not representable in the register at all
                    with pytest.raises(genapi.OutOfRangeException):
                        n.value = bad
                    bad_values.append(bad)
                if feature.kind == FLOAT:
                    bad_values += [math.nan, math.inf]
                if feature.kind == INTEGER and n.inc > 1:
                    bad_values.append(n.min + 1)  # off the increment grid
            elif feature.kind == ENUMERATION:
                bad_values.append(max(e.value for e in feature.entries) + 1)
            elif feature.kind == BOOLEAN:
                bad_values.append(2)
            for bad in bad_values:
                with pytest.raises(ControlError) as refused:
                    raw_write(host, camera, feature, bad)
                assert refused.value.status == Status.INVALID_PARAMETER, (feature.name, bad)
                checked += 1
            assert camera.store.values == before, feature.name
    assert checked > 100


def test_locked_and_unavailable_features_are_refused_by_the_device(node_map, camera, host):
    node_map.LineSelector.value = "Line1"
    node_map.CenterX.value = True
    assert not genapi.is_writable(node(node_map, "OffsetX"))
    assert not genapi.is_available(node(node_map, "LineSource"))
    for name, value in (("OffsetX", 0), ("LineSource", "UserOutput1")):
        feature = next(f for f in FEATURES if f.name == name)
        with pytest.raises(ControlError) as refused:
            raw_write(host, camera, feature, value)
        assert refused.value.status == Status.ACCESS_DENIED
    # Line1's LineMode is writable, but only its Input entry is available: GenApi does not
    # offer Output, and the device refuses it.
    assert genapi.is_writable(node(node_map, "LineMode"))
    assert not genapi.is_available(node_map.LineMode.get_entry_by_name("Output"))
    with pytest.raises(ControlError) as refused:
        raw_write(host, camera, next(f for f in FEATURES if f.name == "LineMode"), "Output")
    assert refused.value.status == Status.INVALID_PARAMETER
    assert camera.store.get("LineMode") == "Input"
    feature = next(f for f in FEATURES if f.name == "SensorWidth")
    with pytest.raises(ControlError) as refused:
        raw_write(host, camera, feature, 100)
    assert refused.value.status == Status.WRITE_PROTECT
