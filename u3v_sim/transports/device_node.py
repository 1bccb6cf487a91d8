"""The emulated usbfs device node's own file: what a client's ``poll()`` on it reports.

libusb polls a usbfs node for POLLOUT ("a URB is ready to reap") and for POLLERR (the device
is gone: reap what is left, then report LIBUSB_ERROR_NO_DEVICE; linux_usbfs.c
op_handle_events). The kernel's node gives both (drivers/usb/core/devio.c usbdev_poll:
EPOLLOUT while the completed list is not empty, EPOLLHUP|EPOLLERR once disconnected).
umockdev forwards a node's ioctls but not its poll, so the file behind the node must do it:

- A regular file always polls ready: libusb would spin on REAPURBNDELAY.
- A FIFO can be made unwritable (full) and writable, but never POLLERR: the client opens it
  read-write, so it always has a reader and a writer.
- A pseudo-terminal slave does all three: stopping its output (``tcflow(TCOOFF)``) makes it
  unwritable, starting it makes it writable and wakes pollers, and closing the master hangs it
  up, after which every poll answers POLLOUT|POLLERR|POLLHUP (tty_io.c hung_up_tty_poll).

So the node is a symlink to a pty slave. A tty a session leader without a controlling terminal
opens becomes its controlling terminal (tty_io.c tty_open), and its hang-up would then send
that client SIGHUP: a small holder process makes the slave the controlling terminal of a
session of its own (``setsid --ctty``) first, so no client's session ever gets it.
"""

from __future__ import annotations

import os
import subprocess
import termios
import tty
from pathlib import Path

# (SIGHUP set back to its default: a daemon started under nohup passes "ignore" on.)
HOLDER = ("env", "--default-signal=HUP", "setsid", "--ctty", "sleep", "infinity")


class DeviceNode:
    """The file at ``path`` a client opens; ``set_ready`` says whether a URB waits to be
    reaped, ``hang_up`` that the device is gone (for good: a replugged device gets a new node).
    The slave is the owner's alone (mode 0600), as a usbfs node is root's by default."""

    def __init__(self, path: Path):
        self.path = path
        self.master, self._slave = os.openpty()
        self.tty = os.ttyname(self._slave)
        os.fchmod(self._slave, 0o600)
        tty.setraw(self._slave)  # nothing a client might write is echoed or interpreted
        self._holder = subprocess.Popen(HOLDER, stdin=self._slave, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, close_fds=True)
        path.unlink(missing_ok=True)
        path.symlink_to(self.tty)
        self.ready = True
        self.set_ready(False)

    def set_ready(self, ready: bool) -> None:
        if ready == self.ready or self.master < 0:
            return
        self.ready = ready
        termios.tcflow(self._slave, termios.TCOON if ready else termios.TCOOFF)

    def hang_up(self) -> None:
        """Every open of the node now polls POLLERR|POLLHUP; the holder gets SIGHUP and ends."""
        if self.master < 0:
            return
        os.close(self.master)
        os.close(self._slave)
        self.master = self._slave = -1
        try:  # it ends at the hang-up's SIGHUP; never wait long for that
            self._holder.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            self._holder.kill()
            self._holder.wait()

    close = hang_up

    @property
    def own_pids(self) -> tuple[int, ...]:
        """Processes of ours that hold the slave open (not clients)."""
        return (os.getpid(), self._holder.pid)
