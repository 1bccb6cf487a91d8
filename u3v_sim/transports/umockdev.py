"""The umockdev transport: unmodified libusb programs (lsusb, pyusb, Aravis, pylon) see the
camera as a USB device on a machine without USB.

The daemon owns a ``UMockdev.Testbed`` (a fake /sys and /dev). A client started with
``LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR=<testbed>`` finds the device in sysfs and
its usbfs ioctls arrive here, in umockdev's worker thread, which only moves bytes between URBs
and the sans-I/O ``U3VUsbDevice``. Frame rendering and pacing run elsewhere. URB data is copied
straight from and to the client's memory where the system permits (``process_memory``), as
the kernel's usbfs would; otherwise it travels through umockdev's socket.

umockdev makes device nodes regular files, which always poll ready, so a waiting libusb client
would spin on REAPURBNDELAY; the node is replaced by a pseudo-terminal that polls like the
kernel's node (``device_node``).
"""

from __future__ import annotations

import errno
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
from . import PRELOAD_LIBRARY, usbfs  # noqa: E402
from .device_node import DeviceNode  # noqa: E402
from .process_memory import (ChildrenWatch, ProcessMemory, identify,  # noqa: E402
                             open_count, open_file_count, processes_with_open,
                             tighten_timer_slack)

log = logging.getLogger(__name__)
USB_MAJOR = 189
FIRST_DEVNUM, LAST_DEVNUM = 2, 127
# The transfer type of each endpoint (bmAttributes & 3): all of a U3V device's are bulk.
ENDPOINT_TYPES = {ep: usbfs.ENDPOINT_XFER_BULK for ep in d.ENDPOINTS}


@dataclass(eq=False)   # (each URB is itself: two may look alike)
class _Urb:
    transfer: Transfer
    address: int         # of the client's struct usbdevfs_urb
    buffer_address: int  # of its data buffer (a control URB's: its SETUP)
    buffer_length: int   # what may be written there: never more (an IN transfer that gets
    #                      more ends with -EOVERFLOW in the device)
    control: bool
    memory: int          # charged to the usbfs memory budget until reaped
    direct: bool         # submitted through direct memory access (else umockdev's socket)
    urb: object = None     # without direct memory access: UMockdev.IoctlData of the URB
    buffer: object = None  # and of its data buffer, once resolved


@dataclass(eq=False)
class _Client:
    """One open file of the node (devio.c struct usb_dev_state)."""
    # Its URBs not yet reaped, by their address in the client. The address is only the
    # client's cookie (devio.c keeps it as userurb): two processes sharing the file after a
    # fork may submit URBs at the same address, so each address has a list, oldest first.
    urbs: dict[int, list[_Urb]] = field(default_factory=dict)
    reapable: deque[_Urb] = field(default_factory=deque)

    def all_urbs(self) -> list[_Urb]:
        return [urb for urbs in self.urbs.values() for urb in urbs]

    def forget(self, urb: _Urb) -> None:
        """The URB is reaped (or freed): off its address's list."""
        same = self.urbs[urb.address]
        same.remove(urb)
        if not same:
            del self.urbs[urb.address]
    memory: ProcessMemory | None = None  # direct access to the client's memory, if possible
    identified: bool = False             # whether its process was looked for
    read_offset: int = 0                 # the file position read() goes on from
    # USBDEVFS_DROP_PRIVILEGES: the interfaces it may still claim, for good
    allowed_interfaces: int = ~0
    privileges_dropped: bool = False
    # Direct memory access is right only while the open file is in one process: a child that
    # inherited it (fork) issues ioctls whose memory is its own. The children last seen, and
    # whether one of them holds the node.
    children: bytes = b""
    shared: bool = False
    watch: ChildrenWatch | None = None

    def direct(self, tty: str) -> ProcessMemory | None:
        """The client's memory for this ioctl, or None to go through umockdev's socket (which
        reaches whichever process made the call)."""
        if self.memory is None:
            return None
        if self.watch is None:
            self.watch = ChildrenWatch(self.memory.pid)
        children = self.watch.children()
        if children != self.children:
            self.children = children
            self.shared = any(open_count(int(pid), tty) for pid in children.split())
        return None if self.shared else self.memory


