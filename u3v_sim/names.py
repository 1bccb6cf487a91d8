"""Names that come from outside (config file, command line, control socket) and end up in
paths: checked here, once, before anything uses them.

A camera serial becomes a directory under the configured ``state_dir`` (the camera's user
sets) and part of the device's GUID (``usb/descriptors.py`` reads it as a decimal number), so
it is what a Basler serial number is: decimal digits, at most 8 (``DeviceSerialNumber`` of the
acA4096-40um, e.g. 40012345). Nothing else (no ``/``, ``..``, letters or non-ASCII digits such
as ``"٣"``, which ``str.isdigit`` would accept) can reach a path.
"""

from __future__ import annotations

import re

__all__ = ["SERIAL_MAX_DIGITS", "check_serial"]

SERIAL_MAX_DIGITS = 8
_SERIAL = re.compile(rf"[0-9]{{1,{SERIAL_MAX_DIGITS}}}", re.ASCII)


def check_serial(value: object) -> str:
    """The serial ``value`` as a string of 1 to 8 ASCII decimal digits.

    Raises ValueError naming the value and the rule otherwise (a TOML integer such as 40012345
    is accepted and turned into its digits; a bool is not)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not _SERIAL.fullmatch(value):
        raise ValueError(f"serial {value!r}: must be 1 to {SERIAL_MAX_DIGITS} decimal digits "
                         f"(0-9), e.g. 40012345")
    return value
