"""Where the U3V bootstrap register maps sit in the device's address space.

These are fixed by the USB3 Vision standard (ABRM offsets) or chosen to match what a real Basler
U3V camera reports (SBRM/SIRM/manifest base addresses, aravis issue 811). They live here because
the feature table aliases some ABRM registers (the identity strings, the timestamp) and the XML
must name their addresses; the device (u3v_sim) builds the register contents from the same
constants.
"""

from __future__ import annotations


class ABRM:
    """Technology-agnostic bootstrap register map, at address 0."""
    BASE = 0x0000
    GENCP_VERSION = 0x0000            # u32
    MANUFACTURER_NAME = 0x0004        # 64-byte string
    MODEL_NAME = 0x0044
    FAMILY_NAME = 0x0084
    DEVICE_VERSION = 0x00C4
    MANUFACTURER_INFO = 0x0104
    SERIAL_NUMBER = 0x0144
    USER_DEFINED_NAME = 0x0184        # RW
    STRING_LENGTH = 64
    DEVICE_CAPABILITY = 0x01C4        # u64
    MAX_DEVICE_RESPONSE_TIME = 0x01CC  # u32, ms
    MANIFEST_TABLE_ADDRESS = 0x01D0   # u64
    SBRM_ADDRESS = 0x01D8             # u64
    DEVICE_CONFIGURATION = 0x01E0     # u64, RW
    HEARTBEAT_TIMEOUT = 0x01E8        # u32
    MESSAGE_CHANNEL_ID = 0x01EC       # u32
    TIMESTAMP = 0x01F0                # u64
    TIMESTAMP_LATCH = 0x01F8          # u32, WO
    TIMESTAMP_INCREMENT = 0x01FC      # u64
    ACCESS_PRIVILEGE = 0x0204         # u32
    PROTOCOL_ENDIANNESS = 0x0208      # u32
    IMPLEMENTATION_ENDIANNESS = 0x020C  # u32
    DEVICE_SOFTWARE_INTERFACE_VERSION = 0x0210  # 64-byte string
    SIZE = 0x0250


class SBRM:
    """Technology-specific (USB3 Vision) bootstrap register map."""
    BASE = 0xAFFC0000
    U3V_VERSION = 0x00                # u32
    U3VCP_CAPABILITY = 0x04           # u64
    U3VCP_CONFIGURATION = 0x0C        # u64, RW
    MAX_COMMAND_TRANSFER_LENGTH = 0x14  # u32
    MAX_ACK_TRANSFER_LENGTH = 0x18    # u32
    NUMBER_OF_STREAM_CHANNELS = 0x1C  # u32
    SIRM_ADDRESS = 0x20               # u64
    SIRM_LENGTH = 0x28                # u32
    EIRM_ADDRESS = 0x2C               # u64
    EIRM_LENGTH = 0x34                # u32
    IIDC2_ADDRESS = 0x38              # u64
    CURRENT_SPEED = 0x40              # u32
    SIZE = 0x44


class SIRM:
    """Streaming interface register map."""
    BASE = 0xAFFD0000
    SI_INFO = 0x00                    # u32 RO
    SI_CONTROL = 0x04                 # u32 RW, bit 0 = stream enable
    REQUIRED_PAYLOAD_SIZE = 0x08      # u64 RO
    REQUIRED_LEADER_SIZE = 0x10       # u32 RO
    REQUIRED_TRAILER_SIZE = 0x14      # u32 RO
    MAXIMUM_LEADER_SIZE = 0x18        # u32 RW
    PAYLOAD_TRANSFER_SIZE = 0x1C      # u32 RW
    PAYLOAD_TRANSFER_COUNT = 0x20     # u32 RW
    PAYLOAD_FINAL_TRANSFER1_SIZE = 0x24  # u32 RW
    PAYLOAD_FINAL_TRANSFER2_SIZE = 0x28  # u32 RW
    MAXIMUM_TRAILER_SIZE = 0x2C       # u32 RW
    SIZE = 0x30


class EIRM:
    """Event interface register map."""
    BASE = 0xAFFE0000
    EI_CONTROL = 0x00                 # u32 RW, bit 0 = event enable
    MAXIMUM_EVENT_TRANSFER_LENGTH = 0x04  # u32 RO
    EVENT_TEST_CONTROL = 0x08         # u32 RW
    SIZE = 0x0C


class MANIFEST:
    """Manifest table: an entry count and 64-byte file entries."""
    BASE = 0xAFFF0000
    ENTRY_COUNT = 0x00                # u64
    FIRST_ENTRY = 0x08
    ENTRY_SIZE = 64


# The GenICam file (ZIP) is served from here; the feature registers from FEATURE_BASE on.
XML_FILE_ADDRESS = 0xB0000000
FEATURE_BASE = 0x00010000
FEATURE_LIMIT = 0x00100000
