"""A time-ordered queue of things the camera will do, run as the injected clock passes them.

Each action runs at its own scheduled time (``Scheduler.time`` during the call), however
coarsely the caller advances the clock, so timestamps stay exact.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable


@dataclass(order=True)
class Timer:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, now: float = 0.0):
        self.time = now
        self._queue: list[Timer] = []
        self._seq = itertools.count()

    def at(self, due: float, action: Callable[[], None]) -> Timer:
        timer = Timer(max(due, self.time), next(self._seq), action)
        heapq.heappush(self._queue, timer)
        return timer

    def after(self, delay: float, action: Callable[[], None]) -> Timer:
        return self.at(self.time + delay, action)

    def next_deadline(self) -> float | None:
        while self._queue and self._queue[0].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0].due if self._queue else None

    def run_until(self, now: float, max_actions: int | None = None) -> bool:
        """Run every action due at or before ``now`` in time order; the clock ends at ``now``.

        With ``max_actions``, stop after that many (the clock stays at the last one run) and
        return False if actions due by ``now`` remain; True when the clock reached ``now``.
        """
        run = 0
        while True:
            due = self.next_deadline()
            if due is None or due > now:
                break
            if max_actions is not None and run >= max_actions:
                return False
            timer = heapq.heappop(self._queue)
            self.time = timer.due
            timer.action()
            run += 1
        self.time = max(self.time, now)
        return True

    def shift(self, delta_s: float) -> None:
        """Postpone every pending action by ``delta_s`` seconds and move the clock on as far:
        what was due next is due ``delta_s`` later (O(pending); the heap order is kept)."""
        for timer in self._queue:
            timer.due += delta_s
        self.time += delta_s

    def clear(self) -> None:
        self._queue.clear()
