"""Standard endpoint-0 requests: each supported request, truncation, STALLs, halt handling."""

from __future__ import annotations

import struct

import pytest

from u3v_sim.usb.descriptors import (
    bos_descriptor,
    configuration_descriptor,
    device_descriptor,
    make_identity,
)
from u3v_sim.usb.requests import ControlResult, StandardRequests

# bmRequestType values: direction | type | recipient
IN_DEVICE, IN_INTERFACE, IN_ENDPOINT = 0x80, 0x81, 0x82
OUT_DEVICE, OUT_INTERFACE, OUT_ENDPOINT = 0x00, 0x01, 0x02


def setup(request_type: int, request: int, value: int = 0, index: int = 0, length: int = 0) -> bytes:
    return struct.pack("<BBHHH", request_type, request, value, index, length)


def get_descriptor(kind: int, index: int = 0, langid: int = 0, length: int = 0xFFFF) -> bytes:
    return setup(IN_DEVICE, 0x06, (kind << 8) | index, langid, length)


def ok(data: bytes = b"") -> ControlResult:
    return ControlResult(stall=False, data=data)


STALL = ControlResult(stall=True, data=b"")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, ep: int) -> None:
        self.calls.append(ep)


@pytest.fixture
def ident():
    return make_identity("40012345")


@pytest.fixture
def cleared() -> Recorder:
    return Recorder()


@pytest.fixture
def dev(ident, cleared) -> StandardRequests:
    return StandardRequests(ident, on_clear_halt=cleared)


# --- GET_DESCRIPTOR ----------------------------------------------------------------------------------------


def test_get_device_descriptor(dev, ident) -> None:
    expected = device_descriptor(ident)
    assert dev.handle(get_descriptor(1, length=18)) == ok(expected)
    assert dev.handle(get_descriptor(1, length=64)) == ok(expected)  # never longer than the descriptor
    assert dev.handle(get_descriptor(1, length=8)) == ok(expected[:8])  # Linux's first 8-byte read
    assert dev.handle(get_descriptor(1, length=0)) == ok(b"")


def test_get_configuration_descriptor_header_then_full(dev, ident) -> None:
    full = configuration_descriptor(ident)
    header = dev.handle(get_descriptor(2, length=9))
    assert header == ok(full[:9])
    (total,) = struct.unpack_from("<H", header.data, 2)
    assert total == 116
    assert dev.handle(get_descriptor(2, length=total)) == ok(full)
    assert dev.handle(get_descriptor(2, length=0xFFFF)) == ok(full)
    assert dev.handle(get_descriptor(2, length=50)) == ok(full[:50])


def test_get_string_descriptors(dev) -> None:
    assert dev.handle(get_descriptor(3, 0, 0, 255)) == ok(bytes([4, 3, 0x09, 0x04]))
    expected = bytes([14, 3]) + "Basler".encode("utf-16-le")
    assert dev.handle(get_descriptor(3, 1, 0x0409, 255)) == ok(expected)
    assert dev.handle(get_descriptor(3, 1, 0x0409, 2)) == ok(expected[:2])  # length probe
    guid = dev.handle(get_descriptor(3, 4, 0x0409, 255)).data
    assert guid[2:].decode("utf-16-le") == "267602628A39"


def test_get_bos_descriptor(dev) -> None:
    bos = bos_descriptor()
    assert dev.handle(get_descriptor(0x0F, length=5)) == ok(bos[:5])
    assert dev.handle(get_descriptor(0x0F, length=0xFFFF)) == ok(bos)


@pytest.mark.parametrize(
    "packet",
    [
        get_descriptor(6, length=10),  # device qualifier: none while operating at SuperSpeed
        get_descriptor(7, length=0xFFFF),  # other-speed configuration: likewise
        get_descriptor(1, index=1),  # only device descriptor 0
        get_descriptor(2, index=1),  # only one configuration
        get_descriptor(3, 99, 0x0409, 255),  # unused string index
        get_descriptor(3, 7, 0x0409, 255),  # family string is absent (empty family)
        get_descriptor(3, 1, 0x0407, 255),  # unsupported language
        get_descriptor(4),  # interface descriptors are not fetched on their own
        get_descriptor(5),
        get_descriptor(0x22),  # HID report descriptor: not a HID device
        setup(IN_INTERFACE, 0x06, 0x0100, 0, 18),  # wrong recipient
        setup(OUT_DEVICE, 0x06, 0x0100, 0, 0),  # wrong direction
    ],
)
def test_get_descriptor_stalls(dev, packet) -> None:
    assert dev.handle(packet) == STALL


