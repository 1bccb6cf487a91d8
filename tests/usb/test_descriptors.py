"""Descriptor bytes of the simulated camera, checked against hand-written vectors and host-side rules.

The golden vectors below were written field by field from the layout in u3v-protocol.md section 1,
not copied from the code's output. The walker in this file is independent of u3v_sim and follows
libusb's grouping: bytes after an interface descriptor up to its first endpoint are the interface's
"extra", bytes after an endpoint up to the next endpoint/interface are the endpoint's "extra".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest

from u3v_sim.usb import descriptors as d
from u3v_sim.usb.descriptors import (
    EP_CONTROL_IN,
    EP_CONTROL_OUT,
    EP_EVENT_IN,
    EP_STREAM_IN,
    UsbIdentity,
    bos_descriptor,
    configuration_descriptor,
    device_descriptor,
    make_guid,
    make_identity,
    string_descriptor,
    sysfs_descriptors,
)

SERIAL = "40012345"  # 40012345 = 0x02628A39
GUID = "267602628A39"

GOLDEN_DEVICE = bytes.fromhex(
    "12 01"  # bLength 18, DEVICE
    "20 03"  # bcdUSB 3.20
    "ef 02 01"  # Miscellaneous / Common / IAD
    "09"  # bMaxPacketSize0: 2^9 = 512
    "76 26"  # idVendor 0x2676 (Basler)
    "02 ba"  # idProduct 0xBA02
    "00 01"  # bcdDevice 1.00
    "01 02 03"  # iManufacturer, iProduct, iSerialNumber
    "01"  # bNumConfigurations
)

GOLDEN_CONFIG = bytes.fromhex(
    # configuration: 116 bytes total, 3 interfaces, value 1, no string, bus powered, 0x70 * 8 mA
    "09 02 74 00 03 01 00 80 70"
    # IAD: first interface 0, 3 interfaces, EF/05/00, no string
    "08 0b 00 03 ef 05 00 00"
    # interface 0 (control): alt 0, 2 endpoints, EF/05/00
    "09 04 00 00 02 ef 05 00 00"
    # U3V Device Info: len 20, CS_INTERFACE, subtype 1, GenCP 1.0, U3V 1.0,
    # GUID=4 vendor=1 model=2 family=0 devver=5 mfrinfo=6 serial=3 userdef=0, speeds HS|SS
    "14 24 01 00 00 01 00 00 00 01 00 04 01 02 00 05 06 03 00 0c"
    # bulk OUT 0x01, 1024 bytes + SS companion (burst 0)
    "07 05 01 02 00 04 00"
    "06 30 00 00 00 00"
    # bulk IN 0x81, 1024 bytes + SS companion (burst 0)
    "07 05 81 02 00 04 00"
    "06 30 00 00 00 00"
    # interface 1 (event): 1 endpoint, EF/05/01
    "09 04 01 00 01 ef 05 01 00"
    "07 05 82 02 00 04 00"
    "06 30 00 00 00 00"
    # interface 2 (stream): 1 endpoint, EF/05/02
    "09 04 02 00 01 ef 05 02 00"
    "07 05 83 02 00 04 00"
    "06 30 0f 00 00 00"  # bMaxBurst 15 (16 packets)
)

GOLDEN_BOS = bytes.fromhex(
    "05 0f 16 00 02"  # BOS: 22 bytes, 2 capabilities
    "07 10 02 02 00 00 00"  # USB 2.0 extension: LPM
    "0a 10 03 00 0e 00 03 0a ff 07"  # SuperSpeed: no LTM, FS|HS|SS, full function at SS, U1 10us, U2 2047us
)


# --- an independent configuration walker -------------------------------------------------------------------


@dataclass
class Endpoint:
    raw: bytes
    extra: bytes = b""

    @property
    def address(self) -> int:
        return self.raw[2]

    @property
    def attributes(self) -> int:
        return self.raw[3]

    @property
    def max_packet_size(self) -> int:
        return struct.unpack_from("<H", self.raw, 4)[0]


@dataclass
class Interface:
    raw: bytes
    extra: bytes = b""
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.raw[2]

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.raw[5], self.raw[6], self.raw[7])


@dataclass
class Config:
    raw: bytes
    extra: bytes = b""  # descriptors before the first interface (the IAD)
    interfaces: list[Interface] = field(default_factory=list)


def walk_configuration(blob: bytes) -> Config:
    assert blob[1] == 0x02 and blob[0] == 9
    total = struct.unpack_from("<H", blob, 2)[0]
    assert total == len(blob)
    cfg = Config(raw=blob[:9])
    pos = 9
    while pos < len(blob):
        length, kind = blob[pos], blob[pos + 1]
        assert length >= 2 and pos + length <= len(blob), f"bad descriptor at {pos}"
        desc = blob[pos : pos + length]
        if kind == 0x04:
            assert length == 9
            cfg.interfaces.append(Interface(raw=desc))
        elif kind == 0x05:
            assert length == 7
            cfg.interfaces[-1].endpoints.append(Endpoint(raw=desc))
        elif cfg.interfaces and cfg.interfaces[-1].endpoints:
            cfg.interfaces[-1].endpoints[-1].extra += desc
        elif cfg.interfaces:
            cfg.interfaces[-1].extra += desc
        else:
            cfg.extra += desc
        pos += length
    assert pos == len(blob)
    return cfg


def string_text(ident: UsbIdentity, index: int) -> str:
    raw = string_descriptor(ident, index)
    assert raw[0] == len(raw) and raw[1] == 0x03
    return raw[2:].decode("utf-16-le")


@pytest.fixture
def ident() -> UsbIdentity:
    return make_identity(SERIAL)


# --- golden vectors ----------------------------------------------------------------------------------------


def test_device_descriptor_golden(ident: UsbIdentity) -> None:
    assert device_descriptor(ident) == GOLDEN_DEVICE


def test_configuration_descriptor_golden(ident: UsbIdentity) -> None:
    assert configuration_descriptor(ident) == GOLDEN_CONFIG


def test_bos_descriptor_golden() -> None:
    assert bos_descriptor() == GOLDEN_BOS


def test_sysfs_descriptors_is_device_then_configuration(ident: UsbIdentity) -> None:
    assert sysfs_descriptors(ident) == GOLDEN_DEVICE + GOLDEN_CONFIG


def test_descriptors_are_deterministic() -> None:
    assert sysfs_descriptors(make_identity(SERIAL)) == sysfs_descriptors(make_identity(SERIAL))


# --- individual fields -------------------------------------------------------------------------------------


def test_device_descriptor_fields(ident: UsbIdentity) -> None:
    dev = device_descriptor(ident)
    assert len(dev) == dev[0] == 18
    (bcd_usb,) = struct.unpack_from("<H", dev, 2)
    assert bcd_usb == 0x0320 and bcd_usb >> 8 >= 3  # Aravis warns "Low bandwidth" below 3.x
    assert (dev[4], dev[5], dev[6]) == (0xEF, 0x02, 0x01)
    assert dev[7] == 9
    assert struct.unpack_from("<HH", dev, 8) == (0x2676, 0xBA02)
    assert dev[17] == 1


def test_configuration_header_and_iad(ident: UsbIdentity) -> None:
    cfg = walk_configuration(configuration_descriptor(ident))
    assert struct.unpack_from("<H", cfg.raw, 2)[0] == 116
    assert cfg.raw[4] == 3  # bNumInterfaces
    assert cfg.raw[5] == 1  # bConfigurationValue
    assert cfg.raw[7] & 0x80
    assert cfg.raw[8] == 0x70
    # the IAD is the only descriptor before the first interface
    assert cfg.extra == bytes([8, 0x0B, 0, 3, 0xEF, 0x05, 0x00, 0])


def test_interfaces_endpoints_and_companions(ident: UsbIdentity) -> None:
    cfg = walk_configuration(configuration_descriptor(ident))
    assert [i.number for i in cfg.interfaces] == [0, 1, 2]
    assert [i.triple for i in cfg.interfaces] == [(0xEF, 5, 0), (0xEF, 5, 1), (0xEF, 5, 2)]
    assert all(i.raw[3] == 0 for i in cfg.interfaces)  # alternate setting 0 only
    addresses = [[e.address for e in i.endpoints] for i in cfg.interfaces]
    assert addresses == [[EP_CONTROL_OUT, EP_CONTROL_IN], [EP_EVENT_IN], [EP_STREAM_IN]]
    assert (EP_CONTROL_OUT, EP_CONTROL_IN, EP_EVENT_IN, EP_STREAM_IN) == (0x01, 0x81, 0x82, 0x83)
    for interface in cfg.interfaces:
        assert interface.raw[4] == len(interface.endpoints)  # bNumEndpoints
        for ep in interface.endpoints:
            assert ep.attributes == 0x02  # bulk
            assert ep.max_packet_size == 1024
            # each endpoint is followed by exactly one SS companion
            assert len(ep.extra) == 6 and ep.extra[:2] == bytes([6, 0x30])
            assert ep.extra[3] == 0  # no bulk streams
    bursts = {ep.address: ep.extra[2] for i in cfg.interfaces for ep in i.endpoints}
    assert bursts == {0x01: 0, 0x81: 0, 0x82: 0, 0x83: 15}


def test_device_info_is_first_in_control_interface_extra(ident: UsbIdentity) -> None:
    cfg = walk_configuration(configuration_descriptor(ident))
    control = cfg.interfaces[0]
    info = control.extra
    assert len(info) == 20  # nothing else in the extra bytes
    assert (info[0], info[1], info[2]) == (0x14, 0x24, 0x01)
    gencp, u3v = struct.unpack_from("<II", info, 3)
    assert gencp == 0x00010000 and u3v == 0x00010000  # 1.0: major in the high 16 bits
    assert info[19] == 0x0C
    # event and stream interfaces carry no class-specific descriptors
    assert cfg.interfaces[1].extra == b"" and cfg.interfaces[2].extra == b""


# --- the host-side rules of ref section 1.3 ----------------------------------------------------------------


def test_aravis_discovery_rules(ident: UsbIdentity) -> None:
    dev = device_descriptor(ident)
    assert (dev[4], dev[5], dev[6]) == (0xEF, 0x02, 0x01)
    cfg = walk_configuration(configuration_descriptor(ident))
    u3v = [i for i in cfg.interfaces if i.triple[:2] == (0xEF, 0x05)]
    control = [i for i in u3v if i.triple[2] == 0]
    data = [i for i in u3v if i.triple[2] == 2]
    assert len(control) == 1 and len(data) == 1
    extra = control[0].extra
    # Aravis reads these fixed offsets of the control interface's extra bytes
    assert string_text(ident, extra[11]) == GUID
    assert string_text(ident, extra[12]) == "Basler"
    assert string_text(ident, extra[13]) == "acA4096-40um"
    assert string_text(ident, extra[17]) == SERIAL
    # control: one bulk IN and one bulk OUT; data: endpoint[0] is bulk IN
    directions = sorted(e.address & 0x80 for e in control[0].endpoints)
    assert directions == [0x00, 0x80]
    assert data[0].endpoints[0].address & 0x80 and data[0].endpoints[0].attributes == 0x02


def test_cameleon_rules(ident: UsbIdentity) -> None:
    cfg = walk_configuration(configuration_descriptor(ident))
    iad = cfg.extra
    first, count = iad[2], iad[3]
    assert (iad[4], iad[5], iad[6]) == (0xEF, 0x05, 0x00)
    by_number = {i.number: i for i in cfg.interfaces}
    assert by_number[first].triple == (0xEF, 5, 0)
    assert len(by_number[first].endpoints) == 2
    for number in range(first + 1, first + count):
        eps = by_number[number].endpoints
        assert len(eps) == 1 and eps[0].address & 0x80 and eps[0].attributes == 0x02


def test_device_descriptor_strings_equal_u3v_strings(ident: UsbIdentity) -> None:
    dev = device_descriptor(ident)
    info = walk_configuration(configuration_descriptor(ident)).interfaces[0].extra
    assert string_text(ident, dev[14]) == string_text(ident, info[12]) == "Basler"
    assert string_text(ident, dev[15]) == string_text(ident, info[13]) == "acA4096-40um"
    assert string_text(ident, dev[16]) == string_text(ident, info[17]) == SERIAL


def test_every_used_string_index_resolves(ident: UsbIdentity) -> None:
    dev = device_descriptor(ident)
    info = walk_configuration(configuration_descriptor(ident)).interfaces[0].extra
    used = {dev[14], dev[15], dev[16], *info[11:19]} - {0}
    texts = {index: string_text(ident, index) for index in used}
    assert texts[info[11]] == GUID
    assert texts[info[15]] == "107388-14"
    assert texts[info[16]] == "none"
    assert info[14] == 0 and info[18] == 0  # no family, no user-defined name


def test_optional_strings_get_indices_when_present() -> None:
    ident = UsbIdentity(
        device_version="1.2",
        manufacturer_info="info",
        serial="22334455",
        guid=make_guid("22334455"),
        family="ace",
        user_defined_name="left",
    )
    cfg_bytes = configuration_descriptor(ident)
    cfg = walk_configuration(cfg_bytes)  # also re-checks wTotalLength
    info = cfg.interfaces[0].extra
    assert info[14] != 0 and string_text(ident, info[14]) == "ace"
    assert info[18] != 0 and string_text(ident, info[18]) == "left"
    assert len(set(info[11:19])) == 8  # all distinct indices


# --- strings -----------------------------------------------------------------------------------------------


def test_language_table(ident: UsbIdentity) -> None:
    assert string_descriptor(ident, 0) == bytes([4, 3, 0x09, 0x04])


def test_strings_are_utf16le(ident: UsbIdentity) -> None:
    raw = string_descriptor(ident, 1)
    assert raw == bytes([14, 3]) + "Basler".encode("utf-16-le")


def test_unknown_string_index_raises(ident: UsbIdentity) -> None:
    with pytest.raises(KeyError):
        string_descriptor(ident, 7)  # family is empty, so index 7 is unused
    with pytest.raises(KeyError):
        string_descriptor(ident, 200)


def test_unknown_language_raises(ident: UsbIdentity) -> None:
    with pytest.raises(KeyError):
        string_descriptor(ident, 1, langid=0x0407)


# --- GUID and identity -------------------------------------------------------------------------------------


def test_make_guid_decimal_serial_maps_to_hex() -> None:
    assert make_guid(SERIAL) == GUID
    assert make_guid("21868799") == "2676014DB0FF"  # the shape of the real Basler GUID in the reference
    assert make_guid("0") == "267600000000"
    assert make_guid("4294967295") == "2676FFFFFFFF"


@pytest.mark.parametrize("serial", ["4294967296", "ABC-123", "", "40012345x", "٤٠"])
def test_make_guid_other_serials_are_hashed(serial: str) -> None:
    guid = make_guid(serial)
    assert len(guid) == 12 and guid.startswith("2676")
    assert guid == guid.upper() and int(guid, 16) >= 0
    assert make_guid(serial) == guid


def test_make_guid_is_unique_per_serial() -> None:
    serials = [f"{n:08d}" for n in range(40000000, 40000200)] + [f"SN{n}" for n in range(200)]
    assert len({make_guid(s) for s in serials}) == len(serials)


def test_make_identity_defaults() -> None:
    ident = make_identity(SERIAL, user_defined_name="cam1")
    assert ident.vendor_id == 0x2676 and ident.product_id == 0xBA02
    assert (ident.manufacturer, ident.model, ident.family) == ("Basler", "acA4096-40um", "")
    assert ident.serial == SERIAL and ident.guid == GUID and ident.user_defined_name == "cam1"


@pytest.mark.parametrize(
    "changes",
    [
        {"guid": "2676abcdef01"},  # lower case
        {"guid": "12340000ABCD"},  # does not start with the vendor id
        {"guid": "2676ABCD"},  # too short
        {"serial": ""},
        {"model": "x" * 127},  # does not fit a string descriptor
        {"product_id": 0x10000},
    ],
)
def test_identity_validation(changes: dict) -> None:
    fields = dict(device_version="v", manufacturer_info="m", serial=SERIAL, guid=GUID)
    fields.update(changes)
    with pytest.raises(ValueError):
        UsbIdentity(**fields)


def test_string_table_covers_descriptor_indices() -> None:
    ident = make_identity(SERIAL)
    assert set(d.string_table(ident)) == {1, 2, 3, 4, 5, 6}
