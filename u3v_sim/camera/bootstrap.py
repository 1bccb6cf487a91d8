"""The U3V bootstrap register maps (ABRM, SBRM, EIRM), the manifest table and the GenICam file.

Values follow what a real Basler U3V camera reports (aravis issue 811): capability 0x0E09,
50 ms maximum response time, 1024-byte command and ack limits, SIRM and EIRM available.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Callable

from u3v_features.bootstrap import ABRM, EIRM, MANIFEST, SBRM, SIRM, XML_FILE_ADDRESS
from u3v_features.xmlgen import FILE_VERSION, SCHEMA_VERSION

from ..protocol.gencp import ProtocolError, Status
from .registers import Field, Region

GENCP_VERSION = (1, 0)
U3V_VERSION = (1, 0)
# bit 0 user-defined name, bit 3 timestamp, bit 9 SBRM, bit 10 endianness, bit 11 written length.
DEVICE_CAPABILITY = 0x0E09
MAX_DEVICE_RESPONSE_TIME_MS = 50
U3VCP_CAPABILITY = 0x3          # SIRM and EIRM available
MAX_COMMAND_TRANSFER_LENGTH = 1024
MAX_ACK_TRANSFER_LENGTH = 1024
MAX_EVENT_TRANSFER_LENGTH = 1024
SPEED_SUPERSPEED = 8
LITTLE_ENDIAN_MARKER = 0xFFFFFFFF
FILE_TYPE_DEVICE_XML = 0
FILE_FORMAT_ZIP = 1


def version_word(major: int, minor: int) -> int:
    return major << 16 | minor


def u32(value: int) -> Callable[[], bytes]:
    data = struct.pack("<I", value)
    return lambda: data


def u64(value: int) -> Callable[[], bytes]:
    data = struct.pack("<Q", value)
    return lambda: data


class StoredRegister:
    """A plain read-write register with a validity check."""

    def __init__(self, length: int, value: int = 0,
                 valid: Callable[[int], bool] = lambda v: True):
        self.length, self.value, self.valid = length, value, valid

    def read(self) -> bytes:
        return self.value.to_bytes(self.length, "little")

    def write(self, data: bytes) -> float:
        value = int.from_bytes(data, "little")
        if not self.valid(value):
            raise ProtocolError(Status.INVALID_PARAMETER, f"value 0x{value:x} not supported")
        self.value = value
        return 0.0


def abrm_region(alias_fields: list[Field], latch_timestamp: Callable[[], None],
                device_configuration: StoredRegister) -> Region:
    def latch(data: bytes) -> float:
        if int.from_bytes(data, "little") & 1:
            latch_timestamp()
        return 0.0

    a = ABRM
    fields = [
        Field(a.GENCP_VERSION, 4, u32(version_word(*GENCP_VERSION)), name="GenCPVersion"),
        Field(a.DEVICE_CAPABILITY, 8, u64(DEVICE_CAPABILITY), name="DeviceCapability"),
        Field(a.MAX_DEVICE_RESPONSE_TIME, 4, u32(MAX_DEVICE_RESPONSE_TIME_MS),
              name="MaximumDeviceResponseTime"),
        Field(a.MANIFEST_TABLE_ADDRESS, 8, u64(MANIFEST.BASE), name="ManifestTableAddress"),
        Field(a.SBRM_ADDRESS, 8, u64(SBRM.BASE), name="SBRMAddress"),
        Field(a.DEVICE_CONFIGURATION, 8, device_configuration.read,
              device_configuration.write, name="DeviceConfiguration"),
        Field(a.TIMESTAMP_LATCH, 4, None, latch, name="TimestampLatch"),
        Field(a.TIMESTAMP_INCREMENT, 8, u64(1), name="TimestampIncrement"),
        Field(a.PROTOCOL_ENDIANNESS, 4, u32(LITTLE_ENDIAN_MARKER), name="ProtocolEndianness"),
        Field(a.IMPLEMENTATION_ENDIANNESS, 4, u32(LITTLE_ENDIAN_MARKER),
              name="ImplementationEndianness"),
        *alias_fields,
    ]
    return Region("ABRM", a.BASE, a.SIZE, fields)


def sbrm_region(u3vcp_configuration: StoredRegister) -> Region:
    s = SBRM
    fields = [
        Field(s.BASE + s.U3V_VERSION, 4, u32(version_word(*U3V_VERSION)), name="U3VVersion"),
        Field(s.BASE + s.U3VCP_CAPABILITY, 8, u64(U3VCP_CAPABILITY), name="U3VCPCapability"),
        Field(s.BASE + s.U3VCP_CONFIGURATION, 8, u3vcp_configuration.read,
              u3vcp_configuration.write, name="U3VCPConfiguration"),
        Field(s.BASE + s.MAX_COMMAND_TRANSFER_LENGTH, 4, u32(MAX_COMMAND_TRANSFER_LENGTH),
              name="MaximumCommandTransferLength"),
        Field(s.BASE + s.MAX_ACK_TRANSFER_LENGTH, 4, u32(MAX_ACK_TRANSFER_LENGTH),
              name="MaximumAcknowledgeTransferLength"),
        Field(s.BASE + s.NUMBER_OF_STREAM_CHANNELS, 4, u32(1), name="NumberOfStreamChannels"),
        Field(s.BASE + s.SIRM_ADDRESS, 8, u64(SIRM.BASE), name="SIRMAddress"),
        Field(s.BASE + s.SIRM_LENGTH, 4, u32(SIRM.SIZE), name="SIRMLength"),
        Field(s.BASE + s.EIRM_ADDRESS, 8, u64(EIRM.BASE), name="EIRMAddress"),
        Field(s.BASE + s.EIRM_LENGTH, 4, u32(EIRM.SIZE), name="EIRMLength"),
        Field(s.BASE + s.IIDC2_ADDRESS, 8, u64(0), name="IIDC2Address"),
        Field(s.BASE + s.CURRENT_SPEED, 4, u32(SPEED_SUPERSPEED), name="CurrentSpeed"),
    ]
    return Region("SBRM", s.BASE, s.SIZE, fields)


def eirm_region(event_control: StoredRegister, read_event_test: Callable[[], bytes],
                write_event_test: Callable[[bytes], float]) -> Region:
    e = EIRM
    fields = [
        Field(e.BASE + e.EI_CONTROL, 4, event_control.read, event_control.write,
              name="EIControl"),
        Field(e.BASE + e.MAXIMUM_EVENT_TRANSFER_LENGTH, 4, u32(MAX_EVENT_TRANSFER_LENGTH),
              name="MaximumEventTransferLength"),
        Field(e.BASE + e.EVENT_TEST_CONTROL, 4, read_event_test, write_event_test,
              name="EventTestControl"),
    ]
    return Region("EIRM", e.BASE, e.SIZE, fields)


def manifest_entry(file_bytes: bytes) -> bytes:
    """One 64-byte manifest entry describing the zipped device XML."""
    major, minor, subminor = FILE_VERSION
    schema_major, schema_minor, _ = SCHEMA_VERSION
    file_version = major << 24 | minor << 16 | subminor
    file_info = (schema_major << 24 | schema_minor << 16 | FILE_FORMAT_ZIP << 10
                 | FILE_TYPE_DEVICE_XML)
    return (struct.pack("<IIQQ", file_version, file_info, XML_FILE_ADDRESS, len(file_bytes))
            + hashlib.sha1(file_bytes).digest() + bytes(20))


def manifest_region(file_bytes: bytes) -> Region:
    m = MANIFEST
    table = struct.pack("<Q", 1) + manifest_entry(file_bytes)
    field = Field(m.BASE, len(table), lambda: table, name="ManifestTable")
    return Region("Manifest", m.BASE, len(table), [field])


def file_region(file_bytes: bytes) -> Region:
    field = Field(XML_FILE_ADDRESS, len(file_bytes), lambda: file_bytes, name="GenICamFile")
    return Region("GenICamFile", XML_FILE_ADDRESS, len(file_bytes), [field])