class UsbfsHandler(UMockdev.IoctlBase):
    """Answers one device node's usbfs ioctls (runs in umockdev's worker thread)."""

    def __init__(self, port: "UmockdevDevice"):
        super().__init__()
        self.port = port

    def do_handle_ioctl(self, client, retried: bool = False) -> bool:
        try:
            return self.port.handle_ioctl(client)
        except GLib.Error as error:  # the client died in the middle of its ioctl
            log.info("client vanished during an ioctl: %s", error.message)
            self.port.client_died(client)
            return True
        except ProcessLookupError:  # the same, seen through direct memory access ...
            if not retried and self.port.client_moved(client):
                # ... or the process whose memory it was left, and the open file lives on
                # in another (a fork's child): the ioctl again, in that one's memory
                return self.do_handle_ioctl(client, retried=True)
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

    def do_handle_read(self, client) -> bool:
        return self._guarded(self.port.handle_read, client)

    def do_handle_write(self, client) -> bool:
        client.complete(-1, errno.EINVAL)  # the kernel's node has no write: the VFS says EINVAL
        return True

    def _guarded(self, handler, client) -> bool:
        try:
            return handler(client)
        except GLib.Error as error:
            log.info("client vanished during a read: %s", error.message)
            self.port.client_died(client)
            return True

    def do_client_vanished(self, client) -> None:
        self.port.forget_client(client)


