"""The u3v-sim daemon: cameras on a umockdev testbed.

Each camera is a sans-I/O ``Camera`` behind a ``U3VUsbDevice``; umockdev's worker thread
moves URBs in and out, a pacing thread per camera runs the camera's clock (frame starts,
readouts, line events) at its deadlines and renders frames ahead in a worker thread, so the
ioctl thread never waits for a frame to be generated. The asyncio loop serves the control
socket (``u3v-sim status`` and the harness's commands) and the observation subscribers; no
precise wait ever runs on it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import shlex
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from . import runtime
from .camera.camera import Camera, FeatureWriteError
from .camera.lines import LineError
from .camera.realtime import LatenessWatch, RealTimeLimit
from .camera.user_sets import UserSetError, prepare_state_dir
from .camera.observations import ClientChanged, PlugChanged
from .camera_lock import CameraLock
from .config import CameraConfig, ConfigError, DaemonConfig
from .control_server import ControlServer
from .dispatch import Dispatcher
from .faults import DEVICE
from .figures import percentiles_ms
from .telemetry import CameraTelemetry
from .frames.generator import FrameGenerator
from .frames.sources import FileSource
from .harness import commands
from .harness.results import CommandError, Result
from .observers import Observers
from .transports import PRELOAD_LIBRARY
from .transports.umockdev import UmockdevDevice, UmockdevTestbed
from .usb.descriptors import make_identity
from .usb.device import U3VUsbDevice

log = logging.getLogger("u3v_sim.daemon")
BUS_NUMBER = 2
HOUSEKEEPING_S = 1.0
# A client that exits without closing the node is noticed by polling (umockdev does not say
# so): this often, so its detach, claims and URB memory follow its exit within this time.
CLIENT_PURGE_S = 0.1
REPLUG_DELAY_S = 0.5
# After DeviceReset's ack, the camera leaves the bus this much later (the host reads the ack).
RESET_LEAVE_S = 0.05
# At shut-down, how long clients may still reap and close after the unplug (SIGTERM must
# end the daemon within a second).
SHUTDOWN_GRACE_S = 0.3
# The pacing thread waits for a deadline on its wake event until this close, then sleeps.
PRECISE_WAKE_S = 0.0005
# A camera asked for more than the simulator can model still lets the ioctl thread and the
# control socket in between its bounded steps (see camera/realtime.py).
BEHIND_YIELD_S = 0.001
# ... once it is this far behind: a frame start a few milliseconds late (the render thread
# held the GIL) is caught up at once, not made later still.
BEHIND_YIELD_AFTER_S = 0.010
# The event loop's lag is sampled this often; the last LAG_SAMPLES are reported in status.
LAG_SAMPLE_S = 0.01
LAG_SAMPLES = 3000


@dataclass
class Rates:
    """Frames and bytes sent over the last window, for status."""
    time: float = 0.0
    frames: int = 0
    bytes: int = 0
    fps: float = 0.0
    mb_per_s: float = 0.0

    def update(self, now: float, frames: int, sent: int) -> None:
        if self.time and now > self.time:
            self.fps = (frames - self.frames) / (now - self.time)
            self.mb_per_s = (sent - self.bytes) / (now - self.time) / 1e6
        self.time, self.frames, self.bytes = now, frames, sent


@dataclass
class CameraService:
    config: CameraConfig
    camera: Camera
    usb: U3VUsbDevice
    port: UmockdevDevice
    lock: CameraLock
    # Wakes the camera's pacing thread (any thread may set it).
    wake: threading.Event
    # Each camera renders in its own worker: one camera rebuilding its prepared frames (a
    # fraction of a second) must not hold up another's stream.
    renderer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="render"))
    rates: Rates = field(default_factory=Rates)
    rendering: bool = False
    # How late the pacing loop runs the camera; warns once per episode of skipping ahead.
    lateness: LatenessWatch = field(default_factory=LatenessWatch)
    # When the pacing loop next wakes by itself (it sets this under the lock). It belongs to
    # the camera, not to a port: a port made at replug must still wake the loop.
    loop_deadline: float = float("inf")
    # A DeviceReset was acknowledged: the camera leaves the bus and comes back.
    reenumerating: bool = False
    # The next plug change the daemon makes by itself (a reset's leave or return, the replug
    # after an injected disconnect); the harness plugging or unplugging cancels it.
    plug_timer: asyncio.TimerHandle | None = None
    # Off the USB port (by the harness or a disconnect): unpowered.
    unpowered: bool = False
    # The pacing thread, and its stop signal.
    pacer: threading.Thread | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    # The root hub port the camera is plugged into (its sysfs path), 1-based.
    hub_port: int = 1
    # Ports of earlier enumerations whose clients still hold the node open (they may reap).
    old_ports: list = field(default_factory=list)
    # Observations taken from the camera (under its lock, in order), not yet published: the
    # loop publishes them in that order, whichever thread took them (Daemon.publish).
    outbox: deque = field(default_factory=deque)

    @property
    def ports(self) -> tuple:
        """The current port (None while a service is set up) and those kept for clients."""
        return (self.port, *self.old_ports)

    def status(self) -> dict:
        """The camera's telemetry (``telemetry.CameraTelemetry``) as JSON-ready data."""
        with self.lock:
            camera = self.camera
            s, a = camera.stream_channel.stats, camera.acquisition.stats
            return CameraTelemetry(
                serial=self.config.serial, guid=self.usb.identity.guid,
                # (unplugged: no node; the last one is gone from the bus)
                devnode=self.port.devnode if self.port.syspath is not None else None,
                plugged=self.port.syspath is not None, reenumerating=self.reenumerating,
                clients=len(self.port.clients), acquiring=camera.acquisition.acquiring,
                streaming=camera.stream.enabled,
                fps=round(self.rates.fps, 2), mb_per_s=round(self.rates.mb_per_s, 1),
                resulting_frame_rate=round(camera.frame_timing().frame_rate, 3),
                link_throughput_mb_s=round(camera.store.get("DeviceLinkCurrentThroughput")
                                           / 1e6, 1),
                temperature_c=round(camera.thermal.temperature("Coreboard"), 2),
                temperature_state=camera.temperature_state,
                frames_started=a.frames_started, frames_sent=s.frames_sent,
                frames_dropped=s.frames_dropped_buffer_full + s.frames_dropped_not_streaming
                + s.frames_dropped_daemon_overload + s.frames_dropped_fault,
                dropped_buffer_full=s.frames_dropped_buffer_full,
                dropped_not_streaming=s.frames_dropped_not_streaming,
                dropped_daemon_overload=s.frames_dropped_daemon_overload,
                dropped_fault=s.frames_dropped_fault,
                frames_failed=s.frames_aborted + s.frames_sent_failed,
                buffered_frames=camera.stream_channel.buffered_frames,
                overtriggers=a.frame_start_overtriggers,
                events_sent=camera.events_sent, events_dropped=camera.events_dropped,
                behind_real_time=self.lateness.behind,
                behind_ms=round(self.lateness.window_worst_s * 1e3, 1),
                trailer_lateness_ms=percentiles_ms(camera.stream_channel.lateness),
                epoch_monotonic=camera.epoch, stream=asdict(s), acquisition=asdict(a),
                realtime=camera.realtime.stats.as_dict() if camera.realtime else {},
                transport=dict(self.port.stats),
                usbfs_memory=vars(self.port.testbed.memory).copy(),
                faults=camera.faults.listed()).as_dict()