# --- GET_STATUS and device features ------------------------------------------------------------------------


def test_get_status_device_and_link_features(dev) -> None:
    assert dev.handle(setup(IN_DEVICE, 0x00, 0, 0, 2)) == ok(b"\x00\x00")  # bus powered
    assert dev.handle(setup(OUT_DEVICE, 0x03, 48)) == ok()  # SET_FEATURE U1_ENABLE
    assert dev.handle(setup(IN_DEVICE, 0x00, 0, 0, 2)) == ok(b"\x04\x00")
    assert dev.handle(setup(OUT_DEVICE, 0x03, 49)) == ok()  # SET_FEATURE U2_ENABLE
    assert dev.handle(setup(IN_DEVICE, 0x00, 0, 0, 2)) == ok(b"\x0c\x00")
    assert dev.handle(setup(OUT_DEVICE, 0x01, 48)) == ok()  # CLEAR_FEATURE U1_ENABLE
    assert dev.handle(setup(IN_DEVICE, 0x00, 0, 0, 2)) == ok(b"\x08\x00")
    assert dev.handle(setup(IN_DEVICE, 0x00, 0, 0, 1)) == ok(b"\x08")  # truncated


@pytest.mark.parametrize(
    "feature",
    [
        1,  # DEVICE_REMOTE_WAKEUP: bmAttributes does not offer remote wakeup
        2,  # TEST_MODE
        50,  # LTM_ENABLE: the BOS says "not LTM capable"
        7,  # unknown
    ],
)
def test_unsupported_device_features_stall(dev, feature) -> None:
    assert dev.handle(setup(OUT_DEVICE, 0x03, feature)) == STALL


def test_get_status_interface(dev) -> None:
    for interface in (0, 1, 2):
        assert dev.handle(setup(IN_INTERFACE, 0x00, 0, interface, 2)) == ok(b"\x00\x00")
    assert dev.handle(setup(IN_INTERFACE, 0x00, 0, 3, 2)) == STALL


def test_get_status_endpoint(dev) -> None:
    for ep in (0x00, 0x01, 0x81, 0x82, 0x83):
        assert dev.handle(setup(IN_ENDPOINT, 0x00, 0, ep, 2)) == ok(b"\x00\x00")
    for ep in (0x02, 0x84, 0x03):
        assert dev.handle(setup(IN_ENDPOINT, 0x00, 0, ep, 2)) == STALL


def test_get_status_bad_requests_stall(dev) -> None:
    assert dev.handle(setup(IN_DEVICE, 0x00, 1, 0, 2)) == STALL  # PTM status not supported
    assert dev.handle(setup(IN_DEVICE, 0x00, 0, 1, 2)) == STALL
    assert dev.handle(setup(OUT_DEVICE, 0x00, 0, 0, 0)) == STALL  # wrong direction


def test_function_suspend_accepted_on_known_interfaces(dev) -> None:
    assert dev.handle(setup(OUT_INTERFACE, 0x03, 0, 0x0000)) == ok()
    assert dev.handle(setup(OUT_INTERFACE, 0x03, 0, 0x0102)) == ok()  # options byte in wIndex high
    assert dev.handle(setup(OUT_INTERFACE, 0x03, 0, 0x0005)) == STALL
    assert dev.handle(setup(OUT_INTERFACE, 0x01, 0, 0x0000)) == STALL  # no CLEAR_FEATURE form


# --- endpoint halt -----------------------------------------------------------------------------------------


