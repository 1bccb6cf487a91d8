"""The runtime files of a daemon: how clients find it, and how two daemons keep apart.

One private directory per user holds

- ``daemon.lock``: held with an exclusive ``flock`` for the daemon's whole life (a second
  daemon fails at once and names the first one's pid, written in the file). The file itself
  stays: unlinking a lock file lets two processes hold locks on two different inodes.
- ``daemon.json`` (mode 0600): pid, umockdev testbed, preload library, socket, cameras; the
  daemon writes it once it serves, so clients wait for it.
- ``control.sock`` (mode 0600): the control socket (``control_server.py``).

The directory is ``$U3V_SIM_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/u3v-sim``, else
``/tmp/u3v-sim-<uid>/u3v-sim``. Every directory of it that we create is created 0700, and one
found already there must be a real directory (not a symlink) of ours with no group or other
access, or nothing is used: in ``/tmp`` anybody can pre-create the name, and a planted
``daemon.json`` would otherwise choose what ``eval $(u3v-sim env)`` runs and what ``u3v-sim
run`` preloads. Modes are set explicitly, whatever the umask.

Clients trust ``daemon.json`` only when the lock is held, the file is ours and not writable by
others, its pid is a live u3v-sim daemon of this user (``/proc/<pid>``: owner and command
line) and its values are what a daemon writes. A daemon killed with SIGKILL leaves its files
and its umockdev testbed (``$TMPDIR/umockdev.XXXXXX``) behind; the next daemon finds the lock
free, removes them, and starts.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import socket
import stat
import time
from pathlib import Path

__all__ = ["RuntimeDirError", "DaemonRunning", "DaemonFiles", "runtime_dir", "info_path",
           "socket_path", "lock_path", "read_info", "lock_holder", "is_daemon_process"]

log = logging.getLogger(__name__)

LOCK_NAME = "daemon.lock"
INFO_NAME = "daemon.json"
SOCKET_NAME = "control.sock"
# A client probes the lock with a shared lock for microseconds: a daemon starting at that
# instant retries for this long before it concludes that another daemon holds it.
LOCK_RETRY_S = 0.5
MAX_INFO_BYTES = 1 << 16
# g_dir_make_tmp("umockdev.XXXXXX") in umockdev's testbed.
_TESTBED_NAME = re.compile(r"umockdev\.[A-Za-z0-9]{6}")


class RuntimeDirError(Exception):
    """A runtime directory or file that cannot be trusted (names the path and what is
    wrong)."""


class DaemonRunning(Exception):
    """Another daemon holds the runtime directory's lock; ``pid`` is its process (None if it
    has not written it yet)."""

    def __init__(self, pid: int | None, directory: Path):
        self.pid = pid
        super().__init__(f"a u3v-sim daemon already runs (pid {pid if pid else 'unknown'}, "
                         f"runtime dir {directory}); see u3v-sim status")


# -- where ----------------------------------------------------------------------------------

def _layout() -> tuple[Path, list[Path]]:
    """The runtime directory and the directories that must be private, outermost first."""
    if os.environ.get("U3V_SIM_RUNTIME_DIR"):
        path = Path(os.environ["U3V_SIM_RUNTIME_DIR"]).absolute()
        return path, [path]
    if os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]).absolute() / "u3v-sim"
        return path, [path]
    outer = Path(f"/tmp/u3v-sim-{os.getuid()}")
    return outer / "u3v-sim", [outer, outer / "u3v-sim"]


def runtime_dir() -> Path:
    """The runtime directory's path (not checked; see ``private_runtime_dir``)."""
    return _layout()[0]


def info_path() -> Path:
    return runtime_dir() / INFO_NAME


def socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


def lock_path() -> Path:
    return runtime_dir() / LOCK_NAME


