"""File access (SFNC "File Access Control"): files in the camera that a host opens, reads and
writes through a buffer register, as GenApi's FileProtocolAdapter (and pylon's CFileAccess)
do it: select the file (FileSelector) and the operation (FileOperationSelector), set
FileOpenMode or FileAccessOffset/FileAccessLength, execute FileOperationExecute, then read
FileOperationStatus and FileOperationResult (bytes read or written; the data passes through
FileAccessBuffer).

The files (ace USB FileSelector entries this camera has):

- ``UserData``: a 16 KiB area the user keeps in the camera, kept in the state directory
  (``userdata.bin``, 0600) so it survives a restart, as flash does;
- ``UserSet1``..``UserSet3``: the saved user set, as its JSON (the state file's format),
  read-only (a camera restores user sets with UserSetLoad).

Refusals are a Failure status, as on the camera: an operation on a file that is not open (or
open for the other mode), opening an open file, writing past the end, a read-only file opened
for writing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..small_files import write_private_file

USER_DATA_BYTES = 16 * 1024     # chosen: Basler does not publish the ace USB's size
BUFFER_BYTES = 4096             # FileAccessBuffer (the table's Register length)
USER_DATA_FILE = "userdata.bin"


class FileAccess:
    def __init__(self, state_dir: Path | None, user_set: Callable[[str], dict | None]):
        """``state_dir``: where UserData is kept (None: in memory only); ``user_set(name)``:
        the saved set of that name, or None."""
        self.path = Path(state_dir) / USER_DATA_FILE if state_dir else None
        self.user_set = user_set
        self.user_data = bytearray(USER_DATA_BYTES)
        if self.path and self.path.is_file():
            kept = self.path.read_bytes()[:USER_DATA_BYTES]
            self.user_data[:len(kept)] = kept
        self.buffer = bytearray(BUFFER_BYTES)
        self.open_files: dict[str, str] = {}    # file name -> open mode
        self.status = "Success"
        self.result = 0

    # -- what the registers show -------------------------------------------------------------

    def content(self, name: str) -> bytes:
        if name == "UserData":
            return bytes(self.user_data)
        saved = self.user_set(name)
        return b"" if saved is None else json.dumps(saved, sort_keys=True).encode()

    def size(self, name: str) -> int:
        return len(self.content(name))

    def write_buffer(self, offset: int, data: bytes) -> float:
        self.buffer[offset:offset + len(data)] = data
        return 0.0

    # -- FileOperationExecute ----------------------------------------------------------------

    def execute(self, operation: str, name: str, mode: str, offset: int, length: int) -> float:
        ok, result = getattr(self, f"_{operation.lower()}")(name, mode, offset, length)
        self.status, self.result = ("Success" if ok else "Failure"), result
        return 0.0

    def _open(self, name: str, mode: str, offset: int, length: int) -> tuple[bool, int]:
        if name in self.open_files or (mode == "Write" and name != "UserData"):
            return False, 0
        self.open_files[name] = mode
        return True, 0

    def _close(self, name: str, mode: str, offset: int, length: int) -> tuple[bool, int]:
        if self.open_files.pop(name, None) is None:
            return False, 0
        if name == "UserData":
            try:
                self._persist()
            except OSError:   # (the state directory cannot take it: the camera says so)
                return False, 0
        return True, 0

    def _read(self, name: str, mode: str, offset: int, length: int) -> tuple[bool, int]:
        content = self.content(name)
        if self.open_files.get(name) != "Read" or length > BUFFER_BYTES \
                or offset > len(content):
            return False, 0
        piece = content[offset:offset + length]
        self.buffer[:len(piece)] = piece
        return True, len(piece)

    def _write(self, name: str, mode: str, offset: int, length: int) -> tuple[bool, int]:
        if self.open_files.get(name) != "Write" or length > BUFFER_BYTES \
                or offset + length > USER_DATA_BYTES:
            return False, 0
        self.user_data[offset:offset + length] = self.buffer[:length]
        return True, length

    def _persist(self) -> None:
        """UserData into its file (``write_private_file``: atomic, 0600)."""
        if self.path:
            write_private_file(self.path, bytes(self.user_data))
