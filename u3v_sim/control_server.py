"""The daemon's control socket: one JSON request line in, one JSON reply line out, then the
connection closes; or, for a subscription, the reply and then one JSON line per observation
until either side closes.

Bounded whatever a local process does with it:

- only processes of the daemon's own user (or root) are served: the peer's uid comes from the
  kernel (``SO_PEERCRED``), so a socket reachable by mistake (a loose umask, a changed mode)
  still serves nobody else;
- at most ``max_connections`` at once: a connection beyond that gets ``{"error": "busy..."}``
  and is closed at once, so idle connections cannot use up the daemon's file descriptors
  (which umockdev needs too: its accept failing is fatal);
- the request line must arrive within ``request_timeout_s`` and be at most
  ``max_request_bytes`` long; the reply must be taken within ``reply_timeout_s``;
- a subscription waits for a slow reader as long as it takes: what the reader has not taken
  waits in its bounded buffer (``observers.py``), whose overflow it is told of in-band, so a
  paused reader loses nothing silently; the stream ends when the client closes the connection
  or sends anything more (a client must keep its sending side open: ``nc -N`` shuts it, which
  reads here as a close);
- a client that goes away early costs a debug line, not an error with a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
from collections.abc import AsyncIterator
from typing import Awaitable, Callable

__all__ = ["ControlServer", "peer_credentials"]

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_credentials(sock) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected AF_UNIX socket, as the
    kernel recorded them at connect (SO_PEERCRED, socket(7))."""
    return _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))


class _RepeatedKey(Exception):
    pass


def _no_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are all different (json.loads keeps the last of repeated
    ones: {"command": "status", "command": "reset"} would reset)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


