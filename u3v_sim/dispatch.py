"""The daemon's one command dispatch: a harness command (``harness/commands.py``) in, a
``Result`` out, whichever adapter it came from (control socket, CLI, Python API, later MQTT).

Handlers are a table by command type. Every camera action goes through the camera with the
daemon's current time, under the camera's lock, exactly like a host's register write; a
refusal is a ``CommandError`` with its result code (and the GenCP status, where the camera
refused as it would refuse a host), and changes nothing. A bug is an internal_error result,
logged; the daemon goes on.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import os
from typing import TYPE_CHECKING, Any, Callable

from .camera.camera import FeatureWriteError
from .camera.lines import LineError, NoSuchLine
from .figures import percentiles_ms
from .harness import commands as c
from .harness.results import CommandError, Result, ResultCode

if TYPE_CHECKING:
    from .daemon import CameraService, Daemon

log = logging.getLogger(__name__)

# Snapshots waiting or rendering at once (all cameras); more are answered "busy". One
# full-resolution PNG takes a few hundred milliseconds.
MAX_SNAPSHOTS = 4
# How long a harness's reset may wait for the camera to be back on the bus.
REENUMERATION_TIMEOUT_S = 10.0


def _refused(error: FeatureWriteError) -> CommandError:
    """A by-name access the camera refused: as a host would have been refused (with the GenCP
    status), or a request that names no such feature or gives a value of the wrong kind."""
    if error.status is not None:
        return CommandError(ResultCode.REFUSED, str(error), error.status)
    return CommandError(ResultCode.INVALID_ARGUMENT, str(error))


def _json_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) or value is None else str(value)


class Dispatcher:
    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self.snapshots = 0  # asked for and not yet answered
        self.handlers: dict[type, Callable] = {
            c.Status: self._status, c.Plug: self._plug, c.Reset: self._reset,
            c.Line: self._line, c.Pulse: self._pulse, c.FeatureGet: self._feature_get,
            c.FeatureSet: self._feature_set, c.Execute: self._execute,
            c.Temperature: self._temperature, c.Image: self._image,
            c.Snapshot: self._snapshot, c.FaultAdd: self._fault_add,
            c.FaultList: self._fault_list, c.FaultClear: self._fault_clear,
        }

    async def dispatch(self, command: c.Command) -> Result:
        """Carry out one command; never raises."""
        try:
            data = self.handlers[type(command)](command)
            if inspect.isawaitable(data):
                data = await data
            return Result(ResultCode.OK, data=data or {})
        except CommandError as error:
            return Result.of(error)
        except Exception:  # a bug must not end the daemon; the client hears of it
            log.exception("command %s failed", command.command)
            return Result(ResultCode.INTERNAL_ERROR,
                          f"{command.command}: internal error (see the daemon's log)")
        finally:   # (what the command made the cameras do is published before its reply)
            for service in self.daemon.services:
                self.daemon.publish(service)

    async def dispatch_request(self, request: dict) -> dict:
        """A request object (the control socket's) to its JSON result."""
        try:
            command = c.parse(request)
        except CommandError as error:
            return Result.of(error).to_json()
        return (await self.dispatch(command)).to_json()

    # -- helpers -----------------------------------------------------------------------------

    def service(self, serial: str | None) -> CameraService:
        for service in self.daemon.services:
            if serial in (None, service.config.serial):
                return service
        raise CommandError(ResultCode.NO_SUCH_CAMERA, f"no camera with serial {serial}")

    def powered(self, command) -> CameraService:
        """The camera, which must have power (a re-enumerating one has: it is only off the
        bus)."""
        service = self.service(command.serial)
        if service.unpowered:
            raise CommandError(ResultCode.UNAVAILABLE,
                               f"camera {service.config.serial} is unplugged (unpowered: it "
                               f"takes its power from the USB port); replug it first")
        return service

    def _on_camera(self, command, action: Callable, unpowered_too: bool = False) -> Any:
        """Run ``action(camera, now)`` under the camera's lock; wake its pacing loop after
        (the camera's schedule and observations may have changed). ``unpowered_too``: what
        the outside world does to the camera, which it does to an unplugged one too (a level
        held on an input is there when it boots)."""
        service = self.service(command.serial) if unpowered_too else self.powered(command)
        try:
            with service.lock:
                return action(service.camera, self.daemon.clock())
        except FeatureWriteError as error:
            raise _refused(error) from None
        except LineError as error:
            code = (ResultCode.INVALID_ARGUMENT if isinstance(error, NoSuchLine)
                    else ResultCode.REFUSED)
            raise CommandError(code, str(error)) from None
        finally:
            service.wake.set()

    # -- handlers ----------------------------------------------------------------------------

    def _status(self, command: c.Status) -> dict:
        server = self.daemon.control_server
        return {"pid": os.getpid(), "cameras": [s.status() for s in self.daemon.services],
                "control": dict(server.stats) if server else {},
                "observers": self.daemon.observers.stats(),
                "loop_lag_ms": percentiles_ms(self.daemon.loop_lag)}

    def _plug(self, command: c.Plug) -> dict:
        self.daemon.plug(self.service(command.serial), command.command != "unplug")
        return {}

    async def _reset(self, command: c.Reset) -> dict:
        """DeviceReset as the host's command; answered once the camera is back on the bus
        (a harness's next command finds it enumerated again)."""
        service = self.powered(command)
        self._on_camera(command, lambda camera, now: camera.execute("DeviceReset", now))
        deadline = asyncio.get_running_loop().time() + REENUMERATION_TIMEOUT_S
        while service.reenumerating:
            if asyncio.get_running_loop().time() > deadline:
                raise CommandError(ResultCode.INTERNAL_ERROR, "reset: the camera did not come "
                                                              "back on the bus")
            await asyncio.sleep(0.02)
        if service.unpowered or service.port.syspath is None:
            raise CommandError(ResultCode.UNAVAILABLE, f"reset: camera {service.config.serial} "
                                                       f"was unplugged before it came back")
        return {"devnode": service.port.devnode}

    def _line(self, command: c.Line) -> dict:
        result = self._on_camera(command, lambda camera, now: camera.drive_line(
            command.line, now, level=None if command.level is None else bool(command.level),
            voltage=None if command.voltage is None else float(command.voltage)),
            unpowered_too=True)
        return {"logic": result.logic, "warning": result.warning}

    def _pulse(self, command: c.Pulse) -> dict:
        def start(camera, now):
            last = camera.pulse_train(
                command.line, now, width_s=command.width_us / 1e6,
                period_s=command.period_us / 1e6, count=command.count,
                delay_s=command.delay_us / 1e6, level=command.level)
            return {"first_edge_ns": camera.timestamp_at(now + command.delay_us / 1e6),
                    "last_edge_ns": camera.timestamp_at(last)}
        return self._on_camera(command, start, unpowered_too=True)

    def _feature_get(self, command: c.FeatureGet) -> dict:
        value = self._on_camera(command, lambda camera, now: camera.read_feature(
            command.name, now, command.selector))
        return {"value": _json_value(value)}

    def _feature_set(self, command: c.FeatureSet) -> dict:
        value = self._on_camera(command, lambda camera, now: camera.write_feature(
            command.name, command.value, now, command.selector))
        return {"value": _json_value(value)}

    def _execute(self, command: c.Execute) -> dict:
        busy_s = self._on_camera(command, lambda camera, now: camera.execute(
            command.name, now, command.selector))
        return {"busy_s": busy_s}

    def _temperature(self, command: c.Temperature) -> dict:
        def heat(camera, now):
            camera.set_ambient_offset(float(command.ambient_offset), now)
            return camera.temperature_state
        return {"temperature_state": self._on_camera(command, heat)}

    def _fault_add(self, command: c.FaultAdd) -> dict:
        """(An unplugged camera takes faults too: they fire once it runs again.)"""
        service = self.service(command.serial)
        with service.lock:
            fault_id = service.camera.faults.add(command.fault())
        service.wake.set()
        return {"id": fault_id}

    def _fault_list(self, command: c.FaultList) -> dict:
        service = self.service(command.serial)
        with service.lock:
            return {"faults": service.camera.faults.listed()}

    def _fault_clear(self, command: c.FaultClear) -> dict:
        service = self.service(command.serial)
        with service.lock:
            try:
                cleared = service.camera.faults.clear(command.id)
            except KeyError:
                raise CommandError(ResultCode.INVALID_ARGUMENT,
                                   f"fault_clear: no active fault {command.id} (fired as "
                                   f"often as its count, or cleared)") from None
        return {"cleared": cleared}

    async def _image(self, command: c.Image) -> dict:
        """Load the image source off the loop (a folder may take a while), then show it."""
        from .frames.sources import FileSource
        service = self.service(command.serial)
        source = None
        if command.path is not None:
            try:
                source = await self.daemon.loop.run_in_executor(
                    None, FileSource, command.path)
            except (OSError, ValueError) as error:
                raise CommandError(ResultCode.INVALID_ARGUMENT,
                                   f"image: path = {command.path!r}: {error}") from None
        with service.lock:
            service.camera.blocks.generator.set_source(source)
        self.daemon.prepare(service)
        return {"source": command.path or "synthetic scene"}

    async def _snapshot(self, command: c.Snapshot) -> dict:
        """The PNG of what the camera sees, base64 in the reply: the client writes the file
        with its own rights (a daemon writing a path a request names would write it with the
        daemon's). Rendered in the daemon's snapshot worker, off the loop and off the
        camera's frame render worker; at most MAX_SNAPSHOTS wait or render at once, a request
        beyond that is answered "busy"."""
        from .frames.snapshot import png_bytes
        service = self.powered(command)
        if self.snapshots >= MAX_SNAPSHOTS:
            raise CommandError(ResultCode.BUSY, f"busy: {MAX_SNAPSHOTS} snapshots are being "
                                                f"rendered; try again in a moment")
        self.snapshots += 1
        try:
            with service.lock:
                record = service.camera.snapshot_record()
            data = await asyncio.get_running_loop().run_in_executor(
                self.daemon.snapshot_renderer, png_bytes, service.camera.blocks, record)
        finally:
            self.snapshots -= 1
        return {"png": base64.b64encode(data).decode()}
