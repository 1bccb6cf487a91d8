"""Keeping a camera that a real clock drives within reach of real time.

On a virtual clock the camera runs every action at its own time however far ``now`` jumps,
exactly (the tests rely on it). Driven by a real clock, a simulator that falls behind — the
machine busy, or frames asked for faster than Python can model them (a 16x2 ROI free-running
at tens of kHz) — would otherwise work through an ever-growing backlog, and never answer
anything else again. So, with a ``RealTimeLimit`` set on the camera:

- when its next action is more than ``max_lag_s`` overdue, or one advance has run
  ``max_actions`` actions and more are overdue, the camera skips ahead: every pending action
  is postponed by the lag, so the device resumes as if it had been paused; its clock keeps
  real time (timestamps jump by the gap, as a real camera's would while frames were lost);
- the frames free run would have started in the gap are counted as dropped with the cause
  ``daemon_overload``, and every skip is counted here, so the lateness is never silent.

One advance therefore costs at most ``max_actions`` actions plus O(pending actions) for a
skip, however far behind the caller is. Pure: the caller passes ``now`` (seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .scheduler import Scheduler

# Chosen: 100 ms overdue is far past any frame-timing jitter (the pacing loop wakes within
# 2 ms) yet short enough that a status request or a signal never waits behind a backlog.
MAX_LAG_S = 0.1
# Chosen: ~5 actions make a frame (start, exposure end, readout end, ready): 2000 actions are
# 400 frames, about 40 ms of Python, the most one advance may do before skipping ahead.
MAX_ACTIONS = 2000


@dataclass
class RealTimeStats:
    skips: int = 0                 # times the camera skipped ahead
    skipped_s: float = 0.0         # device activity postponed in all (seconds)
    frames_dropped: int = 0        # free-run frames that fell into the gaps
    worst_lag_s: float = 0.0       # the largest lag skipped at once
    last_lag_s: float = 0.0
    last_skip_at: float | None = None   # ``now`` of the last skip

    def as_dict(self) -> dict:
        return {"skips": self.skips, "skipped_s": round(self.skipped_s, 3),
                "frames_dropped": self.frames_dropped,
                "worst_lag_ms": round(self.worst_lag_s * 1e3, 1),
                "last_lag_ms": round(self.last_lag_s * 1e3, 1)}


@dataclass
class RealTimeLimit:
    """How far a real-time driven camera may fall behind before it skips ahead."""
    max_lag_s: float = MAX_LAG_S
    max_actions: int = MAX_ACTIONS
    stats: RealTimeStats = field(default_factory=RealTimeStats)

    def advance(self, scheduler: Scheduler, now: float,
                on_skip: Callable[[float], int]) -> None:
        """Run ``scheduler`` to ``now`` within the limits; ``on_skip(lag_s)`` is called after
        the scheduler postponed everything by ``lag_s`` and returns the frames lost."""
        due = scheduler.next_deadline()
        if due is not None and now - due > self.max_lag_s:
            self._skip(scheduler, now, now - due, on_skip)
        if scheduler.run_until(now, self.max_actions):
            return
        due = scheduler.next_deadline()
        if due is not None and due < now:
            self._skip(scheduler, now, now - due, on_skip)
        scheduler.run_until(now)   # only what is due at ``now`` itself is left

    def _skip(self, scheduler: Scheduler, now: float, lag_s: float,
              on_skip: Callable[[float], int]) -> None:
        scheduler.shift(lag_s)
        frames = on_skip(lag_s)
        s = self.stats
        s.skips += 1
        s.skipped_s += lag_s
        s.frames_dropped += frames
        s.worst_lag_s = max(s.worst_lag_s, lag_s)
        s.last_lag_s = lag_s
        s.last_skip_at = now