class ControlServer:
    """Serves ``dispatch(request: dict) -> reply`` on a listening AF_UNIX socket; a reply is
    a dict, or an async iterator of dicts (a subscription: each one a line, as it comes).

    Every reply carries a ``code`` (harness/results.py); one the socket itself gives (busy,
    another user, not a JSON object) has ``error`` saying why. ``dispatch`` may raise: the
    client gets ``{"code": "internal_error", "error": str(error)}``. ``stats`` counts the
    connections served, refused (other user), turned away (busy), timed out, too long and
    closed early."""

    def __init__(self, dispatch: Callable[[dict], Awaitable[dict | AsyncIterator[dict]]], *,
                 max_connections: int = 64, request_timeout_s: float = 5.0,
                 reply_timeout_s: float = 30.0, max_request_bytes: int = 64 * 1024,
                 max_streams: int = 32):
        self.dispatch = dispatch
        self.max_connections = max_connections
        self.request_timeout_s = request_timeout_s
        self.reply_timeout_s = reply_timeout_s
        self.max_request_bytes = max_request_bytes
        # Subscriptions stay open: they have a bound of their own and do not count against
        # max_connections, so open subscriptions never leave commands answered "busy".
        self.max_streams = max_streams
        self.streams = 0
        self.allowed_uids = {os.geteuid(), 0}
        self.active = 0
        self.stats = dict.fromkeys(("served", "refused_peer", "busy", "timed_out",
                                    "too_long", "closed_early"), 0)
        self._warned_uids: set[int] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self, sock: socket.socket) -> None:
        """Serve on ``sock`` (bound and listening; the server owns it from now on)."""
        self._server = await asyncio.start_unix_server(
            self._handle, sock=sock, limit=self.max_request_bytes)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        self.active += 1
        try:
            reply = await self._serve(reader, writer)
            if isinstance(reply, AsyncIterator):
                if self.streams >= self.max_streams:
                    self.stats["busy"] += 1
                    await reply.aclose()
                    await self._send(writer, {"code": "busy", "error": (
                        f"busy: {self.max_streams} subscriptions are open")})
                else:
                    self.streams += 1
                    self.active -= 1
                    try:
                        await self._stream(reply, reader, writer)
                    finally:
                        self.active += 1
                        self.streams -= 1
            elif reply is not None:
                await self._send(writer, reply)
        except TimeoutError:
            self.stats["timed_out"] += 1
            log.debug("control client did not take its reply in %.0f s", self.reply_timeout_s)
            writer.transport.abort()
        except asyncio.CancelledError:
            # The daemon is stopping with this request still being answered (a snapshot
            # rendering): the connection just closes, as after any stop.
            log.debug("control request cancelled at shut-down")
        except (ConnectionError, OSError) as error:
            self.stats["closed_early"] += 1
            log.debug("control client went away: %s", error)
        except Exception:  # a bug here must not end the daemon; the next client is served
            log.exception("control connection failed")
        finally:
            self.active -= 1
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, reply: dict) -> None:
        writer.write(json.dumps(reply).encode() + b"\n")
        async with asyncio.timeout(self.reply_timeout_s):
            await writer.drain()

    async def _stream(self, items: AsyncIterator[dict], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        """Send each item as it comes, however slowly the client takes them, until the
        client closes or sends anything more."""
        left: asyncio.Future = asyncio.ensure_future(reader.read(1))
        item: asyncio.Future | None = None
        try:
            while True:
                if item is None:
                    item = asyncio.ensure_future(anext(items))
                await asyncio.wait({item, left}, return_when=asyncio.FIRST_COMPLETED)
                if left.done():
                    return
                try:
                    data = item.result()
                except StopAsyncIteration:
                    return
                item = None
                writer.write(json.dumps(data).encode() + b"\n")
                drained = asyncio.ensure_future(writer.drain())
                await asyncio.wait({drained, left}, return_when=asyncio.FIRST_COMPLETED)
                if not drained.done():   # (the client closed while it was not reading)
                    drained.cancel()
                    return
                drained.result()   # (a failed write: the client is gone)
        finally:
            left.cancel()
            if item is not None and not item.done():
                # The generator is suspended in that anext: it must have ended before it can
                # be closed (else "aclose(): asynchronous generator is already running").
                item.cancel()
                try:
                    await item
                except (asyncio.CancelledError, StopAsyncIteration):
                    pass
            await items.aclose()

    async def _serve(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> dict | AsyncIterator[dict] | None:
        """The reply for this connection, or None to close without one."""
        if self.active > self.max_connections:
            self.stats["busy"] += 1
            return {"code": "busy",
                    "error": f"busy: {self.max_connections} control connections are open"}
        pid, uid, _ = peer_credentials(writer.get_extra_info("socket"))
        if uid not in self.allowed_uids:
            self.stats["refused_peer"] += 1
            if uid not in self._warned_uids:  # once per uid: refusals must not flood the log
                self._warned_uids.add(uid)
                log.warning("control socket: refused process %d of uid %d (only uid %d and "
                            "root are served)", pid, uid, os.geteuid())
            return {"code": "refused",
                    "error": "permission denied: the daemon serves only its own user"}
        try:
            async with asyncio.timeout(self.request_timeout_s):
                line = await reader.readline()
        except TimeoutError:
            self.stats["timed_out"] += 1
            return {"code": "invalid_argument",
                    "error": f"no request line within {self.request_timeout_s:g} s"}
        except ValueError:  # the StreamReader's limit: no newline within max_request_bytes
            self.stats["too_long"] += 1
            return {"code": "invalid_argument",
                    "error": f"request line longer than {self.max_request_bytes} bytes"}
        if not line.endswith(b"\n"):  # closed before a whole line
            self.stats["closed_early"] += 1
            return None
        try:
            request = json.loads(line, object_pairs_hook=_no_repeated_keys)
        except _RepeatedKey as error:
            return {"code": "invalid_argument",
                    "error": f"request has the key {error.args[0]!r} more than once"}
        except ValueError as error:
            return {"code": "invalid_argument", "error": f"request is not JSON: {error}"}
        except RecursionError:  # e.g. 5,000 nested "[": no request nests that deep
            return {"code": "invalid_argument",
                    "error": "request is not JSON the daemon takes: nested too deeply"}
        if not isinstance(request, dict):
            return {"code": "invalid_argument",
                    "error": "request must be a JSON object such as {\"command\": \"status\"}"}
        self.stats["served"] += 1
        try:
            return await self.dispatch(request)
        except Exception as error:  # a bad request gets a clear answer; the daemon goes on
            log.debug("control request refused: %s", error)
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            return {"code": "internal_error", "error": str(message)}
