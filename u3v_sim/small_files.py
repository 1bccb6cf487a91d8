"""Small files the daemon keeps. Reading one that comes from outside (the config file, the
user-set file) safely: a regular file only (no FIFO or device that would block or never end),
a bounded size, UTF-8, and every failure one message naming the file. Writing one of its own
(user sets, UserData) privately and atomically."""

from __future__ import annotations

import os
import stat
import tempfile
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


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a new 0600 file (mkstemp: never follows a link)
    renamed over the old one, so a crash never leaves half a file and a reader sees the old or
    the new one. OSError on failure (nothing changed)."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
