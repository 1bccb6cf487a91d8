"""The lock around one camera, shared by the host's ioctl thread, the pacing loop and the
harness. ``threading.RLock`` is not fair: a loop that releases it and takes it again at once
(the pacing loop when the camera runs behind real time) can keep a waiting ioctl thread out
for seconds, and the host sees its USB request hang. Here the pacing loop takes the lock with
``background()``, which first lets a waiting thread have it (for at most ``patience_s``)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

# How long the pacing loop waits for other threads' turns before it takes the lock anyway.
PATIENCE_S = 0.002


class CameraLock:
    def __init__(self):
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self.waiting = 0          # threads blocked in acquire()

    def acquire(self) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        with self._count:
            self.waiting += 1
        try:
            return self._lock.acquire()
        finally:
            with self._count:
                self.waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> CameraLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    @contextmanager
    def background(self, patience_s: float = PATIENCE_S):
        """The lock for a background taker: after any thread already waiting for it."""
        if self.waiting:
            deadline = time.monotonic() + patience_s
            while self.waiting and time.monotonic() < deadline:
                time.sleep(0.00005)   # (releases the GIL: the waiter runs)
        with self:
            yield self
