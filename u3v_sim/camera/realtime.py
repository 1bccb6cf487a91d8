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

import logging
from dataclasses import dataclass, field
from typing import Callable

from .scheduler import Scheduler

# Chosen: 100 ms overdue is far past any frame-timing jitter (the pacing loop wakes within
# 2 ms) yet short enough that a status request or a signal never waits behind a backlog.
MAX_LAG_S = 0.1
# Chosen: ~5 actions make a frame (start, exposure end, readout end, ready): 200 actions are
# 40 frames, about 3 ms of Python, the most one advance may do before skipping ahead, so the
# ioctl thread and the pacing loop never hold the camera long (at 1000 fps this skips when
# 40 ms behind; at the rated 42.7 fps MAX_LAG_S decides).
MAX_ACTIONS = 200


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


# Chosen: an episode of skipping ends once the camera went this long without a skip.
EPISODE_GAP_S = 2.0


@dataclass
class LatenessWatch:
    """What a real-time driver says about a camera's lateness: the worst lag its pacing loop
    met in the last window (``note`` at each wake-up, ``update`` once per window), and one
    message when an episode of skipping ahead starts and one when it ends."""
    behind: bool = False
    worst_s: float = 0.0          # the worst lag in the window so far
    window_worst_s: float = 0.0   # the worst lag of the last complete window
    # (skips, frames dropped, seconds skipped) before the current episode, or as last seen.
    _before: tuple = (0, 0, 0.0)

    def note(self, lag_s: float) -> None:
        self.worst_s = max(self.worst_s, lag_s)

    def update(self, stats: RealTimeStats, now: float) -> tuple[int, str] | None:
        """Close the window; (logging level, message) when an episode starts or ends."""
        self.window_worst_s, self.worst_s = self.worst_s, 0.0
        skips, frames, skipped_s = self._before
        if not self.behind:
            if stats.skips == skips:
                return None
            self.behind = True
            return logging.WARNING, (
                f"fell {stats.last_lag_s * 1e3:.0f} ms behind real time: skipping ahead (the "
                f"frames free run would start meanwhile are dropped, cause daemon_overload)")
        if stats.last_skip_at is None or now - stats.last_skip_at < EPISODE_GAP_S:
            return None
        self.behind = False
        self._before = (stats.skips, stats.frames_dropped, stats.skipped_s)
        return logging.INFO, (
            f"back to real time after {stats.skips - skips} skip(s): "
            f"{stats.skipped_s - skipped_s:.2f} s skipped, "
            f"{stats.frames_dropped - frames} frames dropped (daemon_overload)")
