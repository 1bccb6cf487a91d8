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
from typing import Callable, Iterable, Sequence

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
    """Reads and writes one process's memory (from one thread at a time: the I/O vectors
    and the buffer for small reads are reused, as this runs for every URB)."""

    MAX_PIECES = 8
    SMALL_READ = 4096
    SMALL_WRITE = 64  # pieces up to this size are staged in one scratch buffer

    def __init__(self, pid: int):
        self.pid = pid
        self._small = ctypes.create_string_buffer(self.SMALL_READ)
        self._local = (_IoVec * self.MAX_PIECES)()
        self._remote = (_IoVec * self.MAX_PIECES)()
        self._scratch = bytearray(self.SMALL_WRITE * self.MAX_PIECES)
        self._scratch_view = (ctypes.c_char * len(self._scratch)).from_buffer(self._scratch)
        self._scratch_address = ctypes.addressof(self._scratch_view)

    def read(self, address: int, length: int) -> bytes:
        buffer = self._small if length <= self.SMALL_READ else ctypes.create_string_buffer(length)
        self._local[0].base, self._local[0].length = ctypes.addressof(buffer), length
        self._remote[0].base, self._remote[0].length = address, length
        self._check(_libc.process_vm_readv(self.pid, self._local, 1, self._remote, 1, 0), length)
        return ctypes.string_at(buffer, length)

    def write(self, pieces: Sequence[tuple[int, bytes | memoryview]]) -> None:
        """Write each (address, data) piece, all in one system call."""
        keep, count, total, staged = [], 0, 0, 0
        for address, data in pieces:
            size = len(data)
            if not size:
                continue
            if count == self.MAX_PIECES:
                raise ValueError(f"at most {self.MAX_PIECES} pieces at once")
            if size <= self.SMALL_WRITE:
                self._scratch[staged:staged + size] = data
                local, staged = self._scratch_address + staged, staged + size
            else:
                local = _address(data, keep)
            self._local[count].base, self._local[count].length = local, size
            self._remote[count].base, self._remote[count].length = address, size
            count, total = count + 1, total + size
        if count:
            self._check(_libc.process_vm_writev(self.pid, self._local, count, self._remote,
                                                count, 0), total)

    def reachable(self, address: int) -> bool:
        """Whether this process's memory is ours to access (``address`` may still be bad)."""
        try:
            self.read(address, 1)
        except OSError as error:
            return error.errno == errno.EFAULT
        return True

    @staticmethod
    def _check(moved: int, expected: int) -> None:
        if moved < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        if moved != expected:  # stopped at an unmapped page, as a kernel copy would fail
            raise OSError(errno.EFAULT, f"moved {moved} of {expected} bytes")


def _address(data: bytes | memoryview, keep: list) -> int:
    """Where ``data``'s bytes are, without copying them (``keep`` holds what must outlive
    the system call)."""
    array = np.frombuffer(data, dtype=np.uint8)  # any contiguous buffer, read-only too
    keep.append(array)
    return array.__array_interface__["data"][0]


def open_count(pid: int, path: str) -> int:
    """How many of process ``pid``'s open files refer to ``path`` (0 once it is gone or when
    it is not ours to look at)."""
    try:
        return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd) == path)
    except OSError:
        return 0


def _open_counts(path: str, exclude: Iterable[int]) -> dict[int, int]:
    """``open_count`` of every process but ``exclude`` that has ``path`` open, by pid."""
    skip = set(exclude)
    counts = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) not in skip:
            count = open_count(int(proc.name), path)
            if count:
                counts[int(proc.name)] = count
    return counts


def processes_with_open(path: str, exclude: Iterable[int] = ()) -> list[int]:
    """Pids of the processes that have ``path`` open."""
    return list(_open_counts(path, exclude))


def open_file_count(path: str, exclude: Iterable[int] = ()) -> int:
    """How many open files of live processes (but ``exclude``) refer to ``path``."""
    return sum(_open_counts(path, exclude).values())


class ChildrenWatch:
    """The pids (space-separated) of the children a process's main thread started, as the
    kernel lists them (/proc/<pid>/task/<pid>/children): a cheap test for a fork. The file
    stays open and is read again from its start (about 1 us; opening it each time costs tens
    in a busy daemon)."""

    def __init__(self, pid: int):
        try:
            self.fd = os.open(f"/proc/{pid}/task/{pid}/children", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.fd = -1

    def children(self) -> bytes:
        if self.fd < 0:
            return b""
        try:
            return os.pread(self.fd, 4096, 0)
        except OSError:  # the process is gone
            return b""

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def identify(path: str, address: int, expected: Callable[[], bytes],
             exclude: Iterable[int] = ()) -> ProcessMemory | None:
    """The process behind a request about ``path``: the only process besides ours and
    ``exclude`` that has it open, or, when several have, the one that holds ``expected()`` at
    ``address``. None when no single process can be told apart or its memory is out of
    reach."""
    candidates = processes_with_open(path, exclude=(os.getpid(), *exclude))
    if len(candidates) == 1:
        memory = ProcessMemory(candidates[0])
        return memory if memory.reachable(address) else None
    wanted = expected() if candidates else b""
    matches = []
    for pid in candidates:
        memory = ProcessMemory(pid)
        try:
            if memory.read(address, len(wanted)) == wanted:
                matches.append(memory)
        except OSError:
            continue
    return matches[0] if len(matches) == 1 else None


def tighten_timer_slack(pid: int, slack_ns: int = 1) -> int:
    """Give every thread of ``pid`` a minimal timer slack; returns how many were changed.

    umockdev's preload ends every forwarded ioctl with ``usleep(0)``, which sleeps for the
    thread's timer slack (50 us by default): several times per transfer, time a real USB
    device never costs its host. Threads the client starts later inherit the slack of the
    thread that starts them.
    """
    changed = 0
    try:
        threads = [task.name for task in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return 0
    for thread in threads:
        try:  # /proc/<thread id> reaches a thread like a process
            Path(f"/proc/{thread}/timerslack_ns").write_text(str(slack_ns))
            changed += 1
        except OSError:
            continue  # not permitted here (needs CAP_SYS_NICE for another process), or gone
    return changed