class UmockdevDevice:
    """One camera on the testbed, at /dev/bus/usb/<bus>/<devnum>: the kernel's usbfs device
    node (drivers/usb/core/devio.c) as far as a client can tell — the same checks and errno on
    every ioctl, claims per open file, the usbfs memory limit, never more bytes into a buffer
    than it holds, and on disconnect every pending URB completed (-ESHUTDOWN), still reapable,
    the node hung up (POLLERR), every other ioctl -ENODEV."""

    def __init__(self, testbed: "UmockdevTestbed", device: U3VUsbDevice, busnum: int,
                 port: int, devnum: int, lock: threading.RLock, clock: Callable[[], float],
                 on_submit: Callable[[], None], direct_memory: bool = True,
                 on_client: Callable[[bool, int], None] = lambda attached, clients: None):
        self.testbed = testbed
        self.device = device
        # The root hub port the camera is plugged into keeps its sysfs path across replugs;
        # the device number is new at each enumeration.
        self.busnum, self.port, self.devnum = busnum, port, devnum
        self.lock = lock
        self.clock = clock
        # Called under the lock after each submit: the runner decides whether to wake its loop.
        self.on_submit = on_submit
        # (Under the lock.) A client opened the node (True) or is gone; how many are left.
        self.on_client = on_client
        self.direct_memory = direct_memory
        self.clients: dict[object, _Client] = {}
        self.claims = usbfs.Claims(d.INTERFACE_ENDPOINTS)
        self.handler = UsbfsHandler(self)
        self.devnode = f"/dev/bus/usb/{busnum:03d}/{devnum:03d}"
        self.syspath: str | None = None
        self.node: DeviceNode | None = None
        self.attached = False  # our handler answers the node's ioctl socket
        self.stats = {"ioctls": 0, "reap_empty": 0, "handler_s": 0.0, "reap_s": 0.0,
                      "bytes_to_host": 0, "clients_direct": 0, "clients_socket": 0,
                      "refused_busy": 0, "refused_memory": 0, "clients_died_in_ioctl": 0,
                      "stale_claims_dropped": 0, "clients_moved": 0}
        self.gone = False   # unplugged: open handles fail as on real hardware
        self._dead_clients: list = []
        device.on_complete = self._completed

    # -- plugging ----------------------------------------------------------------------------

    def plug(self) -> None:
        ident = self.device.identity
        self.testbed.tb.attach_ioctl(self.devnode, self.handler)
        self.attached = True
        if not self.testbed.tb.add_from_string(self._udev_record(ident)):
            raise RuntimeError(f"umockdev refused the device record for {self.devnode}")
        self.syspath = "/sys" + self._device_path()
        self.node = DeviceNode(Path(self.testbed.root) / self.devnode.lstrip("/"))
        self.testbed.tb.uevent(self.syspath, "add")  # hot-plug listeners see it arrive

    def unplug(self) -> None:
        """The device leaves the bus: pending URBs complete with -ESHUTDOWN and stay
        reapable (usb_hcd_flush_endpoint, then devio.c usbdev_remove), the node polls
        POLLERR|POLLHUP, nobody can open it again. Clients still holding it open are served
        (reaps) until they close it."""
        with self.lock:
            self.gone = True
            self.device.disconnect()
            self._update_readiness()
            if self.node:
                self.node.hang_up()
        if self.attached:
            # Frees the listening socket; the open files' connections stay served.
            self.testbed.tb.detach_ioctl(self.devnode)
            self.attached = False
        if self.syspath:
            self.testbed.tb.uevent(self.syspath, "remove")
            self.testbed.tb.remove_device(self.syspath)
            self.syspath = None

    def _device_path(self) -> str:
        return f"/devices/pci0000:00/0000:00:14.0/usb{self.busnum}/{self.busnum}-{self.port}"

    def _udev_record(self, ident: d.UsbIdentity) -> str:
        bus, dev = self.busnum, self.devnum
        attributes = {
            "busnum": bus, "devnum": dev, "speed": 5000, "version": " 3.20",
            "idVendor": f"{ident.vendor_id:04x}", "idProduct": f"{ident.product_id:04x}",
            "bcdDevice": f"{ident.bcd_device:04x}", "bDeviceClass": "ef",
            "bDeviceSubClass": "02", "bDeviceProtocol": "01", "bMaxPacketSize0": 9,
            "bNumConfigurations": 1, "bConfigurationValue": 1, "bNumInterfaces": " 3",
            "manufacturer": ident.manufacturer, "product": ident.model,
            "serial": ident.serial, "devpath": self.port,
            "dev": f"{USB_MAJOR}:{(bus - 1) * 128 + dev - 1}",
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
            state = self.clients.get(client)
            if state is None:
                state = self.clients[client] = _Client()
                self.on_client(True, len(self.clients))
            try:
                if request in (usbfs.REAPURB, usbfs.REAPURBNDELAY):
                    # devio.c usbdev_do_ioctl: reaping is allowed after a disconnect
                    return self._reap(arg, client, state)
                if self.gone:
                    client.complete(-1, errno.ENODEV)
                    return True
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

        def refused(err: int) -> bool:
            return done(-1, err) if err else done()

        if request == usbfs.SUBMITURB:
            return self._submit(arg, client, state)
        if request == usbfs.DISCARDURB:
            # devio.c proc_unlinkurb: the first pending URB at that address; none is -EINVAL
            urb = next((u for u in state.urbs.get(_pointer(arg), ()) if not u.transfer.done),
                       None)
            if urb is None or not self.device.discard(urb.transfer):
                return done(-1, errno.EINVAL)
            return done()
        if request == usbfs.GET_CAPABILITIES:
            u32(usbfs.CAPABILITIES)
            return done()
        if request == usbfs.CLAIMINTERFACE:
            return refused(self._claim(client, u32()))
        if request == usbfs.DISCONNECT_CLAIM:
            # devio.c proc_disconnect_claim: an interface that does not exist is -EINVAL
            # (no driver is bound to ours, so there is nothing to disconnect)
            interface = u32()
            if interface not in d.INTERFACE_ENDPOINTS:
                return done(-1, errno.EINVAL)
            return refused(self._claim(client, interface))
        if request == usbfs.DROP_PRIVILEGES:  # devio.c proc_drop_privileges: one way
            state.allowed_interfaces &= u32()
            state.privileges_dropped = True
            return done()
        if request == usbfs.RELEASEINTERFACE:
            interface = u32()
            error = self.claims.release(client, interface)
            if not error:  # devio.c proc_releaseinterface: its pending URBs are killed
                self._kill_interface_urbs(state, interface)
                self._interface_released(interface)
            return refused(error)
        if request == usbfs.SETCONFIGURATION:
            value = struct.unpack("<i", bytes(arg.resolve(0, 4).retrieve()))[0]
            self._drop_stale_claims(client)
            if self.claims.holders():
                return done(-1, errno.EBUSY)  # devio.c proc_setconfig: any claimed interface
            return done() if self.device.requests.set_configuration(max(value, 0)) \
                else done(-1, errno.EINVAL)
        if request == usbfs.SETINTERFACE:
            interface, alternate = struct.unpack("<II", bytes(arg.resolve(0, 8).retrieve()))
            error = self._check_interface(client, interface)
            if error:
                return done(-1, error)
            return done() if self.device.requests.set_interface(interface, alternate) \
                else done(-1, errno.EINVAL)
        if request in (usbfs.CLEAR_HALT, usbfs.RESETEP):
            endpoint = u32() & 0xFF
            error = self._check_endpoint(client, endpoint)
            if error:
                return done(-1, error)
            return done() if self.device.clear_halt(endpoint) else done(-1, errno.ENOENT)
        if request == usbfs.CONTROL:
            return self._control(arg, client)
        if request == usbfs.IOCTL and state.privileges_dropped:
            return done(-1, errno.EACCES)  # devio.c proc_ioctl
        if request in (usbfs.GETDRIVER, usbfs.IOCTL):
            return done(-1, errno.ENODATA)  # no kernel driver bound to our interfaces
        if request == usbfs.RESET:
            # devio.c proc_resetdevice: with dropped privileges, not while another file holds
            # an interface
            if state.privileges_dropped and self.claims.holders() - {client}:
                return done(-1, errno.EACCES)
            self._reset_device()
            return done()
        if request == usbfs.CONNECTINFO:
            arg.resolve(0, 8).update(0, struct.pack("<IBxxx", self.devnum, 0))
            return done()
        if request == usbfs.GET_SPEED:
            return done(usbfs.SPEED_SUPER)
        if request == usbfs.BULK:
            return refused(self._bulk_checks(arg, client))
        if usbfs.is_conninfo_ex(request):  # devio.c proc_conninfo_ex: the first len bytes
            size = (request >> 16) & 0x3FFF
            layout = usbfs.CONNINFO_EX_STRUCT
            info = layout.pack(layout.size, self.busnum, self.devnum, usbfs.SPEED_SUPER, 1,
                               bytes([self.port]).ljust(7, b"\0"))
            if size:
                arg.resolve(0, min(size, len(info))).update(0, info[:size])
            return done()
        if request in (usbfs.CLAIM_PORT, usbfs.RELEASE_PORT, usbfs.ALLOC_STREAMS,
                       usbfs.FREE_STREAMS):
            # no ports (not a hub); no bulk streams on any endpoint
            return done(-1, errno.EINVAL)
        if request in (usbfs.VFS_FIOCLEX, usbfs.VFS_FIONCLEX, usbfs.VFS_FIONBIO,
                       usbfs.VFS_FIOASYNC):
            # answered by the VFS for any file (fs/ioctl.c do_vfs_ioctl): done on the real fd
            result, error = client.execute()
            return done(result, error)
        if request in (usbfs.DISCSIGNAL,
                       usbfs.FORBID_SUSPEND, usbfs.ALLOW_SUSPEND):
            return done()
        # (DISCONNECT and CONNECT exist only as codes inside USBDEVFS_IOCTL: -ENOTTY here.)
        return None

    def _bulk_checks(self, arg, client) -> int:
        """USBDEVFS_BULK (devio.c proc_bulk): the endpoint, claim and length checks. A
        synchronous bulk transfer itself is not served (it would block umockdev's thread;
        libusb never uses it): -ENOTTY."""
        endpoint, length, _timeout, _data = usbfs.BULKTRANSFER.unpack(
            bytes(arg.resolve(0, usbfs.BULKTRANSFER.size).retrieve()))
        error = self._check_endpoint(client, endpoint)
        if error:
            return error
        if length >= usbfs.XFER_MAX:
            return errno.EINVAL
        return errno.ENOTTY

    def handle_read(self, client) -> bool:
        """read() on the node (devio.c usbdev_read): the device descriptor, then the
        configuration descriptors, from the file position on; -ENODEV once gone."""
        with self.lock:
            state = self.clients.setdefault(client, _Client())
            if self.gone:
                client.complete(-1, errno.ENODEV)
                return True
            buffer = client.get_arg()
            wanted = len(buffer.retrieve())
            descriptors = d.sysfs_descriptors(self.device.identity)
            chunk = descriptors[state.read_offset:state.read_offset + wanted]
            if chunk:
                buffer.update(0, chunk)
            state.read_offset += len(chunk)
            client.complete(len(chunk), 0)
        return True

    # -- claims (devio.c claimintf, checkintf) -----------------------------------------------

    def _claim(self, client, interface: int) -> int:
        state = self.clients.get(client)
        allowed = state.allowed_interfaces if state is not None else ~0
        error = self.claims.claim(client, interface, allowed, self.device.requests.configured)
        if error == errno.EBUSY and self._drop_stale_claims(client):
            error = self.claims.claim(client, interface, allowed, self.device.requests.configured)
        if error == errno.EBUSY:
            self.stats["refused_busy"] += 1
        return error

    def _reset_device(self) -> None:
        """USBDEVFS_RESET (hub.c usb_reset_device): usbfs has no reset hooks, so every
        interface it holds is unbound: claims end and their pending URBs are killed (-ENOENT;
        libusb claims them again); the device's endpoints come back unhalted and its control
        channel empty. Its settings stay (a bus reset is not a power cycle)."""
        for client, state in list(self.clients.items()):
            for interface in [i for i, h in self.claims.holder.items() if h is client]:
                self._kill_interface_urbs(state, interface)
            self.claims.release_all(client)
        self.device.bus_reset()

    def _drop_stale_claims(self, client) -> bool:
        """The kernel releases a file's claims when it is closed (devio.c usbdev_release);
        umockdev hears of a close later, or not at all for a killed client. Claims of other
        clients with no open file left behind them are dropped now; whether any were."""
        others = self.claims.holders() - {client}
        if not others or self._other_openers_alive():
            return False
        for holder in others:
            self._drop_client(holder)
            self._dead_clients.append(holder)
            self.stats["stale_claims_dropped"] += 1
        return True

    def _check_interface(self, client, interface: int) -> int:
        """devio.c checkintf: an interface used without a claim is claimed on the spot."""
        if not self.device.requests.configured:
            return errno.EHOSTUNREACH
        return self._claim(client, interface)

    def _check_endpoint(self, client, endpoint: int) -> int:
        interface = usbfs.interface_of_endpoint(endpoint, d.INTERFACE_ENDPOINTS,
                                                self.device.requests.configured)
        return -interface if interface < 0 else self._check_interface(client, interface)

    def _interface_released(self, interface: int) -> None:
        if interface == d.IF_CONTROL:
            # Nobody reads this host's acks any more: a command's ack never read would have
            # landed in the gone process's IN URB, so the next host must not get it.
            self.device.flush_control()

    # -- transfers ---------------------------------------------------------------------------

    def _submit(self, arg, client, state: _Client) -> bool:
        address = _pointer(arg)
        urb_data = None
        if not state.identified:
            state.identified = True
            state.memory = self._direct_memory(address, arg)
        memory = state.direct(self.node.tty) if self.node is not None else None
        if memory is not None:
            head = memory.read(address, usbfs.URB_SIZE)
        else:
            urb_data = arg.resolve(0, usbfs.URB_SIZE)
            head = bytes(urb_data.retrieve())
        urb = usbfs.Urb.parse(head)
        control = urb.type == usbfs.URB_TYPE_CONTROL

        control_buffer = None  # through umockdev: a control URB's buffer, resolved once

        def read(offset: int, length: int) -> bytes:
            if memory is not None:
                return memory.read(urb.buffer + offset, length)
            return bytes(control_buffer.retrieve()[offset:offset + length])

        setup = None
        if control and urb.buffer and urb.length >= usbfs.SETUP_SIZE \
                and not urb.endpoint & 0x7F:
            if memory is None:
                # umockdev resolves a pointer once (later resolves return the first block), and
                # wLength is known only from the SETUP: take what any SETUP allows.
                control_buffer = urb_data.resolve(
                    usbfs.URB_BUFFER_OFFSET, min(urb.length, usbfs.SETUP_SIZE + 0xFFFF))
            setup = read(0, usbfs.SETUP_SIZE)
        configured = self.device.requests.configured
        error = usbfs.check_submit(urb, setup, d.INTERFACE_ENDPOINTS, ENDPOINT_TYPES, configured)
        if not error:
            if control:
                interface = usbfs.control_interface(setup, d.INTERFACE_ENDPOINTS, configured)
                if interface is not None:
                    error = -interface if interface < 0 else self._check_interface(client,
                                                                                   interface)
            else:
                error = self._check_endpoint(client, urb.endpoint)
        if error:
            client.complete(-1, error)
            return True
        if control:
            w_length = int.from_bytes(setup[6:8], "little")
            is_in = bool(setup[0] & 0x80) and w_length > 0
            length = w_length
        else:
            is_in, length = bool(urb.endpoint & 0x80), urb.length
        charge = usbfs.URB_OVERHEAD + length + (usbfs.SETUP_SIZE if control else 0)
        if not self.testbed.memory.reserve(charge):
            self.stats["refused_memory"] += 1
            client.complete(-1, errno.ENOMEM)
            return True
        try:
            data, buffer = b"", control_buffer
            if control:
                data = setup + (read(usbfs.SETUP_SIZE, length) if length and not is_in else b"")
            elif length and not is_in:
                # An IN buffer is written only when the URB is reaped (see _reap).
                if memory is not None:
                    data = memory.read(urb.buffer, length)
                else:
                    buffer = urb_data.resolve(usbfs.URB_BUFFER_OFFSET, length)
                    data = bytes(buffer.retrieve())
        except BaseException:
            self.testbed.memory.release(charge)
            raise
        if log.isEnabledFor(logging.DEBUG):
            log.debug("submit urb 0x%x type %d ep 0x%02x length %d data %s", address, urb.type,
                      urb.endpoint, urb.length, data[:24].hex())
        transfer = Transfer(endpoint=urb.endpoint, control=control, length=length, data=data,
                            owner=(client, address))
        state.urbs.setdefault(address, []).append(
            _Urb(transfer, address, urb.buffer, length, control, charge, memory is not None,
                 urb_data, buffer))
        client.complete(0, 0)
        self.device.submit(transfer, self.clock())
        self.on_submit()
        return True

    def _control(self, arg, client) -> bool:
        """USBDEVFS_CONTROL (devio.c proc_control): a synchronous request on endpoint 0;
        answers the bytes moved or a negative errno (a stall is -EPIPE)."""
        transfer = arg.resolve(0, usbfs.CTRLTRANSFER.size)
        request_type, request, value, index, length, _timeout, _data = \
            usbfs.CTRLTRANSFER.unpack(bytes(transfer.retrieve()))
        setup = struct.pack("<BBHHH", request_type, request, value, index, length)
        interface = usbfs.control_interface(setup, d.INTERFACE_ENDPOINTS,
                                            self.device.requests.configured)
        error = 0
        if interface is not None:
            error = -interface if interface < 0 else self._check_interface(client, interface)
        if not error and length > usbfs.PAGE_SIZE:
            error = errno.EINVAL
        if error:
            client.complete(-1, error)
            return True
        is_in = bool(request_type & 0x80)
        out = b""
        if length and not is_in:
            out = bytes(transfer.resolve(usbfs.CTRLTRANSFER_DATA_OFFSET, length).retrieve())
        result = self.device.requests.handle(setup, out)
        if result.stall:
            client.complete(-1, errno.EPIPE)
            return True
        if is_in:
            answer = bytes(result.data[:length])
            if answer:
                transfer.resolve(usbfs.CTRLTRANSFER_DATA_OFFSET, len(answer)).update(0, answer)
            client.complete(len(answer), 0)
        else:
            client.complete(length, 0)
        return True

    def _direct_memory(self, address: int, arg) -> ProcessMemory | None:
        """The client's process, if its memory is ours to read and write; when several
        processes have the node open, the one holding the URB it just submitted."""
        def urb_through_umockdev() -> bytes:
            return bytes(arg.resolve(0, usbfs.URB_SIZE).retrieve())
        memory = identify(self.node.tty, address, urb_through_umockdev, self.node.own_pids) \
            if self.direct_memory and self.node is not None else None
        self.stats["clients_direct" if memory else "clients_socket"] += 1
        if memory is not None:
            tighten_timer_slack(memory.pid)
        log.debug("client memory: %s", f"direct (pid {memory.pid})" if memory
                  else "through umockdev")
        return memory

    def _reap(self, arg, client, state: _Client) -> bool:
        if not state.reapable:
            self.stats["reap_empty"] += 1
            # devio.c proc_reapurbnonblock: nothing completed is -EAGAIN, or -ENODEV once gone
            client.complete(-1, errno.ENODEV if self.gone else errno.EAGAIN)
            return True
        started = time.perf_counter()
        # (Taken off the lists once written, or once the copy failed, as devio.c frees the
        # URB either way; but a process that left meanwhile makes the write fail, and the
        # reap is tried again in the memory of the file's new holder.)
        urb = state.reapable[0]
        transfer = urb.transfer
        # Never more than the buffer holds, whatever the device produced.
        result = transfer.result[:urb.buffer_length]
        actual_length = min(transfer.actual_length, urb.buffer_length)
        log.debug("reap urb ep 0x%02x status %d bytes %d", transfer.endpoint, transfer.status,
                  actual_length)
        if urb.direct and state.memory is None:
            # Submitted into a process that left, and the file's new holder is not known:
            # the completion has nowhere to go (it is dropped, as the URB's memory is gone).
            log.warning("a URB of a process that left is dropped: its new holder is unknown")
            self._reaped(state, urb)
            client.complete(-1, errno.EIO)
            return True
        try:
            if urb.direct:
                offset = usbfs.SETUP_SIZE if urb.control else 0
                state.memory.write([
                    (urb.buffer_address + offset, result),
                    (urb.address + usbfs.URB_STATUS_OFFSET, struct.pack("<i", transfer.status)),
                    (urb.address + usbfs.URB_ACTUAL_LENGTH_OFFSET,
                     struct.pack("<i", actual_length)),
                    (_pointer(arg), struct.pack("<Q", urb.address))])
            else:
                self._complete_through_umockdev(arg, urb, result, actual_length)
        except ProcessLookupError:
            raise        # (the URB stays, for the retry in the new holder's memory)
        except BaseException:
            self._reaped(state, urb)   # devio.c: a failed copy to the client loses the URB
            raise
        self._reaped(state, urb)
        client.complete(0, 0)
        self.stats["bytes_to_host"] += len(result)
        transfer.result = b""  # release the view of the frame buffer
        self.stats["reap_s"] += time.perf_counter() - started
        return True

    def _reaped(self, state: _Client, urb: _Urb) -> None:
        state.reapable.popleft()
        state.forget(urb)
        self.testbed.memory.release(urb.memory)

    @staticmethod
    def _complete_through_umockdev(arg, urb: _Urb, result, actual_length: int) -> None:
        transfer = urb.transfer
        # bytes: GI converts them to the C array in one copy (a memoryview goes item by item).
        result = bytes(result)
        offset = usbfs.SETUP_SIZE if urb.control else 0
        if result and urb.buffer is not None:
            urb.buffer.update(offset, result)
        elif result:
            # umockdev writes a buffer back only where it differs from what it read, so read
            # it now, not at submit: a client may mark its in-flight buffer (pylon does, to
            # detect unfilled pages), and the frame must overwrite those marks as DMA would.
            buffer = urb.urb.resolve(usbfs.URB_BUFFER_OFFSET, offset + len(result))
            buffer.update(offset, result)
        urb.urb.update(usbfs.URB_STATUS_OFFSET, struct.pack("<i", transfer.status))
        urb.urb.update(usbfs.URB_ACTUAL_LENGTH_OFFSET, struct.pack("<i", actual_length))
        arg.resolve(0, usbfs.POINTER).set_ptr(0, urb.urb)

    def _kill_interface_urbs(self, state: _Client, interface: int) -> None:
        endpoints = d.INTERFACE_ENDPOINTS.get(interface, ())
        for urb in state.all_urbs():
            if not urb.control and urb.transfer.endpoint in endpoints:
                self.device.discard(urb.transfer)

    # -- completions (any thread, under the lock) -------------------------------------------

    def _completed(self, transfer: Transfer) -> None:
        client, address = transfer.owner
        state = self.clients.get(client)
        if state is not None:
            urb = next((u for u in state.urbs.get(address, ()) if u.transfer is transfer), None)
            if urb is not None:
                state.reapable.append(urb)
        self._update_readiness()

    def _update_readiness(self) -> None:
        if self.node is not None:
            self.node.set_ready(any(c.reapable for c in self.clients.values()))

    def _other_openers_alive(self) -> bool:
        """Whether an open file of the node besides the requesting one is still held by a
        live process (two open files in one process count as two, as claims are per file)."""
        if self.node is None or self.node.master < 0:
            return True
        return open_file_count(self.node.tty, exclude=self.node.own_pids) > 1

    def _drop_client(self, client) -> None:
        state = self.clients.pop(client, None)
        if state is None:
            return
        self.on_client(False, len(self.clients))
        if state.watch is not None:
            state.watch.close()
        for urb in state.all_urbs():
            self.testbed.memory.release(urb.memory)
        self.device.discard_owned_by(lambda owner: owner[0] is client)
        held = {i for i, h in self.claims.holder.items() if h is client}
        self.claims.release_all(client)
        for interface in held:
            self._interface_released(interface)
        log.debug("client gone; its URBs and claims are dropped")

    def client_died(self, client) -> None:
        """The client died in the middle of its ioctl: drop its state and end the ioctl (its
        answer meets a closed connection). umockdev keeps that connection's socket open in the
        daemon: about one fd per 20 clients SIGKILLed at random moments (a known leak)."""
        with self.lock:
            self._drop_client(client)
            self.stats["clients_died_in_ioctl"] += 1
            self._update_readiness()
        if client.get_request():  # (completing twice would fail umockdev's assertion)
            client.complete(-1, errno.EIO)

    def client_moved(self, client) -> bool:
        """The process whose memory a client's ioctls used is gone, but the open file is
        still held (umockdev's connection is up: a forked child has it, as claims and URBs
        on the kernel belong to the open file, not to a process). Its memory is now the one
        process that holds the node, or among several the one holding a URB the file has
        pending, or else umockdev's socket (the next submit identifies the process again).
        False when the open file is gone too."""
        with self.lock:
            state = self.clients.get(client)
            if state is None or not client.get_connected():
                return False
            if state.watch is not None:
                state.watch.close()
            state.watch, state.children, state.shared = None, b"", False
            state.memory = self._holder_memory(state)
            state.identified = state.memory is not None
            if state.memory is not None:
                tighten_timer_slack(state.memory.pid)
            self.stats["clients_moved"] += 1
            log.info("client's process left; its open file goes on in %s",
                     f"pid {state.memory.pid}" if state.memory else "another process")
            return True

    def _holder_memory(self, state: _Client) -> ProcessMemory | None:
        if self.node is None:
            return None
        urb = next((u for u in state.all_urbs() if u.direct), None)

        def holds(memory: ProcessMemory) -> bool:
            """Whether the process holds the URB as submitted (its buffer pointer), or may
            be read at all when no URB is pending."""
            if urb is None:
                return memory.reachable(0)
            try:
                head = memory.read(urb.address, usbfs.URB_SIZE)
            except OSError:
                return False
            return usbfs.Urb.parse(head).buffer == urb.buffer_address
        candidates = [ProcessMemory(pid) for pid in processes_with_open(
            self.node.tty, exclude=(os.getpid(), *self.node.own_pids))]
        found = [memory for memory in candidates if holds(memory)]
        return found[0] if len(found) == 1 else None

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

    @property
    def open_clients(self) -> int:
        """Open files of the node (a gone device keeps them until their owners close them)."""
        return len(self.clients)


def _pointer(arg) -> int:
    """The ioctl's argument: an address in the client."""
    return int.from_bytes(arg.retrieve()[:8], "little")


class UmockdevTestbed:
    """The fake /sys and /dev the cameras live in, its bus numbering and the usbfs memory
    limit every node shares (devio.c: usbfs_memory_mb is one budget for all devices)."""

    def __init__(self, usbfs_memory_mb: int = usbfs.DEFAULT_MEMORY_MB):
        self.tb = UMockdev.Testbed.new()
        self.root = self.tb.get_root_dir()
        self.memory = usbfs.MemoryBudget(usbfs_memory_mb)
        self._last_devnum = FIRST_DEVNUM - 1

    def allocate_devnum(self, in_use: set[int]) -> int:
        """The next free device number after the last one given, wrapping within 2..127 (1
        is the root hub), as the kernel numbers devices on a bus (hub.c choose_devnum)."""
        for step in range(1, LAST_DEVNUM - FIRST_DEVNUM + 2):
            devnum = FIRST_DEVNUM + (self._last_devnum - FIRST_DEVNUM + step) \
                % (LAST_DEVNUM - FIRST_DEVNUM + 1)
            if devnum not in in_use:
                self._last_devnum = devnum
                return devnum
        raise RuntimeError("no free device number on the bus")

    def environment(self) -> dict[str, str]:
        return {"UMOCKDEV_DIR": self.root, "LD_PRELOAD": PRELOAD_LIBRARY}

    def close(self) -> None:
        del self.tb
