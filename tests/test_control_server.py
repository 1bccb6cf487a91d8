"""The control socket's subscription streams wait for a slow reader (what it has not taken
waits in the daemon's bounded buffers), however long it pauses; a reply that is not taken
still times out."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

from u3v_sim.control_server import ControlServer

ITEMS = 400
PAD = "x" * 8192   # 400 lines of 8 KiB: far more than the socket buffers hold


def serve(path, reply_timeout_s: float, ready: threading.Event, done: threading.Event):
    async def dispatch(request: dict):
        if request.get("command") != "subscribe":
            return {"code": "ok", "pad": PAD * 200}

        async def items():
            yield {"code": "ok"}
            for i in range(ITEMS):
                yield {"i": i, "pad": PAD}
        return items()

    async def main():
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.listen()
        server = ControlServer(dispatch, reply_timeout_s=reply_timeout_s)
        await server.start(sock)
        ready.set()
        while not done.is_set():
            await asyncio.sleep(0.02)
        server.close()
    asyncio.run(main())


def test_a_subscriber_that_pauses_longer_than_the_reply_timeout_loses_nothing(tmp_path):
    path = tmp_path / "control.sock"
    ready, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=serve, args=(path, 0.2, ready, done))
    thread.start()
    try:
        assert ready.wait(5)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))
            client.sendall(b'{"command": "subscribe"}\n')
            time.sleep(1.5)                    # 7 reply timeouts without reading
            lines = client.makefile("rb").readlines()
        assert json.loads(lines[0]) == {"code": "ok"}
        assert [json.loads(line)["i"] for line in lines[1:]] == list(range(ITEMS))

        # A plain reply still has to be taken within the timeout.
        with socket.socket(socket.AF_UNIX) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.connect(str(path))
            client.sendall(b'{"command": "status"}\n')
            time.sleep(1.0)
            received = len(client.makefile("rb").read())
        assert received < len(PAD) * 200
    finally:
        done.set()
        thread.join(5)