def _check_private(path: Path) -> None:
    """Raises RuntimeDirError unless ``path`` is a directory of ours, no symlink, mode 0700."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory"
    elif st.st_uid != os.geteuid():
        problem = f"belongs to uid {st.st_uid}, not to you (uid {os.geteuid()})"
    elif st.st_mode & 0o077:
        problem = f"has mode {stat.S_IMODE(st.st_mode):04o}; it must be private (0700)"
    else:
        return
    raise RuntimeDirError(f"runtime directory {path} {problem}: not used. Remove it (or, if "
                          f"you made it, chmod 700 it), or set U3V_SIM_RUNTIME_DIR")


def private_runtime_dir(create: bool) -> Path | None:
    """The runtime directory, checked private; created (0700, whatever the umask) if
    ``create``, else None if it does not exist. Raises RuntimeDirError if it is not private."""
    path, private = _layout()
    if create:
        os.makedirs(private[0].parent, mode=0o700, exist_ok=True)
    for directory in private:
        if create:
            try:
                os.mkdir(directory, 0o700)
                os.chmod(directory, 0o700)  # the umask may have taken bits away
                continue
            except FileExistsError:
                pass
        try:
            _check_private(directory)
        except FileNotFoundError:
            return None
    return path


# -- the daemon's side -----------------------------------------------------------------------

def _open_private_file(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


class DaemonFiles:
    """This daemon's runtime files: the lock (held from ``claim`` to ``release``), then the
    control socket and ``daemon.json``. ``release`` removes only files this object created
    and that are still the same files (device and inode)."""

    def __init__(self, directory: Path, lock_fd: int):
        self.directory = directory
        self._lock_fd = lock_fd
        self._created: dict[Path, tuple[int, int]] = {}

    @classmethod
    def claim(cls) -> "DaemonFiles":
        """Create or check the runtime directory, take the lock, remove what a dead daemon
        left. Raises RuntimeDirError (untrusted directory) or DaemonRunning."""
        directory = private_runtime_dir(create=True)
        if directory is None:  # removed by someone while we created it
            raise RuntimeDirError(f"runtime directory {runtime_dir()} vanished while created")
        fd = _open_private_file(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT)
        try:
            deadline = time.monotonic() + LOCK_RETRY_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DaemonRunning(_record(fd).get("pid"), directory) from None
                    time.sleep(0.02)
            files = cls(directory, fd)
            files._remove_stale(_record(fd))
            files._write_record({"pid": os.getpid()})
        except BaseException:
            os.close(fd)
            raise
        return files

    def _write_record(self, record: dict) -> None:
        data = json.dumps(record).encode()
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, data, 0)

    def record_testbed(self, umockdev_dir: str) -> None:
        """Note the testbed in the lock file at once, so a successor removes it even if this
        daemon is killed before it writes daemon.json."""
        self._write_record({"pid": os.getpid(), "umockdev_dir": umockdev_dir})

    def _remove_stale(self, lock_record: dict) -> None:
        """Under the lock: every daemon that wrote here is dead; remove what it left."""
        testbeds = {lock_record.get("umockdev_dir")}
        info = self.directory / INFO_NAME
        try:
            testbeds.add(json.loads(_read_private_file(info)).get("umockdev_dir"))
        except (OSError, ValueError, AttributeError, RuntimeDirError):
            pass
        removed = []
        for name in (INFO_NAME, INFO_NAME + ".tmp", SOCKET_NAME):
            try:
                (self.directory / name).unlink()
                removed.append(name)
            except FileNotFoundError:
                pass
        removed += [t for t in testbeds if _remove_testbed(t)]
        if removed:
            log.warning("removed what a dead daemon (pid %s) left: %s",
                        lock_record.get("pid", "unknown"), ", ".join(removed))

    def _remember(self, path: Path) -> None:
        st = os.lstat(path)
        self._created[path] = (st.st_dev, st.st_ino)

    def listen(self, backlog: int = 128) -> socket.socket:
        """The control socket, bound (mode 0600 in the 0700 directory) and listening."""
        path = self.directory / SOCKET_NAME
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path.unlink(missing_ok=True)
            sock.bind(str(path))
            self._remember(path)
            os.chmod(path, 0o600)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return sock

    def write_info(self, info: dict) -> Path:
        """Write daemon.json (mode 0600, atomically replaced)."""
        path = self.directory / INFO_NAME
        temporary = self.directory / (INFO_NAME + ".tmp")
        temporary.unlink(missing_ok=True)
        fd = _open_private_file(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(info, indent=1))
        os.replace(temporary, path)
        self._remember(path)
        return path

    def release(self) -> None:
        """Remove the files this daemon created (if they are still its own), then drop the
        lock."""
        for path, identity in self._created.items():
            try:
                st = os.lstat(path)
                if (st.st_dev, st.st_ino) == identity:
                    path.unlink()
            except FileNotFoundError:
                pass
        self._created.clear()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _record(fd: int) -> dict:
    try:
        record = json.loads(os.pread(fd, MAX_INFO_BYTES, 0) or b"{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _remove_testbed(path: object) -> bool:
    """Remove a dead daemon's umockdev testbed: only a real directory named umockdev.XXXXXX,
    owned by us."""
    if not isinstance(path, str) or not os.path.isabs(path) \
            or not _TESTBED_NAME.fullmatch(os.path.basename(path)):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    shutil.rmtree(path, ignore_errors=True)  # does not follow symlinks inside
    return not os.path.lexists(path)


# -- the clients' side -----------------------------------------------------------------------

def _read_private_file(path: Path) -> bytes:
    """A regular file of ours that nobody else can write, read without following symlinks."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as file:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RuntimeDirError(f"{path} is not a regular file: not used")
        if st.st_uid != os.geteuid():
            raise RuntimeDirError(f"{path} belongs to uid {st.st_uid}, not to you "
                                  f"(uid {os.geteuid()}): not used")
        if st.st_mode & 0o022:
            raise RuntimeDirError(f"{path} has mode {stat.S_IMODE(st.st_mode):04o} "
                                  f"(writable by others): not used")
        return file.read(MAX_INFO_BYTES)