def test_set_then_clear_endpoint_halt_like_aravis(dev, cleared) -> None:
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, 0x83)) == ok()
    assert dev.is_halted(0x83)
    assert not dev.is_halted(0x81)
    assert cleared.calls == []
    assert dev.handle(setup(IN_ENDPOINT, 0x00, 0, 0x83, 2)) == ok(b"\x01\x00")
    assert dev.handle(setup(OUT_ENDPOINT, 0x01, 0, 0x83)) == ok()
    assert not dev.is_halted(0x83)
    assert cleared.calls == [0x83]
    assert dev.handle(setup(IN_ENDPOINT, 0x00, 0, 0x83, 2)) == ok(b"\x00\x00")


def test_clear_halt_ioctl_path_like_pylon(dev, cleared) -> None:
    for ep in (0x81, 0x01):
        assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, ep)) == ok()
    assert dev.is_halted(0x81) and dev.is_halted(0x01)
    assert dev.clear_halt(0x81) is True
    assert not dev.is_halted(0x81) and dev.is_halted(0x01)
    assert cleared.calls == [0x81]


def test_clear_halt_on_running_endpoint_still_resets(dev, cleared) -> None:
    assert dev.handle(setup(OUT_ENDPOINT, 0x01, 0, 0x82)) == ok()
    assert cleared.calls == [0x82]


@pytest.mark.parametrize("ep", [0x00, 0x80, 0x02, 0x84, 0x7F])
def test_halt_on_unknown_endpoints_stalls(dev, cleared, ep) -> None:
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, ep)) == STALL
    assert dev.handle(setup(OUT_ENDPOINT, 0x01, 0, ep)) == STALL
    assert dev.clear_halt(ep) is False
    assert cleared.calls == []


def test_halt_feature_needs_endpoint_recipient_and_no_data(dev) -> None:
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 1, 0x83)) == STALL  # not ENDPOINT_HALT
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, 0x83, 2), b"\x00\x00") == STALL
    assert not dev.is_halted(0x83)


def test_without_callback(ident) -> None:
    dev = StandardRequests(ident)
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, 0x83)) == ok()
    assert dev.handle(setup(OUT_ENDPOINT, 0x01, 0, 0x83)) == ok()
    assert not dev.is_halted(0x83)


# --- configuration and interfaces --------------------------------------------------------------------------


def test_configuration_round_trip(dev, cleared) -> None:
    assert dev.handle(setup(IN_DEVICE, 0x08, 0, 0, 1)) == ok(b"\x01")  # starts configured
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, 0x83)) == ok()
    assert dev.handle(setup(OUT_DEVICE, 0x09, 0)) == ok()
    assert dev.handle(setup(IN_DEVICE, 0x08, 0, 0, 1)) == ok(b"\x00")
    assert not dev.is_halted(0x83)
    assert sorted(cleared.calls) == [0x01, 0x81, 0x82, 0x83]
    # in the Address state interfaces and non-zero endpoints do not exist
    assert dev.handle(setup(IN_INTERFACE, 0x0A, 0, 0, 1)) == STALL
    assert dev.handle(setup(IN_INTERFACE, 0x00, 0, 0, 2)) == STALL
    assert dev.handle(setup(IN_ENDPOINT, 0x00, 0, 0x83, 2)) == STALL
    assert dev.handle(setup(IN_ENDPOINT, 0x00, 0, 0x00, 2)) == ok(b"\x00\x00")
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, 0x83)) == STALL
    assert dev.handle(setup(OUT_INTERFACE, 0x0B, 0, 2)) == STALL
    assert dev.handle(setup(OUT_DEVICE, 0x09, 1)) == ok()
    assert dev.handle(setup(IN_DEVICE, 0x08, 0, 0, 1)) == ok(b"\x01")
    assert dev.handle(setup(IN_INTERFACE, 0x0A, 0, 2, 1)) == ok(b"\x00")


@pytest.mark.parametrize("value", [2, 0xFF, 0x0101])
def test_set_configuration_unknown_value_stalls(dev, value) -> None:
    assert dev.handle(setup(OUT_DEVICE, 0x09, value)) == STALL
    assert dev.handle(setup(IN_DEVICE, 0x08, 0, 0, 1)) == ok(b"\x01")


