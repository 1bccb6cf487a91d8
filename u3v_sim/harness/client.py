"""The harness's Python API: a client of a running daemon's control socket. The CLI, the pytest
plugin and the test suite use it; each call sends one typed command (``commands.py``) and
returns its result data, or raises ``HarnessError`` with the result's code.

    from u3v_sim.harness import Harness
    camera = Harness()                     # the daemon of $U3V_SIM_RUNTIME_DIR (or the default)
    camera.set("TriggerMode", "On")
    camera.pulse("Line1", width_us=100, period_us=10_000, count=5)
    for observation in camera.subscribe(): ...
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
from collections.abc import Iterator
from pathlib import Path

from . import commands as c
from .results import ResultCode

REQUEST_TIMEOUT_S = 60.0
NO_DAEMON = "no u3v-sim daemon runs (start one: u3v-sim serve)"


class HarnessError(Exception):
    """A command the daemon did not carry out (``code``: a ResultCode value, or "no_daemon"
    when no daemon answers); ``status``: the GenCP status of a write the camera refused."""

    def __init__(self, code: str, message: str, status: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Harness:
    def __init__(self, socket_path: Path | str | None = None, serial: str | None = None,
                 timeout_s: float = REQUEST_TIMEOUT_S):
        if socket_path is None:
            from .. import runtime
            socket_path = runtime.socket_path()
        self.socket_path = str(socket_path)
        self.serial = serial
        self.timeout_s = timeout_s
        self._subscriptions: set[socket.socket] = set()

    def close(self) -> None:
        """End every subscription this handle opened (their iterators end, also one a thread
        is blocked in)."""
        for sock in list(self._subscriptions):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._subscriptions.clear()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the one way out -----------------------------------------------------------------

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(self.timeout_s)
        try:
            sock.connect(self.socket_path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise HarnessError("no_daemon", NO_DAEMON) from None
        except OSError as error:
            sock.close()
            raise HarnessError("no_daemon", f"control socket: {error}") from None
        return sock

    def request(self, request: dict) -> dict:
        """Send one request object; its reply (any code). Prefer ``send`` with a command."""
        with self._connect() as sock:
            try:
                try:
                    sock.sendall(json.dumps(request).encode() + b"\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # answered without reading (busy, refused): the reply says why
                line = sock.makefile("rb").readline()
            except TimeoutError:
                raise HarnessError("no_daemon", f"the daemon did not answer within "
                                                f"{self.timeout_s:g} s") from None
            except OSError as error:
                raise HarnessError("no_daemon", f"control socket: {error}") from None
        try:
            return json.loads(line)
        except ValueError:
            raise HarnessError("no_daemon", "the daemon closed the connection without an "
                                            "answer (it may be stopping)") from None

    def send(self, command: c.Command) -> dict:
        """Carry out ``command``; its result data, or HarnessError."""
        reply = self.request(command.request())
        code = reply.pop("code", None)
        if code != ResultCode.OK.value:
            # (a reply without a code: the socket refused before any command: busy, peer)
            raise HarnessError(code or ResultCode.BUSY.value, reply.get("error", str(reply)),
                               reply.get("status"))
        return reply

    def _command(self, command_type, **fields) -> c.Command:
        """The typed command (this harness's camera); HarnessError(invalid_argument) with one
        line naming the field if the values are not what it takes."""
        from .results import CommandError
        try:
            return c.build(command_type, serial=self.serial, **fields)
        except CommandError as error:
            raise HarnessError(error.code.value, error.message) from None

    # -- commands ------------------------------------------------------------------------

    def status(self) -> dict:
        return self.send(c.Status())

    def drive_line(self, line: str, level: bool | None = None,
                   voltage: float | None = None) -> dict:
        return self.send(self._command(c.Line, line=line, level=level, voltage=voltage))

    def pulse(self, line: str, width_us: float, period_us: float, count: int = 1,
              delay_us: float = 0, level: bool = True) -> dict:
        return self.send(self._command(c.Pulse, line=line, width_us=width_us,
                                       period_us=period_us, count=count, delay_us=delay_us,
                                       level=level))

    def get(self, name: str, selector: str | int | None = None):
        return self.send(self._command(c.FeatureGet, name=name, selector=selector))["value"]

    def set(self, name: str, value, selector: str | int | None = None):
        """Write a feature as the host would (checked as a GenCP write); the value it holds."""
        return self.send(self._command(c.FeatureSet, name=name, value=value,
                                       selector=selector))["value"]

    def execute(self, name: str, selector: str | int | None = None) -> dict:
        return self.send(self._command(c.Execute, name=name, selector=selector))

    def trigger(self, selector: str = "FrameStart") -> dict:
        """TriggerSoftware for ``selector`` (the camera must be set to take it)."""
        return self.execute("TriggerSoftware", selector)

    def unplug(self) -> dict:
        return self.send(self._command(c.Plug, command="unplug"))

    def replug(self) -> dict:
        return self.send(self._command(c.Plug, command="replug"))

    def reset(self) -> dict:
        return self.send(self._command(c.Reset))

    def temperature(self, ambient_offset: float) -> str:
        return self.send(self._command(c.Temperature, ambient_offset=ambient_offset)
                         )["temperature_state"]

    def image(self, source) -> dict:
        """Show the camera an image from its next frame on: a file or a folder of them (a
        path), a 2-D NumPy array (uint8 or uint16 pixels, or floats 0..1 of full scale:
        ``frames.sources.check_pixels``), or None for the synthetic scene again. The daemon
        reads the file; an array is handed over in a private temporary file, gone once the
        daemon has loaded it."""
        if source is None or isinstance(source, (str, Path)):
            try:
                path = None if source is None else str(Path(source).resolve())
            except (OSError, ValueError) as error:   # (UnicodeEncodeError: a lone surrogate)
                raise HarnessError("invalid_argument", f"image: path = {source!r}: "
                                                       f"{error}") from None
            return self.send(self._command(c.Image, path=path))
        import tempfile

        import numpy as np
        from ..frames.sources import check_pixels
        if not isinstance(source, np.ndarray) or source.ndim != 2:
            raise HarnessError("invalid_argument", f"image: give a path, a 2-D NumPy array or "
                                                   f"None, not {type(source).__name__}")
        try:
            check_pixels(source)
        except ValueError as error:
            raise HarnessError("invalid_argument", f"image: {error}") from None
        with tempfile.TemporaryDirectory(prefix="u3v-sim-image-") as directory:   # 0700
            path = Path(directory) / "image.npy"
            np.save(path, np.asarray(source))
            return self.send(self._command(c.Image, path=str(path)))

    def fault(self, kind: str, *, every: int = 1, probability: float = 1.0, seed: int = 0,
              start_ns: int = 0, end_ns: int | None = None, count: int | None = 1,
              **params: float) -> int:
        """Inject a fault (``u3v_sim.faults.KINDS``); its id. ``count=None``: until cleared."""
        return self.send(self._command(
            c.FaultAdd, kind=kind, every=every, probability=probability, seed=seed,
            start_ns=start_ns, end_ns=end_ns, count=count, params=params))["id"]

    def faults(self) -> list[dict]:
        return self.send(self._command(c.FaultList))["faults"]

    def clear_faults(self, fault_id: int | None = None) -> int:
        return self.send(self._command(c.FaultClear, id=fault_id))["cleared"]

    def snapshot(self) -> bytes:
        reply = self.send(self._command(c.Snapshot))
        try:
            return base64.b64decode(reply["png"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            raise HarnessError(ResultCode.INTERNAL_ERROR.value,
                               "the daemon's snapshot reply holds no PNG") from None

    def subscribe(self) -> Iterator[dict]:
        """The observation stream (this camera's, or every camera's with no serial): one
        dict per observation, in order, as they happen; ends when the daemon stops. The
        subscription stands when this returns: nothing that happens after is missed, even if
        the iterator is read later, in another thread. An
        ``{"event": "subscriber_overflow", "count": n}`` says n were dropped because this
        subscriber read too slowly."""
        sock = self._connect()
        sock.settimeout(None)
        try:
            sock.sendall(json.dumps(self._command(c.Subscribe).request()).encode() + b"\n")
            lines = sock.makefile("rb")
            first = json.loads(lines.readline() or b"{}")
        except BaseException:
            sock.close()
            raise
        if first.get("code") != ResultCode.OK.value:
            sock.close()
            raise HarnessError(first.get("code", "no_daemon"),
                               first.get("error", "the daemon closed the subscription"))
        self._subscriptions.add(sock)
        return _observations(sock, lines, self._subscriptions)


def _observations(sock, lines, open_ones: set) -> Iterator[dict]:
    try:
        for line in lines:
            yield json.loads(line)
    except OSError:   # (closed by Harness.close while reading)
        return
    finally:
        open_ones.discard(sock)
        sock.close()
