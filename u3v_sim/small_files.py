"""Reading a small text file that comes from outside (the config file, the user-set file)
safely: a regular file only (no FIFO or device that would block or never end), a bounded size,
UTF-8, and every failure one message naming the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class SmallFileError(ValueError):
    """Why the file cannot be read as one (the message names the file)."""


def read_small_text(path: Path, max_bytes: int, kind: str) -> str:
    """The text of ``path``, at most ``max_bytes`` bytes of UTF-8; ``kind`` names what the
    file should be ("a config file") in the too-large message.

    Raises SmallFileError: not a regular file, unreadable, too large, not UTF-8."""
    try:
        with open(path, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise SmallFileError(f"{path}: not a regular file")
            raw = file.read(max_bytes + 1)
    except OSError as error:
        raise SmallFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    if len(raw) > max_bytes:
        raise SmallFileError(f"{path}: larger than {max_bytes} bytes, not {kind}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SmallFileError(f"{path}: not UTF-8 text (byte {error.start})") from None
