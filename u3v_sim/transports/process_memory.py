"""Direct access to a client process's memory (process_vm_readv/process_vm_writev).

umockdev moves every byte a handler reads from or writes to a client through its socket: a
READ_MEM round trip per resolved pointer, a compare and a WRITE_MEM per changed buffer. For
URBs that is several round trips and several copies of every frame. When the daemon may
access the client's memory (same user or CAP_SYS_PTRACE, as here), one system call reads a
URB or writes a whole completion (data, status, length, reaped pointer) instead, the way the
kernel's usbfs copies to user space.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

_libc = ctypes.CDLL(None, use_errno=True)


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


for _name in ("process_vm_readv", "process_vm_writev"):
    _function = getattr(_libc, _name)
    _function.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong,
                          ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_ulong]
    _function.restype = ctypes.c_ssize_t


class ProcessMemory:
    """Reads and writes one process's memory."""

    def __init__(self, pid: int):
        self.pid = pid

    def read(self, address: int, length: int) -> bytes:
        buffer = ctypes.create_string_buffer(length)
        local = _IoVec(ctypes.addressof(buffer), length)
        remote = _IoVec(address, length)
        self._check(_libc.process_vm_readv(self.pid, ctypes.byref(local), 1,
                                           ctypes.byref(remote), 1, 0), length)
        return buffer.raw

    def write(self, pieces: Sequence[tuple[int, bytes | memoryview]]) -> None:
        """Write each (address, data) piece, all in one system call."""
        pieces = [(address, data) for address, data in pieces if len(data)]
        if not pieces:
            return
        arrays = [np.frombuffer(data, dtype=np.uint8) for _, data in pieces]  # no copies
        local = (_IoVec * len(pieces))(*[_IoVec(a.ctypes.data, a.size) for a in arrays])
        remote = (_IoVec * len(pieces))(*[_IoVec(address, a.size)
                                          for (address, _), a in zip(pieces, arrays)])
        total = sum(a.size for a in arrays)
        self._check(_libc.process_vm_writev(self.pid, local, len(pieces), remote,
                                            len(pieces), 0), total)

    @staticmethod
    def _check(moved: int, expected: int) -> None:
        if moved < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        if moved != expected:  # stopped at an unmapped page, as a kernel copy would fail
            raise OSError(errno.EFAULT, f"moved {moved} of {expected} bytes")


def processes_with_open(path: str, exclude: Iterable[int] = ()) -> list[int]:
    """Pids of the processes that have ``path`` open."""
    skip = set(exclude)
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in skip:
            continue
        try:
            if any(os.readlink(fd) == path for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile, or not ours to look at
    return found


def identify(path: str, address: int, expected: bytes) -> ProcessMemory | None:
    """The one process that has ``path`` open and holds ``expected`` at ``address``, or None
    when no single process can be told apart or its memory is out of reach."""
    matches = []
    for pid in processes_with_open(path, exclude=(os.getpid(),)):
        memory = ProcessMemory(pid)
        try:
            if memory.read(address, len(expected)) == expected:
                matches.append(memory)
        except OSError:
            continue
    return matches[0] if len(matches) == 1 else None