class Daemon:
    def __init__(self, config: DaemonConfig, clock=time.monotonic):
        self.config = config
        self.clock = clock
        self.services: list[CameraService] = []
        self.testbed: UmockdevTestbed | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = asyncio.Event()
        self.control_server: ControlServer | None = None
        # Snapshots render here, one at a time, never in a camera's frame render worker: the
        # stream needs that worker every frame period.
        self.snapshot_renderer = ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="snapshot")
        self.observers = Observers()
        self.dispatcher = Dispatcher(self)
        self.loop_lag: deque[float] = deque(maxlen=LAG_SAMPLES)

    # -- set-up ------------------------------------------------------------------------------

    def _new_service(self, config: CameraConfig) -> CameraService:
        # Everything only the camera can judge (state dir, saved user sets, image source,
        # [camera.features]) is a ConfigError here, before any camera is on the bus.
        where = f"camera {config.serial}"
        try:
            source = FileSource(config.image_source) if config.image_source else None
        except (OSError, ValueError) as error:
            raise ConfigError(f"{where}: image_source = {config.image_source!r}: {error}"
                              ) from None
        try:
            state_dir = (prepare_state_dir(self.config.state_dir) / config.serial
                         if self.config.state_dir else None)
            camera = Camera(serial=config.serial, user_id=config.user_id, now=self.clock(),
                            state_dir=state_dir, generator=FrameGenerator(source),
                            noise=config.noise, stress=self.config.stress)
        except UserSetError as error:
            raise ConfigError(f"{where}: {error}") from None
        try:
            camera.apply_features(config.features, self.clock())
        except FeatureWriteError as error:
            raise ConfigError(f"{where}: [camera.features] {error}") from None
        camera.realtime = RealTimeLimit()  # on a real clock: skip ahead, never a backlog
        lock = CameraLock()
        wake = threading.Event()
        usb = U3VUsbDevice(camera, make_identity(config.serial, config.user_id),
                           on_complete=lambda t: None)
        service = CameraService(config, camera, usb, None, lock, wake)  # type: ignore[arg-type]
        service.hub_port = len(self.services) + 1
        service.port = self._new_port(service)
        camera.reset_listeners.append(lambda: self._schedule_replug(service))
        camera.start_listeners.append(lambda: self._prepare_frames(service))
        return service

    def _prepare_frames(self, service: CameraService) -> None:
        """Build the frame generator's prebuilt data for the current settings in the render
        worker, so the first frames of an acquisition are not late (any thread)."""
        self.loop.call_soon_threadsafe(self.prepare, service)

    def prepare(self, service: CameraService) -> asyncio.Future:
        with service.lock:
            settings = service.camera.frame_settings()
        return self.loop.run_in_executor(service.renderer, service.camera.blocks.prepare,
                                         settings)

    def _new_port(self, service: CameraService) -> UmockdevDevice:
        in_use = {p.devnum for s in self.services for p in s.ports if p is not None}
        devnum = self.testbed.allocate_devnum(in_use)

        def on_submit() -> None:
            """(Under the lock.) Wake the pacing loop when the camera now has something to do
            before the loop would wake anyway (a command changed its schedule, an ack is
            pending), or a frame waits to be rendered ahead."""
            due = service.usb.next_deadline()
            if (due is not None and due < service.loop_deadline) \
                    or service.camera.stream_channel.needs_preparation() \
                    or len(service.camera.observations):  # (to the subscribers, at once)
                service.wake.set()

        def on_client(attached: bool, clients: int) -> None:
            """(Under the lock.) Seen by the harness as an observation, at the device time
            it happens (the camera is brought to now first: its clock may stand still while
            idle)."""
            camera = service.camera
            camera.advance(self.clock())
            camera.emit(ClientChanged(camera.timestamp_ns(), attached, clients))
            service.wake.set()

        return UmockdevDevice(self.testbed, service.usb, BUS_NUMBER, service.hub_port, devnum,
                              service.lock, self.clock, on_submit,
                              direct_memory=self.config.direct_memory, on_client=on_client)

    # -- hot-plug ----------------------------------------------------------------------------

    def plug(self, service: CameraService, plugged: bool) -> None:
        """The harness pulls the cable or plugs it (back) in. What the daemon had scheduled
        by itself is void: a reset's re-enumeration, the replug after an injected
        disconnect."""
        self._cancel_plug_timer(service)
        service.reenumerating = False
        (self.replug if plugged else self.unplug)(service)

    def _cancel_plug_timer(self, service: CameraService) -> None:
        if service.plug_timer is not None:
            service.plug_timer.cancel()
            service.plug_timer = None

    def _plug_later(self, service: CameraService, delay_s: float, action: Callable) -> None:
        """(On the loop) ``action()`` after ``delay_s``, as the service's one pending plug
        change."""
        def run() -> None:
            service.plug_timer = None
            action()
        self._cancel_plug_timer(service)
        service.plug_timer = self.loop.call_later(delay_s, run)

    def unplug(self, service: CameraService, power: bool = True) -> None:
        """The cable is pulled: the camera loses power (it is powered from the USB port).
        ``power=False``: the device only leaves the bus (a DeviceReset's re-enumeration)."""
        if service.port.syspath is not None:
            service.port.unplug()
            if service.port.open_clients:
                service.old_ports.append(service.port)
        if power and not service.unpowered:
            service.unpowered = True
            with service.lock:
                service.camera.power_off(self.clock())
                service.camera.emit(PlugChanged(service.camera.timestamp_ns(), False))
        service.wake.set()

    def replug(self, service: CameraService, power: bool = True) -> None:
        """Plugged in (again): the camera boots as after power-on and enumerates with a new
        device number. ``power=False``: it only enumerates again (it booted already: a
        DeviceReset)."""
        self.unplug(service, power)
        if power:
            service.unpowered = False
            with service.lock:
                service.camera.emit(PlugChanged(0, True))
                service.camera.power_up(self.clock(), cause="replug")
        with service.lock:
            service.loop_deadline = float("-inf")  # the loop must look at the new state
        service.port = self._new_port(service)
        service.port.plug()
        service.reenumerating = False
        service.wake.set()
        self.prepare(service)
        log.info("camera %s re-enumerated at %s", service.config.serial, service.port.devnode)

    def _cable_drop(self, service: CameraService, replug_s: float) -> None:
        """A surprise disconnect (an injected fault): unplugged now, back after ``replug_s``
        (0: until replugged)."""
        log.info("camera %s: injected disconnect (back in %.3f s)", service.config.serial,
                 replug_s)
        self._cancel_plug_timer(service)
        service.reenumerating = False
        self.unplug(service)
        if replug_s > 0:
            self._plug_later(service, replug_s, lambda: self.replug(service))

    async def _let_clients_go(self) -> None:
        """After the unplug at shut-down, give clients a moment to reap their URBs (completed
        with -ESHUTDOWN) and close the node: once the daemon is gone, umockdev's preload aborts
        a client at its next ioctl on the node (SIGABRT) instead of answering ENODEV."""
        deadline = self.clock() + SHUTDOWN_GRACE_S
        while self.clock() < deadline:
            ports = [port for service in self.services for port in service.ports]
            for port in ports:
                port.purge_dead_clients()
            if not any(port.open_clients for port in ports):
                return
            await asyncio.sleep(0.02)

    def _schedule_replug(self, service: CameraService) -> None:
        """DeviceReset (any thread): the camera has acknowledged; it leaves the bus once the
        host has had the ack, and comes back, as a real one does."""
        service.reenumerating = True
        def leave() -> None:   # (it booted at the reset already: no second power cycle)
            self.unplug(service, power=False)
            self._plug_later(service, REPLUG_DELAY_S, lambda: self.replug(service, False))
        self.loop.call_soon_threadsafe(self._plug_later, service, RESET_LEAVE_S, leave)

    # -- running -----------------------------------------------------------------------------

    def pace(self, service: CameraService) -> None:
        """Run the camera's clock at its deadlines and render frames ahead of the stream, in
        a thread of its own: its precise waits (frame timing) never hold up the event loop,
        where the sockets are served. What the loop must do (publish observations, a cable
        fault) is handed to it."""
        while not service.stopped.is_set():
            service.wake.clear()   # (before looking: a wake from now on is not missed)
            try:
                deadline = self._pace_once(service)
            except Exception:  # a bug here must not stop the camera for good
                log.exception("camera %s: pacing failed", service.config.serial)
                deadline = self.clock() + BEHIND_YIELD_S
            if deadline is None:
                service.wake.wait()
                continue
            if deadline < self.clock() - BEHIND_YIELD_AFTER_S:
                time.sleep(BEHIND_YIELD_S)   # behind real time: let the ioctl thread in
            # The wait ends early, the last stretch is slept (frame timing: the sleep's wake
            # is the kernel's timer, without an Event's lock hand-off).
            if not service.wake.wait(max(0.0, deadline - self.clock() - PRECISE_WAKE_S)):
                remaining = deadline - self.clock()
                if remaining > 0:
                    time.sleep(remaining)

    def _pace_once(self, service: CameraService) -> float | None:
        with service.lock.background():   # a host's request waiting goes first
            now = self.clock()
            due = service.camera.scheduler.next_deadline()
            service.lateness.note(0.0 if due is None else max(0.0, now - due))
            service.usb.service(now)
            deadline = service.usb.next_deadline()
            service.loop_deadline = float("inf") if deadline is None else deadline
            record = None
            if not service.rendering:
                record = service.camera.stream_channel.take_for_preparation()
                service.rendering = record is not None
            observed = service.camera.take_observations()
            service.outbox.extend(observed)
            # Device faults (faults.py: the cable, overheating, a chattering input) fire at
            # the pacing thread's wake-ups.
            cable = service.camera.faults.fire(DEVICE, service.camera.timestamp_ns())
        if observed:
            self.loop.call_soon_threadsafe(self.publish, service)
        for fault in cable:
            if fault.kind == "disconnect":
                self.loop.call_soon_threadsafe(self._cable_drop, service,
                                               fault.param("replug_ms") / 1e3)
                continue
            with service.lock:
                try:
                    service.camera.device_fault(fault, self.clock())
                except LineError as error:   # (the fault still counts as fired: logged)
                    log.warning("camera %s: fault %s: %s", service.config.serial,
                                fault.kind, error)
            service.wake.set()   # (its timers are after this pass's deadline was taken)
        if record is not None:
            service.renderer.submit(self._render, service, record)
        return deadline

    def publish(self, service: CameraService) -> None:
        """(On the loop.) Publish the camera's observations so far, in the order they were
        taken: a command's reply goes out after its observations (dispatch calls this), so a
        subscription made after the reply never starts with an earlier command's."""
        with service.lock:
            service.outbox.extend(service.camera.take_observations())
            observed = list(service.outbox)
            service.outbox.clear()
        if observed:
            self.observers.publish(service.config.serial, observed)

    def _render(self, service: CameraService, record) -> None:
        try:
            block = service.camera.blocks.build(record)
        except Exception:
            log.exception("rendering frame %d failed", record.block_id)
            block = None
        with service.lock:
            service.rendering = False
            service.camera.stream_channel.finish_preparation(record, block)
        service.wake.set()

    async def watch_loop_lag(self) -> None:
        """How long a callback that is ready waits before the event loop runs it (what a
        socket with data, and later MQTT and USB/IP, waits while the loop is busy or blocked,
        or the GIL is elsewhere): sampled every LAG_SAMPLE_S, recent ones kept. (A timer's
        own lateness would add epoll's millisecond rounding, which is not lag.)"""
        ran = asyncio.Event()
        while True:
            await asyncio.sleep(LAG_SAMPLE_S)
            ran.clear()
            ready = self.clock()
            self.loop.call_soon(ran.set)
            await ran.wait()
            self.loop_lag.append(self.clock() - ready)

    async def purge_clients(self) -> None:
        """Drop the clients that have gone without closing the node (see CLIENT_PURGE_S)."""
        while True:
            await asyncio.sleep(CLIENT_PURGE_S)
            for service in self.services:
                service.port.purge_dead_clients()
                for port in list(service.old_ports):
                    port.purge_dead_clients()
                    if not port.open_clients:
                        service.old_ports.remove(port)

    async def housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            for service in self.services:
                with service.lock:
                    s = service.camera.stream_channel.stats
                    service.rates.update(self.clock(), s.frames_sent, s.bytes_sent)
                    realtime = service.camera.realtime
                    said = realtime and service.lateness.update(realtime.stats, self.clock())
                if said:
                    log.log(said[0], "camera %s %s", service.config.serial, said[1])

    async def handle_control(self, request: dict):
        """One control-socket request (a JSON object): its JSON result, or for ``subscribe``
        an async iterator of JSON lines (the reply, then every observation)."""
        if request.get("command") == "subscribe":
            try:
                command = commands.parse(request)
                if command.serial is not None:
                    self.dispatcher.service(command.serial)
            except CommandError as error:
                return Result.of(error).to_json()
            return self._subscription(command.serial)
        return await self.dispatcher.dispatch_request(request)

    async def _subscription(self, serial: str | None):
        subscriber = self.observers.subscribe(serial)
        try:
            yield {"code": "ok", "subscribed": serial or "all"}
            async for item in subscriber.items():
                yield item
        finally:
            self.observers.unsubscribe(subscriber)

    async def run(self) -> None:
        # Threads hand the GIL over sooner: the ioctl thread must not wait behind rendering.
        sys.setswitchinterval(0.0005)
        # One umockdev connection per open node, and umockdev keeps the connection of a client
        # killed inside an ioctl: room for many (the soft limit is often 1024).
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        self.loop = asyncio.get_running_loop()
        # A SIGTERM during start-up stops the daemon as cleanly as one later.
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(sig, self.stopping.set)
        # First the runtime directory's lock: one daemon per directory; what a killed one
        # left is removed (raises runtime.DaemonRunning or runtime.RuntimeDirError).
        files = runtime.DaemonFiles.claim()
        try:
            await self._run(files)
        finally:
            files.release()

    async def _run(self, files: runtime.DaemonFiles) -> None:
        self.testbed = UmockdevTestbed(usbfs_memory_mb=self.config.usbfs_memory_mb)
        files.record_testbed(self.testbed.root)
        tasks: list[asyncio.Task] = []
        try:  # whatever fails from here on, the testbed is removed
            for config in self.config.cameras:
                self.services.append(self._new_service(config))
            # A camera appears on the bus once it has booted: its first frames must not wait
            # for the frame generator's prebuilt data.
            await asyncio.gather(*(self.prepare(s) for s in self.services))
            for service in self.services:
                service.port.plug()
            self.control_server = ControlServer(self.handle_control)
            await self.control_server.start(files.listen())
            info = {"pid": os.getpid(), "umockdev_dir": self.testbed.root,
                    "ld_preload": PRELOAD_LIBRARY,
                    "socket": str(files.directory / runtime.SOCKET_NAME),
                    # (no device node: it changes at every re-enumeration; status has it)
                    "cameras": [{"serial": s.config.serial, "guid": s.usb.identity.guid}
                                for s in self.services]}
            path = files.write_info(info)
            for service in self.services:
                service.pacer = threading.Thread(target=self.pace, args=(service,),
                                                 name=f"pace-{service.config.serial}",
                                                 daemon=True)
                service.pacer.start()
            tasks = [asyncio.create_task(task()) for task in
                     (self.housekeeping, self.purge_clients, self.watch_loop_lag)]
            log.info("serving %d camera(s) on umockdev testbed %s", len(self.services),
                     self.testbed.root)
            print(f"u3v-sim: {len(self.services)} camera(s) ready; connect with\n"
                  f"  eval $(u3v-sim env)    # or: export "
                  f"UMOCKDEV_DIR={shlex.quote(self.testbed.root)} "
                  f"LD_PRELOAD={PRELOAD_LIBRARY}\n  (details in {path})", flush=True)
            await self.stopping.wait()
        finally:
            if tasks:  # (a start-up refusal is already said in one line)
                log.info("shutting down")
            for task in tasks:
                task.cancel()
            for service in self.services:
                service.stopped.set()
                service.wake.set()
            for service in self.services:
                if service.pacer is not None:
                    service.pacer.join(timeout=5)
            if self.control_server is not None:
                self.control_server.close()
            for service in self.services:
                self._cancel_plug_timer(service)
                self.unplug(service)
            await self._let_clients_go()
            for service in self.services:
                service.renderer.shutdown(wait=False, cancel_futures=True)
            self.snapshot_renderer.shutdown(wait=False, cancel_futures=True)
            self.testbed.close()
