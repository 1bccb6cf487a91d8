"""The umockdev transport: unmodified libusb programs (lsusb, pyusb, Aravis, pylon) see the
camera as a USB device on a machine without USB.

The daemon owns a ``UMockdev.Testbed`` (a fake /sys and /dev). A client started with
``LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR=<testbed>`` finds the device in sysfs and
its usbfs ioctls arrive here, in umockdev's worker thread, which only moves bytes between URBs
and the sans-I/O ``U3VUsbDevice``. Frame rendering and pacing run elsewhere. URB data is copied
straight from and to the client's memory where the system permits (``process_memory``), as
the kernel's usbfs would; otherwise it travels through umockdev's socket.

umockdev makes device nodes regular files, which always poll ready, so a waiting libusb client
would spin on REAPURBNDELAY. The node is replaced by a FIFO kept full (not writable) while no
URB is ready to reap and drained (writable: POLLOUT) while one is, so idle clients sleep.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402

from ..usb import descriptors as d  # noqa: E402
from ..usb.device import Transfer, U3VUsbDevice  # noqa: E402
from . import usbfs  # noqa: E402
from .process_memory import (ProcessMemory, identify, processes_with_open,  # noqa: E402
                             tighten_timer_slack)

log = logging.getLogger(__name__)
PRELOAD_LIBRARY = "libumockdev-preload.so.0"
USB_MAJOR = 189
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@dataclass
class _Urb:
    transfer: Transfer
    address: int         # of the client's struct usbdevfs_urb
    buffer_address: int  # of its data buffer
    control: bool
    urb: object = None     # without direct memory access: UMockdev.IoctlData of the URB
    buffer: object = None  # and of its data buffer, once resolved


@dataclass
class _Client:
    urbs: dict[int, _Urb] = field(default_factory=dict)   # by URB address in the client
    reapable: deque[int] = field(default_factory=deque)
    claimed: set[int] = field(default_factory=set)
    memory: ProcessMemory | None = None  # direct access to the client's memory, if possible
    identified: bool = False             # whether its process was looked for


class ReadinessPipe:
    """The device node as a FIFO whose writability says "a URB is ready to reap".

    Its capacity is one page, and a pipe with no free page is not writable: one byte in it
    makes the node unwritable, reading that byte makes it writable again."""

    def __init__(self, path: Path):
        self.path = path
        path.unlink(missing_ok=True)
        os.mkfifo(path, 0o666)
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        fcntl.fcntl(self.fd, F_SETPIPE_SZ, os.sysconf("SC_PAGE_SIZE"))
        self.ready = True
        self.set_ready(False)

    def set_ready(self, ready: bool) -> None:
        if ready == self.ready:
            return
        self.ready = ready
        if ready:
            os.read(self.fd, 1)
        else:
            os.write(self.fd, b"\0")

    def close(self) -> None:
        os.close(self.fd)


class UsbfsHandler(UMockdev.IoctlBase):
    """Answers one device node's usbfs ioctls (runs in umockdev's worker thread)."""

    def __init__(self, port: "UmockdevDevice"):
        super().__init__()
        self.port = port

    def do_handle_ioctl(self, client) -> bool:
        try:
            return self.port.handle_ioctl(client)
        except GLib.Error as error:  # the client died in the middle of its ioctl
            log.info("client vanished during an ioctl: %s", error.message)
            self.port.client_died(client)
            return True
        except ProcessLookupError:  # the same, seen through direct memory access
            log.info("client process vanished during an ioctl")
            self.port.client_died(client)
            return True
        except Exception as error:  # never let a bug kill umockdev's thread: the call fails
            if isinstance(error, OSError) and error.errno == errno.EFAULT:
                # A pointer into nowhere: the kernel's copy from or to the client would fail.
                log.info("client passed an address it cannot access: %s", error)
                client.complete(-1, errno.EFAULT)
            else:
                log.exception("usbfs ioctl failed")
                client.complete(-1, errno.EIO)
            return True

    def do_client_vanished(self, client) -> None:
        self.port.forget_client(client)


class UmockdevDevice:
    """One camera on the testbed, at /dev/bus/usb/<bus>/<devnum>."""

    def __init__(self, testbed: "UmockdevTestbed", device: U3VUsbDevice, busnum: int,
                 devnum: int, lock: threading.RLock, clock: Callable[[], float],
                 on_activity: Callable[[], None], direct_memory: bool = True):
        self.testbed = testbed
        self.device = device
        self.busnum, self.devnum = busnum, devnum
        self.lock = lock
        self.clock = clock
        self.on_activity = on_activity
        self.direct_memory = direct_memory
        # When the pacing loop next wakes by itself (it sets this under the lock).
        self.loop_deadline = float("-inf")
        self.clients: dict[object, _Client] = {}
        self.handler = UsbfsHandler(self)
        self.devnode = f"/dev/bus/usb/{busnum:03d}/{devnum:03d}"
        self.syspath: str | None = None
        self.pipe: ReadinessPipe | None = None
        self.stats = {"ioctls": 0, "reap_empty": 0, "handler_s": 0.0, "reap_s": 0.0,
                      "bytes_to_host": 0, "clients_direct": 0, "clients_socket": 0}
        self.gone = False   # unplugged: open handles fail as on real hardware
        self._dead_clients: list = []
        device.on_complete = self._completed

    # -- plugging ----------------------------------------------------------------------------

    def plug(self) -> None:
        ident = self.device.identity
        self.testbed.tb.attach_ioctl(self.devnode, self.handler)
        if not self.testbed.tb.add_from_string(self._udev_record(ident)):
            raise RuntimeError(f"umockdev refused the device record for {self.devnode}")
        self.syspath = "/sys" + self._device_path()
        self.testbed.tb.uevent(self.syspath, "add")  # hot-plug listeners see it arrive
        self.pipe = ReadinessPipe(Path(self.testbed.root) / self.devnode.lstrip("/"))

    def unplug(self) -> None:
        with self.lock:
            self.gone = True
            self.device.disconnect()
        if self.syspath:
            self.testbed.tb.uevent(self.syspath, "remove")
            self.testbed.tb.remove_device(self.syspath)
            self.syspath = None
        if self.pipe:
            self.pipe.close()
            self.pipe = None

    def _device_path(self) -> str:
        return f"/devices/pci0000:00/0000:00:14.0/usb{self.busnum}/{self.busnum}-{self.devnum - 1}"

    def _udev_record(self, ident: d.UsbIdentity) -> str:
        bus, dev = self.busnum, self.devnum
        attributes = {
            "busnum": bus, "devnum": dev, "speed": 5000, "version": " 3.20",
            "idVendor": f"{ident.vendor_id:04x}", "idProduct": f"{ident.product_id:04x}",
            "bcdDevice": f"{ident.bcd_device:04x}", "bDeviceClass": "ef",
            "bDeviceSubClass": "02", "bDeviceProtocol": "01", "bMaxPacketSize0": 9,
            "bNumConfigurations": 1, "bConfigurationValue": 1, "bNumInterfaces": " 3",
            "manufacturer": ident.manufacturer, "product": ident.model,
            "serial": ident.serial, "devpath": dev - 1, "dev": f"{USB_MAJOR}:{(bus - 1) * 128 + dev - 1}",
        }
        lines = [f"P: {self._device_path()}",
                 f"N: bus/usb/{bus:03d}/{dev:03d}",
                 "E: SUBSYSTEM=usb", "E: DEVTYPE=usb_device", "E: DRIVER=usb",
                 f"E: BUSNUM={bus:03d}", f"E: DEVNUM={dev:03d}", f"E: DEVNAME={self.devnode}",
                 f"E: MAJOR={USB_MAJOR}", f"E: MINOR={(bus - 1) * 128 + dev - 1}",
                 f"E: PRODUCT={ident.vendor_id:x}/{ident.product_id:x}/{ident.bcd_device:x}",
                 "E: TYPE=239/2/1"]
        lines += [f"A: {name}={value}\\n" for name, value in attributes.items()]
        lines.append("H: descriptors=" + d.sysfs_descriptors(ident).hex())
        return "\n".join(lines) + "\n"

    # -- ioctls (umockdev's thread) ----------------------------------------------------------

    def handle_ioctl(self, client) -> bool:
        started = time.perf_counter()
        try:
            return self._handle_ioctl(client)
        finally:
            self.stats["handler_s"] += time.perf_counter() - started

    def _handle_ioctl(self, client) -> bool:
        request = client.get_request() & 0xFFFFFFFF
        arg = client.get_arg()
        if request not in (usbfs.REAPURBNDELAY, usbfs.SUBMITURB):
            log.debug("ioctl %s", usbfs.NAMES.get(request, hex(request)))
        with self.lock:
            self.stats["ioctls"] += 1
            if self.gone:
                client.complete(-1, errno.ENODEV)
                return True
            state = self.clients.get(client)
            if state is None:
                state = self.clients[client] = _Client()
            try:
                result = self._dispatch(request, arg, client, state)
                if result is None:
                    log.debug("unhandled usbfs ioctl %s", usbfs.NAMES.get(request, hex(request)))
                    client.complete(-1, errno.ENOTTY)
            finally:
                self._update_readiness()
        return True

    def _dispatch(self, request: int, arg, client, state: _Client):
        def u32(value: int | None = None) -> int:
            data = arg.resolve(0, 4)
            if value is not None:
                data.update(0, struct.pack("<I", value))
            return struct.unpack("<I", bytes(data.retrieve()))[0]

        def done(ret: int = 0, err: int = 0) -> bool:
            client.complete(ret, err)
            return True

        if request == usbfs.SUBMITURB:
            return self._submit(arg, client, state)
        if request in (usbfs.REAPURB, usbfs.REAPURBNDELAY):
            return self._reap(arg, client, state)
        if request == usbfs.DISCARDURB:
            address = _pointer(arg)
            urb = state.urbs.get(address)
            if urb is None or not self.device.discard(urb.transfer):
                return done(-1, errno.EINVAL)
            return done()
        if request == usbfs.GET_CAPABILITIES:
            u32(usbfs.CAPABILITIES)
            return done()
        if request in (usbfs.CLAIMINTERFACE, usbfs.DISCONNECT_CLAIM):
            interface = u32()
            if interface not in d.INTERFACE_ENDPOINTS:
                return done(-1, errno.EINVAL)
            holders = [c for c, other in self.clients.items()
                       if c is not client and interface in other.claimed]
            if holders and not self._other_openers_alive():
                # The kernel releases a dead process's claims; umockdev does not always notice
                # a killed client, so a claim with no other live process behind it is stale.
                for holder in holders:
                    self._drop_client(holder)
                    self._dead_clients.append(holder)
                holders = []
            if holders:
                return done(-1, errno.EBUSY)
            state.claimed.add(interface)
            return done()
        if request == usbfs.RELEASEINTERFACE:
            state.claimed.discard(u32())
            return done()
        if request == usbfs.SETCONFIGURATION:
            value = struct.unpack("<i", bytes(arg.resolve(0, 4).retrieve()))[0]
            return done() if self.device.requests.set_configuration(max(value, 0)) \
                else done(-1, errno.EINVAL)
        if request == usbfs.SETINTERFACE:
            interface, alternate = struct.unpack("<II", bytes(arg.resolve(0, 8).retrieve()))
            return done() if self.device.requests.set_interface(interface, alternate) \
                else done(-1, errno.EINVAL)
        if request in (usbfs.CLEAR_HALT, usbfs.RESETEP):
            endpoint = u32() & 0xFF
            return done() if self.device.clear_halt(endpoint) else done(-1, errno.ENOENT)
        if request in (usbfs.GETDRIVER, usbfs.IOCTL):
            return done(-1, errno.ENODATA)  # no kernel driver bound to our interfaces
        if request == usbfs.CONNECTINFO:
            arg.resolve(0, 8).update(0, struct.pack("<IBxxx", self.devnum, 0))
            return done()
        if request == usbfs.GET_SPEED:
            return done(usbfs.SPEED_SUPER)
        if request in (usbfs.RESET, usbfs.DROP_PRIVILEGES, usbfs.CONNECT, usbfs.DISCONNECT):
            return done()
        return None

    def _submit(self, arg, client, state: _Client) -> bool:
        address = _pointer(arg)
        urb = None
        if not state.identified:
            state.identified = True
            state.memory = self._direct_memory(address, arg)
        if state.memory is not None:
            head = state.memory.read(address, usbfs.URB_SIZE)
        else:
            urb = arg.resolve(0, usbfs.URB_SIZE)
            head = bytes(urb.retrieve())
        kind, endpoint, _status, _flags, buffer_address, length, _actual = \
            usbfs.URB_HEAD.unpack_from(head)
        if kind not in (usbfs.URB_TYPE_CONTROL, usbfs.URB_TYPE_BULK, usbfs.URB_TYPE_INTERRUPT) \
                or length < 0:
            client.complete(-1, errno.EINVAL)
            return True
        control = kind == usbfs.URB_TYPE_CONTROL
        is_in = bool(endpoint & 0x80) and not control
        # An IN buffer is written only when the URB is reaped (see _reap); an OUT or control
        # transfer's data is needed now.
        data, buffer = b"", None
        if length and not is_in:
            if state.memory is not None:
                data = state.memory.read(buffer_address, length)
            else:
                buffer = urb.resolve(usbfs.URB_BUFFER_OFFSET, length)
                data = bytes(buffer.retrieve())
        if control and len(data) >= 8 and data[0] & 0x80:
            data = data[:8]  # an IN control transfer carries only its SETUP
        if log.isEnabledFor(logging.DEBUG):
            log.debug("submit urb 0x%x type %d ep 0x%02x length %d data %s", address, kind,
                      endpoint, length, data[:24].hex())
        transfer = Transfer(endpoint=endpoint, control=control,
                            length=length - 8 if control else length, data=data,
                            owner=(client, address))
        state.urbs[address] = _Urb(transfer, address, buffer_address, control, urb, buffer)
        client.complete(0, 0)
        self.device.submit(transfer, self.clock())
        # Wake the pacing loop when the camera now has something to do before the loop would
        # wake anyway (a command changed its schedule, an ack is pending), or a frame waits to
        # be rendered ahead.
        due = self.device.next_deadline()
        if (due is not None and due < self.loop_deadline) \
                or self.device.camera.stream_channel.needs_preparation():
            self.on_activity()
        return True

    def _direct_memory(self, address: int, arg) -> ProcessMemory | None:
        """The client's process, if its memory is ours to read and write; when several
        processes have the node open, the one holding the URB it just submitted."""
        def urb_through_umockdev() -> bytes:
            return bytes(arg.resolve(0, usbfs.URB_SIZE).retrieve())
        memory = identify(str(self.pipe.path), address, urb_through_umockdev) \
            if self.direct_memory and self.pipe is not None else None
        self.stats["clients_direct" if memory else "clients_socket"] += 1
        if memory is not None:
            tighten_timer_slack(memory.pid)
        log.debug("client memory: %s", f"direct (pid {memory.pid})" if memory
                  else "through umockdev")
        return memory

    def _reap(self, arg, client, state: _Client) -> bool:
        if not state.reapable:
            self.stats["reap_empty"] += 1
            client.complete(-1, errno.EAGAIN)
            return True
        started = time.perf_counter()
        urb = state.urbs.pop(state.reapable.popleft())
        transfer = urb.transfer
        result = transfer.result
        log.debug("reap urb ep 0x%02x status %d bytes %d", transfer.endpoint, transfer.status,
                  transfer.actual_length)
        if state.memory is not None:
            offset = 8 if urb.control else 0
            state.memory.write([
                (urb.buffer_address + offset, result),
                (urb.address + usbfs.URB_STATUS_OFFSET, struct.pack("<i", transfer.status)),
                (urb.address + usbfs.URB_ACTUAL_LENGTH_OFFSET,
                 struct.pack("<i", transfer.actual_length)),
                (_pointer(arg), struct.pack("<Q", urb.address))])
        else:
            self._complete_through_umockdev(arg, urb)
        client.complete(0, 0)
        self.stats["bytes_to_host"] += len(result)
        transfer.result = b""  # release the view of the frame buffer
        self.stats["reap_s"] += time.perf_counter() - started
        return True

    @staticmethod
    def _complete_through_umockdev(arg, urb: _Urb) -> None:
        transfer = urb.transfer
        # bytes: GI converts them to the C array in one copy (a memoryview goes item by item).
        result = bytes(transfer.result)
        if result and urb.buffer is not None:
            urb.buffer.update(8 if urb.control else 0, result)
        elif result:
            # umockdev writes a buffer back only where it differs from what it read, so read
            # it now, not at submit: a client may mark its in-flight buffer (pylon does, to
            # detect unfilled pages), and the frame must overwrite those marks as DMA would.
            buffer = urb.urb.resolve(usbfs.URB_BUFFER_OFFSET, len(result))
            buffer.update(0, result)
        urb.urb.update(usbfs.URB_STATUS_OFFSET, struct.pack("<i", transfer.status))
        urb.urb.update(usbfs.URB_ACTUAL_LENGTH_OFFSET, struct.pack("<i", transfer.actual_length))
        arg.resolve(0, usbfs.POINTER).set_ptr(0, urb.urb)

    # -- completions (any thread, under the lock) -------------------------------------------

    def _completed(self, transfer: Transfer) -> None:
        client, address = transfer.owner
        state = self.clients.get(client)
        if state is not None and address in state.urbs:
            state.reapable.append(address)
        self._update_readiness()

    def _update_readiness(self) -> None:
        if self.pipe is not None:
            self.pipe.set_ready(any(c.reapable for c in self.clients.values()))

    def _other_openers_alive(self) -> bool:
        """Whether a live process besides the requesting one and the daemon has the node open."""
        if self.pipe is None:
            return True
        return len(processes_with_open(str(self.pipe.path), exclude=(os.getpid(),))) > 1

    def _drop_client(self, client) -> None:
        if self.clients.pop(client, None) is not None:
            self.device.discard_owned_by(lambda owner: owner[0] is client)
            log.debug("client gone; its URBs and claims are dropped")

    def client_died(self, client) -> None:
        """umockdev will never hear from it again (nor notice it left): drop its state, and
        keep the wrapper, whose destruction with an open stream umockdev reports as critical."""
        with self.lock:
            self._drop_client(client)
            self._dead_clients.append(client)
            self._update_readiness()

    def forget_client(self, client) -> None:
        with self.lock:
            self._drop_client(client)
            self._update_readiness()

    def purge_dead_clients(self) -> None:
        """Clients that died without umockdev noticing (notify::connected never fires)."""
        with self.lock:
            for client in [c for c in self.clients if not c.get_connected()]:
                self._drop_client(client)
            self._update_readiness()


def _pointer(arg) -> int:
    """The ioctl's argument: an address in the client."""
    return int.from_bytes(arg.retrieve()[:8], "little")


class UmockdevTestbed:
    """The fake /sys and /dev the cameras live in."""

    def __init__(self):
        self.tb = UMockdev.Testbed.new()
        self.root = self.tb.get_root_dir()

    def environment(self) -> dict[str, str]:
        return {"UMOCKDEV_DIR": self.root, "LD_PRELOAD": PRELOAD_LIBRARY}

    def close(self) -> None:
        del self.tb