def test_set_interface(dev, cleared) -> None:
    assert dev.handle(setup(OUT_ENDPOINT, 0x03, 0, 0x83)) == ok()
    assert dev.handle(setup(OUT_INTERFACE, 0x0B, 0, 2)) == ok()
    assert not dev.is_halted(0x83)
    assert cleared.calls == [0x83]
    assert dev.handle(setup(OUT_INTERFACE, 0x0B, 0, 0)) == ok()
    assert cleared.calls == [0x83, 0x01, 0x81]
    assert dev.handle(setup(OUT_INTERFACE, 0x0B, 1, 2)) == STALL  # no alternate setting 1
    assert dev.handle(setup(OUT_INTERFACE, 0x0B, 0, 3)) == STALL  # no interface 3
    assert dev.handle(setup(OUT_DEVICE, 0x0B, 0, 2)) == STALL  # wrong recipient


def test_get_interface(dev) -> None:
    for interface in (0, 1, 2):
        assert dev.handle(setup(IN_INTERFACE, 0x0A, 0, interface, 1)) == ok(b"\x00")
    assert dev.handle(setup(IN_INTERFACE, 0x0A, 0, 3, 1)) == STALL
    assert dev.handle(setup(IN_INTERFACE, 0x0A, 0, 0, 0)) == ok(b"")


def test_ioctl_entry_points(dev, cleared) -> None:
    assert dev.set_configuration(1) is True
    assert dev.set_configuration(3) is False
    assert dev.set_interface(2, 0) is True
    assert dev.set_interface(2, 1) is False
    assert dev.set_interface(5, 0) is False


# --- SuperSpeed link requests ------------------------------------------------------------------------------


def test_set_sel(dev) -> None:
    payload = bytes([0x10, 0x20, 0x30, 0x00, 0x40, 0x01])
    assert dev.handle(setup(OUT_DEVICE, 0x30, 0, 0, 6), payload) == ok()
    assert dev.sel == (0x10, 0x20, 0x0030, 0x0140)
    assert dev.handle(setup(OUT_DEVICE, 0x30, 0, 0, 6), payload[:5]) == STALL  # short data stage
    assert dev.handle(setup(OUT_DEVICE, 0x30, 0, 0, 5), payload[:5]) == STALL  # wrong wLength


def test_set_isoch_delay(dev) -> None:
    assert dev.handle(setup(OUT_DEVICE, 0x31, 40)) == ok()
    assert dev.isoch_delay == 40
    assert dev.handle(setup(OUT_DEVICE, 0x31, 40, 1)) == STALL


# --- everything else ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        setup(OUT_DEVICE, 0x05, 7),  # SET_ADDRESS: done by the host controller, never seen here
        setup(OUT_DEVICE, 0x07, 0x0100, 0, 0),  # SET_DESCRIPTOR
        setup(IN_ENDPOINT, 0x0C, 0, 0x83, 2),  # SYNCH_FRAME
        setup(IN_DEVICE, 0x42, 0, 0, 4),  # unknown standard request
        setup(0xA1, 0x01, 0, 0, 8),  # class request, interface
        setup(0x21, 0x09, 0, 0, 0),  # class request, OUT
        setup(0xC0, 0x01, 0, 0, 4),  # vendor request
        setup(0x40, 0x01, 0, 0, 0),  # vendor request, OUT
        setup(0xE0, 0x06, 0x0100, 0, 18),  # reserved type that would otherwise be GET_DESCRIPTOR
        setup(IN_DEVICE, 0x09, 1, 0, 0),  # SET_CONFIGURATION with the IN direction
    ],
)
def test_other_requests_stall(dev, packet) -> None:
    assert dev.handle(packet) == STALL


def test_out_data_stage_must_match_wlength(dev) -> None:
    assert dev.handle(setup(OUT_DEVICE, 0x09, 1), b"\x00") == STALL


def test_setup_must_be_eight_bytes(dev) -> None:
    with pytest.raises(ValueError):
        dev.handle(b"\x80\x06\x00\x01\x00\x00\x12")