def is_daemon_process(pid: object) -> bool:
    """Whether ``pid`` is a live ``u3v-sim serve`` process of this user (by /proc/<pid>:
    its owner and its command line)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if owner != os.geteuid():
        return False
    for i, arg in enumerate(argv[:-1]):
        if (arg == b"-m" and argv[i + 1] == b"u3v_sim") or os.path.basename(arg) == b"u3v-sim":
            return b"serve" in argv[i + 1:]
    return False


def lock_holder() -> int | None:
    """The pid a running daemon wrote into the held lock, or None if no daemon holds it.
    Raises RuntimeDirError if the runtime directory or lock file is not private."""
    directory = private_runtime_dir(create=False)
    if directory is None:
        return None
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RuntimeDirError(f"{directory / LOCK_NAME}: {error.strerror}: not used") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise RuntimeDirError(f"{directory / LOCK_NAME} is not a file of yours: not used")
        try:  # free: no daemon; the shared lock is dropped again at once
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            pid = _record(fd).get("pid")
            return pid if isinstance(pid, int) and not isinstance(pid, bool) else 0
    finally:
        os.close(fd)


def read_info() -> dict | None:
    """The running daemon's daemon.json, checked, or None if no daemon runs (or it is still
    starting). A stale file (its daemon dead, the pid perhaps reused) counts as none.

    Raises RuntimeDirError naming the file and the problem if the directory or the file is
    not private, or a value is not what a daemon writes (e.g. ``umockdev_dir`` not an existing
    testbed directory of ours, ``ld_preload`` not umockdev's preload library)."""
    from .transports import PRELOAD_LIBRARY

    holder = lock_holder()
    if holder is None:
        return None
    path = runtime_dir() / INFO_NAME
    try:
        data = _read_private_file(path)
    except FileNotFoundError:
        return None
    try:
        info = json.loads(data)
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        raise RuntimeDirError(f"{path}: not valid: {error}") from None
    pid = info.get("pid")
    if pid != holder or not is_daemon_process(pid):
        return None
    umockdev_dir = info.get("umockdev_dir")
    problem = None
    if not isinstance(umockdev_dir, str) or not os.path.isabs(umockdev_dir) \
            or not _TESTBED_NAME.fullmatch(os.path.basename(umockdev_dir)):
        problem = f"umockdev_dir {umockdev_dir!r} is not a umockdev testbed path"
    else:
        try:
            st = os.lstat(umockdev_dir)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                problem = f"umockdev_dir {umockdev_dir!r} is not a directory of yours"
        except OSError as error:
            problem = f"umockdev_dir {umockdev_dir!r}: {error.strerror}"
    if problem is None and info.get("ld_preload") != PRELOAD_LIBRARY:
        problem = f"ld_preload {info.get('ld_preload')!r} is not {PRELOAD_LIBRARY}"
    if problem is None and info.get("socket") != str(runtime_dir() / SOCKET_NAME):
        problem = f"socket {info.get('socket')!r} is not {runtime_dir() / SOCKET_NAME}"
    if problem:
        raise RuntimeDirError(f"{path}: {problem}: not used")
    return info
