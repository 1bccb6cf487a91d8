"""Subscribers to the daemon's observation stream (the harness's ``subscribe``): every camera
observation (``camera/observations.py``), tagged with its camera's serial, to every subscriber
of that camera, in order.

Each subscriber has a bounded buffer: one that reads too slowly loses the newest observations,
counted, and is told in-band (``{"event": "subscriber_overflow", "count": n}``) before the
next one it gets; nobody else waits for it. Runs on the daemon's event loop thread only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from .camera.observations import Observation

# Observations a subscriber may have unread (about 20 s of a camera at the rated rate).
SUBSCRIBER_BUFFER = 10_000


class Subscriber:
    def __init__(self, serial: str | None, limit: int = SUBSCRIBER_BUFFER):
        self.serial = serial          # None: every camera
        self.limit = limit
        self.dropped = 0              # not yet reported
        self.dropped_total = 0
        self._queue: asyncio.Queue[dict] = asyncio.Queue()

    def offer(self, item: dict) -> None:
        if self._queue.qsize() >= self.limit:
            self.dropped += 1
            self.dropped_total += 1
            return
        if self.dropped:
            self._queue.put_nowait(self._notice())
        self._queue.put_nowait(item)

    def _notice(self) -> dict:
        """The in-band overflow report (``serial``: the camera subscribed to, None: all)."""
        notice = {"serial": self.serial, "event": "subscriber_overflow", "count": self.dropped}
        self.dropped = 0
        return notice

    async def items(self) -> AsyncIterator[dict]:
        while True:
            if self._queue.empty() and self.dropped:
                # (the subscriber has caught up: it hears of its loss now, not only when
                # the next observation comes)
                yield self._notice()
                continue
            yield await self._queue.get()


class Observers:
    def __init__(self):
        self.subscribers: set[Subscriber] = set()
        self.published = 0
        self.dropped_by_closed = 0   # what subscribers that have gone had lost

    def subscribe(self, serial: str | None) -> Subscriber:
        subscriber = Subscriber(serial)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.discard(subscriber)
            self.dropped_by_closed += subscriber.dropped_total

    def stats(self) -> dict:
        return {"subscribers": len(self.subscribers), "published": self.published,
                "dropped": self.dropped_by_closed + sum(s.dropped_total
                                                        for s in self.subscribers)}

    def publish(self, serial: str, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self.published += 1
            if not self.subscribers:
                continue
            item = {"serial": serial, **observation.as_dict()}
            for subscriber in self.subscribers:
                if subscriber.serial in (None, serial):
                    subscriber.offer(item)
