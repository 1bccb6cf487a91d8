"""Standard USB control requests on endpoint 0 (sans-I/O: SETUP bytes in, a ControlResult out).

The transport turns a control URB into `StandardRequests.handle(setup, data)` and answers with the
returned data or a STALL. usbfs ioctls that bypass control transfers (SETCONFIGURATION, SETINTERFACE,
CLEAR_HALT) map onto `set_configuration`, `set_interface` and `clear_halt`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from . import descriptors as d

# bRequest codes (USB 3.2 spec table 9-4)
GET_STATUS = 0x00
CLEAR_FEATURE = 0x01
SET_FEATURE = 0x03
SET_ADDRESS = 0x05
GET_DESCRIPTOR = 0x06
SET_DESCRIPTOR = 0x07
GET_CONFIGURATION = 0x08
SET_CONFIGURATION = 0x09
GET_INTERFACE = 0x0A
SET_INTERFACE = 0x0B
SYNCH_FRAME = 0x0C
SET_SEL = 0x30
SET_ISOCH_DELAY = 0x31

# bmRequestType fields
DIR_IN = 0x80
TYPE_MASK = 0x60
TYPE_STANDARD = 0x00
RECIP_MASK = 0x1F
RECIP_DEVICE = 0x00
RECIP_INTERFACE = 0x01
RECIP_ENDPOINT = 0x02

# Feature selectors (USB 3.2 spec table 9-7)
FEATURE_ENDPOINT_HALT = 0  # recipient endpoint
FEATURE_FUNCTION_SUSPEND = 0  # recipient interface
FEATURE_DEVICE_REMOTE_WAKEUP = 1
FEATURE_TEST_MODE = 2
FEATURE_U1_ENABLE = 48
FEATURE_U2_ENABLE = 49
FEATURE_LTM_ENABLE = 50

# GET_STATUS(device) bits at SuperSpeed
STATUS_SELF_POWERED = 1 << 0
STATUS_U1_ENABLE = 1 << 2
STATUS_U2_ENABLE = 1 << 3
STATUS_ENDPOINT_HALT = 1 << 0

_DEVICE_FEATURE_BITS = {FEATURE_U1_ENABLE: STATUS_U1_ENABLE, FEATURE_U2_ENABLE: STATUS_U2_ENABLE}

_SETUP = struct.Struct("<BBHHH")  # bmRequestType bRequest wValue wIndex wLength
_SEL = struct.Struct("<BBHH")  # U1SEL U1PEL U2SEL U2PEL (SET_SEL data stage)


@dataclass(frozen=True)
class ControlResult:
    """Outcome of a control transfer: STALL, or success with the IN data (empty for OUT requests)."""

    stall: bool
    data: bytes = b""


STALL = ControlResult(stall=True)
ACK = ControlResult(stall=False)


@dataclass(frozen=True)
class Setup:
    """A decoded 8-byte SETUP packet."""

    request_type: int
    request: int
    value: int
    index: int
    length: int

    @classmethod
    def parse(cls, setup: bytes) -> Setup:
        if len(setup) != _SETUP.size:
            raise ValueError(f"SETUP packet must be 8 bytes, got {len(setup)}")
        return cls(*_SETUP.unpack(setup))

    def pack(self) -> bytes:
        return _SETUP.pack(self.request_type, self.request, self.value, self.index, self.length)

    @property
    def is_in(self) -> bool:
        return bool(self.request_type & DIR_IN)

    @property
    def recipient(self) -> int:
        return self.request_type & RECIP_MASK


class StandardRequests:
    """Endpoint-0 state of one device: configuration, alternate settings, endpoint halts, link features.

    The device starts configured (configuration 1): under umockdev no kernel enumerates it, and the
    sysfs attributes it publishes already say bConfigurationValue 1.

    `on_clear_halt(ep)` is called whenever an endpoint's halt and sequence state is reset: on
    CLEAR_FEATURE(ENDPOINT_HALT) (whether or not it was halted, as the spec resets the sequence
    either way), `clear_halt`, SET_INTERFACE for the interface's endpoints and SET_CONFIGURATION for all.
    Hosts clear the stream endpoint's halt before every acquisition (ref section 1.4), so the camera
    uses this to flush its stream state.
    """

    def __init__(
        self,
        ident: d.UsbIdentity,
        *,
        on_clear_halt: Callable[[int], None] | None = None,
        configuration: int = d.CONFIGURATION_VALUE,
    ) -> None:
        self.ident = ident
        self.on_clear_halt = on_clear_halt
        self._device_descriptor = d.device_descriptor(ident)
        self._configuration_descriptor = d.configuration_descriptor(ident)
        self._bos_descriptor = d.bos_descriptor()
        self.configuration = configuration
        self._halted: set[int] = set()
        self._device_status = 0  # U1/U2 enable bits
        self.sel: tuple[int, int, int, int] | None = None  # last SET_SEL (U1SEL, U1PEL, U2SEL, U2PEL)
        self.isoch_delay: int | None = None  # last SET_ISOCH_DELAY, in ns

    # --- state queries and usbfs-ioctl entry points -----------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.configuration != 0

    def is_halted(self, ep: int) -> bool:
        return ep in self._halted

    def clear_halt(self, ep: int) -> bool:
        """Clear the halt of `ep` (usbfs CLEAR_HALT). False if the endpoint is unknown or unconfigured."""
        if not self._endpoint_usable(ep):
            return False
        self._reset_endpoint(ep)
        return True

    def set_halt(self, ep: int) -> bool:
        """Halt `ep` (SET_FEATURE(ENDPOINT_HALT), or the device stalling an endpoint by itself)."""
        if not self._endpoint_usable(ep):
            return False
        self._halted.add(ep)
        return True

    def set_configuration(self, value: int) -> bool:
        if value not in (0, d.CONFIGURATION_VALUE):
            return False
        self.configuration = value
        # Selecting a configuration (even the current one) resets every endpoint.
        for ep in d.ENDPOINTS:
            self._reset_endpoint(ep)
        return True

    def set_interface(self, interface: int, alternate: int) -> bool:
        if not self.configured or interface not in d.INTERFACE_ENDPOINTS or alternate != 0:
            return False
        for ep in d.INTERFACE_ENDPOINTS[interface]:
            self._reset_endpoint(ep)
        return True

    # --- control transfers ------------------------------------------------------------------------------

    def handle(self, setup: bytes, data: bytes = b"") -> ControlResult:
        """Answer one control transfer. `data` is the OUT data stage (ignored for IN requests)."""
        s = Setup.parse(setup)
        if s.request_type & TYPE_MASK != TYPE_STANDARD:
            return STALL  # this device has no class or vendor requests on endpoint 0
        if not s.is_in and len(data) != s.length:
            return STALL  # the data stage must carry exactly wLength bytes
        handler = _HANDLERS.get((s.request, s.is_in))
        if handler is None:
            return STALL
        result = handler(self, s, data)
        if result.stall or not s.is_in:
            return result
        return ControlResult(stall=False, data=result.data[: s.length])

    # --- request handlers (one per bRequest and direction) --------------------------------------------

    def _get_descriptor(self, s: Setup, _data: bytes) -> ControlResult:
        if s.recipient != RECIP_DEVICE:
            return STALL
        kind, index = s.value >> 8, s.value & 0xFF
        if kind == d.DT_DEVICE and index == 0:
            return ControlResult(False, self._device_descriptor)
        if kind == d.DT_CONFIGURATION and index == 0:
            return ControlResult(False, self._configuration_descriptor)
        if kind == d.DT_BOS and index == 0:
            return ControlResult(False, self._bos_descriptor)
        if kind == d.DT_STRING:
            try:
                return ControlResult(False, d.string_descriptor(self.ident, index, s.index))
            except KeyError:
                return STALL
        # DEVICE_QUALIFIER and OTHER_SPEED_CONFIGURATION: a device operating at SuperSpeed answers with
        # a request error (USB 3.2 spec 9.6.2; Linux's composite gadget does the same), so they fall here.
        return STALL

    def _get_status(self, s: Setup, _data: bytes) -> ControlResult:
        if s.value != 0:
            return STALL  # wValue 1 (PTM status) is not supported
        if s.recipient == RECIP_DEVICE and s.index == 0:
            return ControlResult(False, struct.pack("<H", self._device_status))  # bus powered
        if s.recipient == RECIP_INTERFACE and self._interface_usable(s.index):
            return ControlResult(False, b"\x00\x00")  # no function remote wakeup
        if s.recipient == RECIP_ENDPOINT:
            if s.index in (0x00, 0x80):
                return ControlResult(False, b"\x00\x00")  # endpoint 0 never halts here
            if self._endpoint_usable(s.index):
                halted = STATUS_ENDPOINT_HALT if s.index in self._halted else 0
                return ControlResult(False, struct.pack("<H", halted))
        return STALL

    def _set_feature(self, s: Setup, _data: bytes) -> ControlResult:
        return self._feature(s, enable=True)

    def _clear_feature(self, s: Setup, _data: bytes) -> ControlResult:
        return self._feature(s, enable=False)

    def _feature(self, s: Setup, *, enable: bool) -> ControlResult:
        if s.length != 0:
            return STALL
        if s.recipient == RECIP_ENDPOINT and s.value == FEATURE_ENDPOINT_HALT:
            ok = self.set_halt(s.index) if enable else self.clear_halt(s.index)
            return ACK if ok else STALL
        if s.recipient == RECIP_DEVICE and s.index == 0 and s.value in _DEVICE_FEATURE_BITS:
            # U1/U2 link-state enables: remembered for GET_STATUS, no effect on a simulated link.
            bit = _DEVICE_FEATURE_BITS[s.value]
            self._device_status = self._device_status | bit if enable else self._device_status & ~bit
            return ACK
        if (
            s.recipient == RECIP_INTERFACE
            and enable
            and s.value == FEATURE_FUNCTION_SUSPEND
            and self._interface_usable(s.index & 0xFF)
        ):
            return ACK  # function suspend / remote-wake options: accepted, no effect
        # LTM_ENABLE: the BOS declares the device not LTM capable, so it is a request error, as are
        # DEVICE_REMOTE_WAKEUP (not offered: bmAttributes bit 5 clear) and TEST_MODE.
        return STALL

    def _get_configuration(self, s: Setup, _data: bytes) -> ControlResult:
        if s.recipient != RECIP_DEVICE or s.value != 0 or s.index != 0:
            return STALL
        return ControlResult(False, bytes([self.configuration]))

    def _set_configuration(self, s: Setup, _data: bytes) -> ControlResult:
        if s.recipient != RECIP_DEVICE or s.index != 0 or s.length != 0 or s.value > 0xFF:
            return STALL
        return ACK if self.set_configuration(s.value) else STALL

    def _get_interface(self, s: Setup, _data: bytes) -> ControlResult:
        if s.recipient != RECIP_INTERFACE or s.value != 0 or not self._interface_usable(s.index):
            return STALL
        return ControlResult(False, b"\x00")  # only alternate setting 0 exists

    def _set_interface(self, s: Setup, _data: bytes) -> ControlResult:
        if s.recipient != RECIP_INTERFACE or s.length != 0:
            return STALL
        return ACK if self.set_interface(s.index, s.value) else STALL

    def _set_sel(self, s: Setup, data: bytes) -> ControlResult:
        if s.recipient != RECIP_DEVICE or s.value != 0 or s.index != 0 or s.length != _SEL.size:
            return STALL
        self.sel = _SEL.unpack(data)
        return ACK

    def _set_isoch_delay(self, s: Setup, _data: bytes) -> ControlResult:
        if s.recipient != RECIP_DEVICE or s.index != 0 or s.length != 0:
            return STALL
        self.isoch_delay = s.value
        return ACK

    # --- helpers ----------------------------------------------------------------------------------------

    def _interface_usable(self, interface: int) -> bool:
        # Interfaces and non-zero endpoints exist only in the Configured state.
        return self.configured and interface in d.INTERFACE_ENDPOINTS

    def _endpoint_usable(self, ep: int) -> bool:
        return self.configured and ep in d.ENDPOINTS

    def _reset_endpoint(self, ep: int) -> None:
        self._halted.discard(ep)
        if self.on_clear_halt is not None:
            self.on_clear_halt(ep)


_Handler = Callable[[StandardRequests, Setup, bytes], ControlResult]

# (bRequest, is_in) -> handler; the direction is part of the key so a wrong direction stalls.
_HANDLERS: dict[tuple[int, bool], _Handler] = {
    (GET_DESCRIPTOR, True): StandardRequests._get_descriptor,
    (GET_STATUS, True): StandardRequests._get_status,
    (SET_FEATURE, False): StandardRequests._set_feature,
    (CLEAR_FEATURE, False): StandardRequests._clear_feature,
    (GET_CONFIGURATION, True): StandardRequests._get_configuration,
    (SET_CONFIGURATION, False): StandardRequests._set_configuration,
    (GET_INTERFACE, True): StandardRequests._get_interface,
    (SET_INTERFACE, False): StandardRequests._set_interface,
    (SET_SEL, False): StandardRequests._set_sel,
    (SET_ISOCH_DELAY, False): StandardRequests._set_isoch_delay,
}
