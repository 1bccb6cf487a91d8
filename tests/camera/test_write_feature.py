"""Camera.write_feature: a by-name write (the config's [camera.features]) goes through the same
register write and checks a host's GenCP write does, and says clearly what it refuses."""

import pytest

from genapi_host import connect_node_map
from u3v_sim.camera.camera import Camera, FeatureWriteError
from u3v_sim.transports.inproc import InProcessHost


@pytest.fixture
def camera():
    return Camera(serial="40012345")


@pytest.mark.parametrize("name, value, held", [
    ("Width", 2048, 2048),
    ("Width", "2048", 2048),          # a decimal string, coerced by the feature's kind
    ("Width", " 1024 ", 1024),
    ("ExposureTime", 12000, 12000.0),
    ("ExposureTime", "1.5e4", 15000.0),
    ("ReverseX", True, True),
    ("ReverseX", "true", True),
    ("ReverseX", 0, False),
    ("PixelFormat", "Mono12p", "Mono12p"),
    ("DeviceUserID", "left", "left"),
])
def test_values_are_coerced_by_kind_and_written(camera, name, value, held):
    assert camera.write_feature(name, value, 0.0) == held
    assert camera.store.get(name) == held


def test_a_host_reads_what_was_written_by_name(camera):
    camera.write_feature("Width", "2048", 0.0)
    camera.write_feature("PixelFormat", "Mono12p", 0.0)
    node_map, _ = connect_node_map(InProcessHost(camera))
    assert (node_map.Width.value, node_map.PixelFormat.value) == (2048, "Mono12p")
    assert node_map.PayloadSize.value == 2048 * 2168 * 12 // 8  # derived values follow


@pytest.mark.parametrize("name, value, says", [
    ("Width", 99999, "Width = 99999: 99999 above maximum 4104 (INVALID_PARAMETER)"),
    ("Width", 2047, "not a multiple of the increment 8"),
    ("Width", 2052, "not a multiple of the increment 8"),
    ("Width", 1 << 40, "outside Width's range 16..4104"),  # never wrapped into the register
    ("OffsetX", -4, "outside OffsetX's range 0..16"),
    ("Width", "0x800", "Width is Integer, give an integer"),
    ("Width", 2048.0, "Width is Integer"),
    ("Width", True, "Width is Integer"),
    ("ExposureTime", "fast", "ExposureTime is Float"),
    ("Gain", float("nan"), "not a finite number"),
    ("ReverseX", "no", "ReverseX is Boolean, give true or false"),
    ("ReverseX", 2, "ReverseX is Boolean"),
    ("PixelFormat", "RGB8", "give one of Mono8, Mono10, Mono10p, Mono12, Mono12p"),
    ("PixelFormat", 1, "PixelFormat is Enumeration"),
    ("DeviceUserID", "x" * 65, "longer than 64 bytes"),
    ("DeviceUserID", 5, "DeviceUserID is String"),
    ("AcquisitionStart", 1, "AcquisitionStart is a command, not a setting"),
    ("UserSetSave", 1, "is a command"),
    ("SensorWidth", 10, "SensorWidth is read-only"),
    ("PayloadSize", 10, "PayloadSize is read-only"),
    ("ChunkTimestamp", 1, "ChunkTimestamp is read-only"),
    ("Widht", 10, "Widht: the camera has no such feature (did you mean Width?)"),
    ("DeviceLinkThroughputLimit", 100_000_000, "not writable now (ACCESS_DENIED)"),
])
def test_refusals_name_the_feature_the_value_and_why(camera, name, value, says):
    before = dict(camera.store.values)
    with pytest.raises(FeatureWriteError) as error:
        camera.write_feature(name, value, 0.0)
    assert says in str(error.value)
    assert str(error.value).startswith(name)
    assert camera.store.values == before  # a refused write changes nothing
    assert camera.acquisition.acquiring is False


def test_writes_follow_locks_as_a_host_write_does(camera):
    with pytest.raises(FeatureWriteError, match="not writable now"):
        camera.write_feature("DeviceLinkThroughputLimit", 100_000_000, 0.0)
    camera.write_feature("DeviceLinkThroughputLimitMode", "On", 0.0)
    assert camera.write_feature("DeviceLinkThroughputLimit", 100_000_000, 0.0) == 100_000_000
    camera.write_feature("CenterX", True, 0.0)
    with pytest.raises(FeatureWriteError, match="OffsetX = 4: OffsetX is not writable now"):
        camera.write_feature("OffsetX", 4, 0.0)


def test_the_acquisition_reacts_to_a_write_by_name(camera):
    camera.write_feature("TriggerMode", "On", 0.0)  # FrameStart waits for a trigger
    start = camera.layout.value_register("AcquisitionStart").address
    camera.write(start, (1).to_bytes(4, "little"), 0.0)  # as a host starts it
    camera.advance(0.5)
    assert camera.acquisition.stats.frames_started == 0
    # back to free run: the acquisition must schedule frames again (a bare store write would
    # leave it waiting)
    camera.write_feature("TriggerMode", "Off", 0.5)
    camera.advance(1.5)
    assert camera.acquisition.stats.frames_started >= 40


def test_settings_apply_in_order_and_a_later_one_may_not_undo_an_earlier(camera):
    camera.apply_features({"OffsetX": 0, "Width": 4112, "PixelFormat": "Mono10"}, 0.0)
    assert (camera.store.get("Width"), camera.store.get("PixelFormat")) == (4112, "Mono10")
    fresh = Camera()
    with pytest.raises(FeatureWriteError,
                       match=r"Width = 4104: a later setting changed it to 2048"):
        fresh.apply_features({"Width": 4104, "BinningHorizontal": 2}, 0.0)
    # a selected feature is written (and compared) for the selector value in effect then
    other = Camera()
    other.apply_features({"LineInverter": True, "LineSelector": "Line3", "LineMode": "Output"},
                         0.0)
    assert other.store.get("LineInverter", "Line1") is True
    assert other.store.get("LineInverter", "Line3") is False
    assert other.store.get("LineMode", "Line3") == "Output"


@pytest.mark.parametrize("name, value, status", [
    ("DeviceTemperature", 3, "WRITE_PROTECT"),          # read-only, as a register write
    ("Width", -1, "INVALID_PARAMETER"),                 # no register write expresses it
    ("Width", 10**26, "INVALID_PARAMETER"),
    ("Width", 2049, "INVALID_PARAMETER"),
    ("ExposureTime", "nan", "INVALID_PARAMETER"),       # the device's own check
    ("ExposureTime", "1e400", "INVALID_PARAMETER"),
    ("DeviceUserID", "\ud800", None),                   # not a text: the request is wrong
])
def test_refusals_carry_the_status_a_host_write_would_get(camera, name, value, status):
    with pytest.raises(FeatureWriteError) as refused:
        camera.write_feature(name, value, 1.0)
    assert refused.value.status == status, refused.value
