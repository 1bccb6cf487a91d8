"""USB descriptors of the simulated camera (pure: identity in, bytes out).

Layout follows the U3V protocol reference (u3v-protocol.md), section 1: device class EF/02/01, one
configuration with an IAD (EF/05/00) over three U3V interfaces (control, event, stream), the U3V Device
Info descriptor directly after the control interface descriptor, SuperSpeed bulk endpoints with
companions, and a BOS.

All multi-byte fields are little-endian, as USB requires.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

# --- Descriptor types (USB 3.2 spec table 9-6) and class codes -------------------------------------------
DT_DEVICE = 0x01
DT_CONFIGURATION = 0x02
DT_STRING = 0x03
DT_INTERFACE = 0x04
DT_ENDPOINT = 0x05
DT_DEVICE_QUALIFIER = 0x06
DT_OTHER_SPEED_CONFIGURATION = 0x07
DT_INTERFACE_ASSOCIATION = 0x0B
DT_BOS = 0x0F
DT_DEVICE_CAPABILITY = 0x10
DT_SS_ENDPOINT_COMPANION = 0x30
DT_U3V_INTERFACE = 0x24  # class-specific (CS_INTERFACE); the U3V Device Info descriptor uses it

CLASS_MISC = 0xEF
SUBCLASS_COMMON = 0x02  # device level: "Common Class"
PROTOCOL_IAD = 0x01  # device level: "Interface Association Descriptor"
SUBCLASS_U3V = 0x05
PROTOCOL_U3V_CONTROL = 0x00
PROTOCOL_U3V_EVENT = 0x01
PROTOCOL_U3V_STREAM = 0x02

U3V_SUBTYPE_DEVICE_INFO = 0x01

# --- Interfaces and endpoints ------------------------------------------------------------------------------
IF_CONTROL = 0
IF_EVENT = 1
IF_STREAM = 2

EP_CONTROL_OUT = 0x01  # GenCP commands (host -> device)
EP_CONTROL_IN = 0x81  # GenCP acknowledges
EP_EVENT_IN = 0x82
EP_STREAM_IN = 0x83

# Which endpoints each interface owns (alternate setting 0, the only one).
INTERFACE_ENDPOINTS: dict[int, tuple[int, ...]] = {
    IF_CONTROL: (EP_CONTROL_OUT, EP_CONTROL_IN),
    IF_EVENT: (EP_EVENT_IN,),
    IF_STREAM: (EP_STREAM_IN,),
}
ENDPOINTS: tuple[int, ...] = (EP_CONTROL_OUT, EP_CONTROL_IN, EP_EVENT_IN, EP_STREAM_IN)

MAX_PACKET_SIZE = 1024  # bulk wMaxPacketSize at SuperSpeed (USB 3.2 spec: always 1024)
EP_ATTR_BULK = 0x02

# SuperSpeed bMaxBurst is "packets per burst minus one". The stream endpoint bursts 16 packets,
# as the Infineon FX20 U3V reference firmware does; control and event endpoints do not burst.
STREAM_MAX_BURST = 15
CONTROL_MAX_BURST = 0
EVENT_MAX_BURST = 0

BCD_USB = 0x0320  # USB 3.2 (Gen 1 operation), as the Infineon U3V reference firmware reports
EP0_MAX_PACKET_EXPONENT = 9  # SuperSpeed: bMaxPacketSize0 is an exponent, 2**9 = 512 bytes
CONFIGURATION_VALUE = 1

# bmAttributes: bit 7 must be set; bus powered, no remote wakeup (as the Infineon reference).
CONFIG_ATTRIBUTES = 0x80
# bMaxPower at SuperSpeed counts 8 mA units: 0x70 = 896 mA, just under the 900 mA USB 3 bus limit.
# CHOSEN, UNCONFIRMED: Basler does not publish the descriptor value; the ace is bus powered and
# draws about 3 W (~600 mA at 5 V), so it must ask for more than the 150 mA default.
CONFIG_MAX_POWER = 0x70

# U3V Device Info descriptor fields.
GENCP_VERSION = (1, 0)  # (major, minor)
U3V_VERSION = (1, 0)
# bmSpeedSupport bit0 LS, bit1 FS, bit2 HS, bit3 SS, bit4 SS+. 0x0C = HS + SS, as the Infineon reference.
U3V_SPEED_SUPPORT = 0x0C

# --- String indices ----------------------------------------------------------------------------------------
# The device descriptor and the U3V Device Info share indices 1..3 so that both report the same
# vendor, model and serial texts (Aravis matches either, ref section 1.3).
STR_LANGUAGES = 0
STR_MANUFACTURER = 1  # = U3V vendor name
STR_PRODUCT = 2  # = U3V model name
STR_SERIAL = 3  # = U3V serial number
STR_GUID = 4
STR_DEVICE_VERSION = 5
STR_MANUFACTURER_INFO = 6
STR_FAMILY = 7  # only present when the family name is non-empty
STR_USER_DEFINED_NAME = 8  # only present when the user-defined name is non-empty

LANGID_EN_US = 0x0409

BASLER_VENDOR_ID = 0x2676
# Seen for Basler "ace" USB 3 cameras (lsusb "2676:ba02 Basler AG ace", pylon device ids such as
# '2676:ba02:...' for an acA2440-75uc in basler/pypylon#125). UNCONFIRMED for the acA4096-40um itself.
BASLER_ACE_USB_PRODUCT_ID = 0xBA02

_GUID_RE = re.compile(r"[0-9A-F]{12}")
_MAX_STRING_CODE_UNITS = (255 - 2) // 2  # bLength is one byte


@dataclass(frozen=True, kw_only=True)
class UsbIdentity:
    """Everything that makes one simulated camera distinguishable on the bus (see make_identity)."""

    vendor_id: int = BASLER_VENDOR_ID
    product_id: int = BASLER_ACE_USB_PRODUCT_ID
    bcd_device: int = 0x0100
    manufacturer: str = "Basler"
    model: str = "acA4096-40um"
    family: str = ""  # empty: the Device Info descriptor carries index 0 ("no string")
    device_version: str
    manufacturer_info: str
    serial: str
    guid: str  # 12 hex digits: the USB vendor id, then 8 vendor-assigned digits
    user_defined_name: str = ""  # empty: index 0

    def __post_init__(self) -> None:
        for name in ("vendor_id", "product_id", "bcd_device"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFFFF:
                raise ValueError(f"{name} must fit 16 bits, got {value:#x}")
        if not _GUID_RE.fullmatch(self.guid):
            raise ValueError(f"guid must be 12 upper-case hex digits, got {self.guid!r}")
        if self.guid[:4] != f"{self.vendor_id:04X}":
            raise ValueError(f"guid {self.guid!r} must start with the vendor id {self.vendor_id:04X}")
        for name in ("manufacturer", "model", "serial", "device_version", "manufacturer_info"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty (it has a string index)")
        for index, text in string_table(self).items():
            if index and len(text.encode("utf-16-le")) // 2 > _MAX_STRING_CODE_UNITS:
                raise ValueError(f"string {index} too long for a string descriptor: {text!r}")


def make_guid(serial: str) -> str:
    """U3V device GUID for a Basler serial: "2676" + 8 upper-case hex digits.

    A decimal serial that fits 32 bits maps to itself in hex (so distinct serials give distinct GUIDs;
    the one real Basler GUID in the reference, 2676014DB0FF, has that shape). Any other serial is
    hashed, which is deterministic but only unique with high probability.
    """
    if serial.isascii() and serial.isdigit() and int(serial) <= 0xFFFFFFFF:
        tail = int(serial)
    else:
        tail = int.from_bytes(hashlib.sha256(serial.encode("utf-8")).digest()[:4], "big")
    return f"{BASLER_VENDOR_ID:04X}{tail:08X}"


def make_identity(serial: str, user_defined_name: str = "") -> UsbIdentity:
    """A complete acA4096-40um identity for `serial`.

    The device version and manufacturer info texts are CHOSEN, UNCONFIRMED: no dump of a real
    acA4096-40um's ABRM strings was available.
    """
    from u3v_features.acA4096_40um import BY_NAME  # the ABRM strings: one source for both

    return UsbIdentity(
        device_version=BY_NAME["DeviceVersion"].default,
        manufacturer_info=BY_NAME["DeviceManufacturerInfo"].default,
        serial=serial,
        guid=make_guid(serial),
        user_defined_name=user_defined_name,
    )


# --- String table ------------------------------------------------------------------------------------------


def string_table(ident: UsbIdentity) -> dict[int, str]:
    """Every string index the descriptors use, mapped to its text (index 0, the language list, excluded)."""
    table = {
        STR_MANUFACTURER: ident.manufacturer,
        STR_PRODUCT: ident.model,
        STR_SERIAL: ident.serial,
        STR_GUID: ident.guid,
        STR_DEVICE_VERSION: ident.device_version,
        STR_MANUFACTURER_INFO: ident.manufacturer_info,
    }
    if ident.family:
        table[STR_FAMILY] = ident.family
    if ident.user_defined_name:
        table[STR_USER_DEFINED_NAME] = ident.user_defined_name
    return table


def _optional_index(index: int, text: str) -> int:
    return index if text else 0


_STRING_HEADER = struct.Struct("<BB")  # bLength, bDescriptorType


def string_descriptor(ident: UsbIdentity, index: int, langid: int = LANGID_EN_US) -> bytes:
    """String descriptor `index`; index 0 is the supported-language list.

    Raises KeyError for an index the descriptors do not use or a language other than en-US
    (the device only has English strings; hosts read the language list first).
    """
    if index == STR_LANGUAGES:
        body = struct.pack("<H", LANGID_EN_US)
    else:
        if langid != LANGID_EN_US:
            raise KeyError(f"no strings for language {langid:#06x}")
        body = string_table(ident)[index].encode("utf-16-le")
    return _STRING_HEADER.pack(_STRING_HEADER.size + len(body), DT_STRING) + body


# --- Device descriptor -------------------------------------------------------------------------------------

# bLength bDescriptorType bcdUSB bDeviceClass bDeviceSubClass bDeviceProtocol bMaxPacketSize0
# idVendor idProduct bcdDevice iManufacturer iProduct iSerialNumber bNumConfigurations
_DEVICE = struct.Struct("<BBHBBBBHHHBBBB")


def device_descriptor(ident: UsbIdentity) -> bytes:
    return _DEVICE.pack(
        _DEVICE.size,
        DT_DEVICE,
        BCD_USB,
        CLASS_MISC,
        SUBCLASS_COMMON,
        PROTOCOL_IAD,
        EP0_MAX_PACKET_EXPONENT,
        ident.vendor_id,
        ident.product_id,
        ident.bcd_device,
        STR_MANUFACTURER,
        STR_PRODUCT,
        STR_SERIAL,
        1,  # bNumConfigurations
    )


# --- Configuration descriptor and its parts ----------------------------------------------------------------

# bLength bDescriptorType wTotalLength bNumInterfaces bConfigurationValue iConfiguration
# bmAttributes bMaxPower
_CONFIG = struct.Struct("<BBHBBBBB")
# bLength bDescriptorType bFirstInterface bInterfaceCount
# bFunctionClass bFunctionSubClass bFunctionProtocol iFunction
_IAD = struct.Struct("<BBBBBBBB")
# bLength bDescriptorType bInterfaceNumber bAlternateSetting bNumEndpoints
# bInterfaceClass bInterfaceSubClass bInterfaceProtocol iInterface
_INTERFACE = struct.Struct("<BBBBBBBBB")
# bLength bDescriptorType bEndpointAddress bmAttributes wMaxPacketSize bInterval
_ENDPOINT = struct.Struct("<BBBBHB")
# bLength bDescriptorType bMaxBurst bmAttributes wBytesPerInterval
_SS_COMPANION = struct.Struct("<BBBBH")
# bLength bDescriptorType bDescriptorSubtype bGenCPVersion bU3VVersion
# iDeviceGUID iVendorName iModelName iFamilyName iDeviceVersion iManufacturerInfo iSerialNumber
# iUserDefinedName bmSpeedSupport
_U3V_DEVICE_INFO = struct.Struct("<BBBII9B")


def _version_u32(major: int, minor: int) -> int:
    # U3V/GenCP versions: major in the high 16 bits, minor in the low 16 bits.
    return (major << 16) | minor


def _interface(number: int, num_endpoints: int, protocol: int) -> bytes:
    return _INTERFACE.pack(
        _INTERFACE.size, DT_INTERFACE, number, 0, num_endpoints, CLASS_MISC, SUBCLASS_U3V, protocol, 0
    )


def _iad(first_interface: int, interface_count: int) -> bytes:
    return _IAD.pack(
        _IAD.size,
        DT_INTERFACE_ASSOCIATION,
        first_interface,
        interface_count,
        CLASS_MISC,
        SUBCLASS_U3V,
        PROTOCOL_U3V_CONTROL,
        0,  # iFunction: no string
    )


def _bulk_endpoint_ss(address: int, max_burst: int) -> bytes:
    """A SuperSpeed bulk endpoint: its descriptor followed by its mandatory companion descriptor."""
    endpoint = _ENDPOINT.pack(_ENDPOINT.size, DT_ENDPOINT, address, EP_ATTR_BULK, MAX_PACKET_SIZE, 0)
    # bmAttributes 0: no bulk streams; wBytesPerInterval is only meaningful for periodic endpoints.
    companion = _SS_COMPANION.pack(_SS_COMPANION.size, DT_SS_ENDPOINT_COMPANION, max_burst, 0, 0)
    return endpoint + companion


def u3v_device_info_descriptor(ident: UsbIdentity) -> bytes:
    """The class-specific U3V Device Info descriptor (ref section 1.2), 20 bytes."""
    return _U3V_DEVICE_INFO.pack(
        _U3V_DEVICE_INFO.size,
        DT_U3V_INTERFACE,
        U3V_SUBTYPE_DEVICE_INFO,
        _version_u32(*GENCP_VERSION),
        _version_u32(*U3V_VERSION),
        STR_GUID,
        STR_MANUFACTURER,
        STR_PRODUCT,
        _optional_index(STR_FAMILY, ident.family),
        STR_DEVICE_VERSION,
        STR_MANUFACTURER_INFO,
        STR_SERIAL,
        _optional_index(STR_USER_DEFINED_NAME, ident.user_defined_name),
        U3V_SPEED_SUPPORT,
    )


def configuration_descriptor(ident: UsbIdentity) -> bytes:
    """The full configuration: config header, IAD, the three U3V interfaces and their endpoints."""
    body = b"".join(
        [
            _iad(IF_CONTROL, len(INTERFACE_ENDPOINTS)),
            # The control interface must be the IAD's first interface, with the Device Info descriptor
            # right after it: hosts read it as the first bytes of the interface's "extra" data.
            _interface(IF_CONTROL, 2, PROTOCOL_U3V_CONTROL),
            u3v_device_info_descriptor(ident),
            _bulk_endpoint_ss(EP_CONTROL_OUT, CONTROL_MAX_BURST),
            _bulk_endpoint_ss(EP_CONTROL_IN, CONTROL_MAX_BURST),
            _interface(IF_EVENT, 1, PROTOCOL_U3V_EVENT),
            _bulk_endpoint_ss(EP_EVENT_IN, EVENT_MAX_BURST),
            _interface(IF_STREAM, 1, PROTOCOL_U3V_STREAM),
            _bulk_endpoint_ss(EP_STREAM_IN, STREAM_MAX_BURST),
        ]
    )
    header = _CONFIG.pack(
        _CONFIG.size,
        DT_CONFIGURATION,
        _CONFIG.size + len(body),
        len(INTERFACE_ENDPOINTS),
        CONFIGURATION_VALUE,
        0,  # iConfiguration: no string
        CONFIG_ATTRIBUTES,
        CONFIG_MAX_POWER,
    )
    return header + body


# --- BOS ---------------------------------------------------------------------------------------------------

# bLength bDescriptorType wTotalLength bNumDeviceCaps
_BOS = struct.Struct("<BBHB")
# bLength bDescriptorType bDevCapabilityType bmAttributes
_USB2_EXTENSION = struct.Struct("<BBBI")
# bLength bDescriptorType bDevCapabilityType bmAttributes wSpeedsSupported bFunctionalitySupport
# bU1DevExitLat wU2DevExitLat
_SS_CAPABILITY = struct.Struct("<BBBBHBBH")

CAP_USB2_EXTENSION = 0x02
CAP_SUPERSPEED_USB = 0x03

USB2_EXT_LPM = 0x00000002  # bit 1: Link Power Management supported (required of USB 3 devices)
SS_SPEEDS_SUPPORTED = 0x000E  # bit1 FS, bit2 HS, bit3 SS Gen 1 (as the Infineon reference)
# Lowest speed with full functionality: 3 = SuperSpeed (Basler ace USB refuses to run on USB 2 ports,
# basler/pypylon#125).
SS_FUNCTIONALITY_SUPPORT = 3
# The largest exit latencies the spec allows (U1 <= 10 us, U2 <= 2047 us); a simulator has no real link.
SS_U1_EXIT_LATENCY = 0x0A
SS_U2_EXIT_LATENCY = 0x07FF


def bos_descriptor() -> bytes:
    caps = [
        _USB2_EXTENSION.pack(_USB2_EXTENSION.size, DT_DEVICE_CAPABILITY, CAP_USB2_EXTENSION, USB2_EXT_LPM),
        _SS_CAPABILITY.pack(
            _SS_CAPABILITY.size,
            DT_DEVICE_CAPABILITY,
            CAP_SUPERSPEED_USB,
            0,  # bmAttributes: not LTM capable
            SS_SPEEDS_SUPPORTED,
            SS_FUNCTIONALITY_SUPPORT,
            SS_U1_EXIT_LATENCY,
            SS_U2_EXIT_LATENCY,
        ),
    ]
    body = b"".join(caps)
    return _BOS.pack(_BOS.size, DT_BOS, _BOS.size + len(body), len(caps)) + body


def sysfs_descriptors(ident: UsbIdentity) -> bytes:
    """The bytes of sysfs's `descriptors` attribute (what umockdev's `H: descriptors=` wants)."""
    return device_descriptor(ident) + configuration_descriptor(ident)
