"""The acquisition engine: triggers, exposure, readout, counters and the timer, on the
injected clock.

Global-shutter timing with overlapped exposure and readout: a frame may start while the last
one is still read out, as long as frames start at least ``FrameTiming.period_us`` apart (the
readout, exposure, link transfer and — in free run — AcquisitionFrameRate limits). A trigger
that arrives while the camera can't start a frame is an overtrigger: counted, an event, no
frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from u3v_features.acA4096_40um import COUNTERS, LINES

from .features import FeatureStore
from .lines import Lines
from .observations import AcquisitionChanged, Observation
from .scheduler import Scheduler, Timer
from .timing import FrameTiming

TRIGGERS = ("FrameBurstStart", "FrameStart")
SOFTWARE_SIGNALS = ("SoftwareSignal1", "SoftwareSignal2", "SoftwareSignal3")


@dataclass
class FrameRecord:
    """What the camera knows of a frame when its exposure starts."""
    block_id: int
    start_time: float
    timestamp_ns: int
    exposure_us: float = 0.0
    gain_db: float = 0.0
    line_status_all: int = 0
    counter_values: tuple[int, ...] = (0, 0)   # by table.COUNTERS
    settings: dict = field(default_factory=dict)
    # The sensor is read out row by row: the frame's data leaves the camera at that pace.
    readout_start: float = 0.0
    readout_end: float = 0.0
    # What started the frame: a FrameStart trigger's source, else the FrameBurstStart
    # trigger's source while a burst trigger is on, else "FreeRun".
    trigger_source: str = "FreeRun"
    # Stream faults a harness injected into this frame (faults.py), by kind.
    faults: dict = field(default_factory=dict)


@dataclass
class AcquisitionStats:
    frame_triggers: int = 0
    frames_started: int = 0
    frames_completed: int = 0
    frame_start_overtriggers: int = 0
    burst_overtriggers: int = 0


class Acquisition:
    def __init__(self, store: FeatureStore, scheduler: Scheduler, lines: Lines,
                 timing: Callable[[], FrameTiming], timestamp_ns: Callable[[float], int],
                 snapshot: Callable[[], dict],
                 raise_event: Callable[[str, int], None],
                 on_frame: Callable[[FrameRecord], None],
                 emit: Callable[[Observation], None]):
        self.store, self.scheduler, self.lines = store, scheduler, lines
        self.timing, self.timestamp_ns, self.snapshot = timing, timestamp_ns, snapshot
        self.raise_event, self.on_frame, self.emit = raise_event, on_frame, emit
        self.stats = AcquisitionStats()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.next_block_id = 0
        self.acquiring = False
        self.exposing: FrameRecord | None = None
        self.reading_out = 0              # frames between exposure end and readout end
        self.next_start_allowed = float("-inf")
        self.burst_remaining: int | None = None   # None: no burst trigger in use
        self.frames_this_acquisition = 0
        self.timer_active = False
        self._free_run: Timer | None = None
        self._ready_timer: Timer | None = None
        self._exposure_end: Timer | None = None
        self._waiting = dict.fromkeys(TRIGGERS, False)
        # Called before each frame's exposure starts (first: the acquisition's first frame),
        # and with each internal signal as it happens (FrameStart, FrameEnd, CounterNEnd,
        # SoftwareSignalN): what the sequencer follows.
        self.before_frame: list[Callable[[bool], None]] = []
        self.signal_listeners: list[Callable[[str], None]] = []
        lines.input_listeners.append(self._on_input)
        self._update_signals()

    # -- configuration helpers ---------------------------------------------------------------

    def _trigger_on(self, selector: str) -> bool:
        return self.store.get("TriggerMode", selector) == "On"

    def _now(self) -> float:
        return self.scheduler.time

    def _burst_allows(self) -> bool:
        return self.burst_remaining is None or self.burst_remaining > 0

    def can_start_frame(self) -> bool:
        return (self.acquiring and self.exposing is None and self._burst_allows()
                and self._now() >= self.next_start_allowed)

    def waiting_for(self, selector: str) -> bool:
        if not (self.acquiring and self._trigger_on(selector)):
            return False
        if selector == "FrameBurstStart":
            return not self.burst_remaining
        return self.can_start_frame()

    # -- start and stop ----------------------------------------------------------------------

    def _set_acquiring(self, acquiring: bool) -> None:
        if acquiring != self.acquiring:
            self.acquiring = acquiring
            self.emit(AcquisitionChanged(self.timestamp_ns(self._now()), acquiring))

    def start(self) -> None:
        if self.acquiring:
            return
        self._set_acquiring(True)
        self.frames_this_acquisition = 0
        self.burst_remaining = 0 if self._trigger_on("FrameBurstStart") else None
        self._schedule_free_run()
        self._after_change()

    def stop(self) -> None:
        """Stop accepting triggers; a frame already exposing still completes."""
        self._set_acquiring(False)
        for timer in (self._free_run, self._ready_timer):
            if timer:
                timer.cancel()
        self._free_run = self._ready_timer = None
        self._after_change()

    def _free_running(self) -> bool:
        return not self._trigger_on("FrameStart") and self.store.get("ExposureMode") == "Timed"

    def _schedule_free_run(self) -> None:
        if self._free_run:
            self._free_run.cancel()
            self._free_run = None
        if self.acquiring and self._free_running() and self._burst_allows():
            self._free_run = self.scheduler.at(max(self._now(), self.next_start_allowed),
                                               self._free_run_tick)

    def _free_run_tick(self) -> None:
        self._free_run = None
        if self.can_start_frame() and self._free_running():
            self._start_exposure(self._burst_source() or "FreeRun")
        self._schedule_free_run()

    # -- a simulator that fell behind real time ----------------------------------------------

    def frames_due_in(self, seconds: float) -> int:
        """How many frames free run would start in the next ``seconds`` (0 when frames wait
        for triggers: those arrive with their own time)."""
        if not (self.acquiring and self._free_running()) or seconds <= 0:
            return 0
        timing = self.timing()
        period_s = max(timing.period_us, timing.rate_limit_us) / 1e6
        frames = int(seconds / period_s) if period_s > 0 else 0
        return frames if self.burst_remaining is None else min(frames, self.burst_remaining)

    def shift(self, delta_s: float) -> None:
        """The scheduler postponed everything by ``delta_s``: move the times kept here too."""
        self.next_start_allowed += delta_s
        if self.exposing is not None:
            self.exposing.start_time += delta_s

    # -- triggers --------------------------------------------------------------------------

    def software_trigger(self, selector: str) -> None:
        if self._trigger_on(selector) and self.store.get("TriggerSource", selector) == "Software":
            self._delayed(selector, True)

    def _signal(self, name: str) -> None:
        for listener in self.signal_listeners:
            listener(name)

    def software_signal(self, signal: str) -> None:
        self._signal(signal)
        for selector in TRIGGERS:
            if self._trigger_on(selector) and self.store.get("TriggerSource", selector) == signal:
                self._delayed(selector, True)

    def _on_input(self, line: str, level: bool) -> None:
        for selector in TRIGGERS:
            if not self._trigger_on(selector) or self.store.get("TriggerSource", selector) != line:
                continue
            activation = self.store.get("TriggerActivation", selector)
            width_mode = (selector == "FrameStart"
                          and self.store.get("ExposureMode") == "TriggerWidth")
            active = level if activation in ("RisingEdge", "LevelHigh", "AnyEdge") else not level
            if width_mode:
                self._delayed(selector, active)
            elif activation == "AnyEdge" or active:
                self._delayed(selector, True)
        self._counter_reset_by_line(line, level)

    def _delayed(self, selector: str, active: bool) -> None:
        delay_s = self.store.get("TriggerDelay", selector) / 1e6
        action = (lambda: self._trigger(selector)) if active else self._end_width_exposure
        if delay_s > 0:
            self.scheduler.after(delay_s, action)
        else:
            action()

    def _trigger(self, selector: str) -> None:
        if not self.acquiring:
            return
        if selector == "FrameBurstStart":
            if self.burst_remaining:
                self.stats.burst_overtriggers += 1
                self.raise_event("FrameBurstStartOvertrigger", self.next_block_id)
                return
            self.burst_remaining = self.store.get("AcquisitionBurstFrameCount")
            self.raise_event("FrameBurstStart", self.next_block_id)
            self._schedule_free_run()
            self._after_change()
            return
        self.stats.frame_triggers += 1
        self._count("FrameTrigger")
        if not self.can_start_frame():
            self.stats.frame_start_overtriggers += 1
            self.raise_event("FrameStartOvertrigger", self.next_block_id)
            return
        self._start_exposure(self.store.get("TriggerSource", "FrameStart"))

    def _burst_source(self) -> str | None:
        if self._trigger_on("FrameBurstStart"):
            return self.store.get("TriggerSource", "FrameBurstStart")
        return None

    def _level_trigger_pending(self) -> None:
        """With LevelHigh/LevelLow the camera keeps triggering while the level is active."""
        if not (self._trigger_on("FrameStart") and self.can_start_frame()):
            return
        source = self.store.get("TriggerSource", "FrameStart")
        activation = self.store.get("TriggerActivation", "FrameStart")
        if source in LINES and activation in ("LevelHigh", "LevelLow"):
            if self.lines.status(source) == (activation == "LevelHigh"):
                self._trigger("FrameStart")

    # -- exposure and readout ----------------------------------------------------------------

    def _start_exposure(self, trigger_source: str) -> None:
        for prepare in self.before_frame:
            prepare(self.frames_this_acquisition == 0)
        now = self._now()
        timing = self.timing()
        width_mode = self.store.get("ExposureMode") == "TriggerWidth"
        self._count("FrameStart")   # (before the record: the frame's chunk counts its own start)
        self._signal("FrameStart")
        record = FrameRecord(block_id=self.next_block_id, start_time=now,
                             timestamp_ns=self.timestamp_ns(now),
                             exposure_us=0.0 if width_mode else timing.exposure_us,
                             gain_db=self.store.get("Gain", "All"),
                             line_status_all=self.lines.status_all(),
                             counter_values=tuple(self.counters.values()),
                             settings=self.snapshot(), trigger_source=trigger_source)
        self.next_block_id += 1
        self.exposing = record
        self.frames_this_acquisition += 1
        self.stats.frames_started += 1
        # The next frame may start one period later (free-run frame-rate limit included).
        period_us = max(timing.readout_us, timing.transfer_us, timing.exposure_us)
        if self._free_running():
            period_us = max(period_us, timing.rate_limit_us)
        self.next_start_allowed = now + period_us / 1e6
        if self.burst_remaining:
            self.burst_remaining -= 1
        if self.store.get("AcquisitionMode") == "SingleFrame":
            self._set_acquiring(False)
        self.raise_event("FrameStart", record.block_id)
        self._timer_trigger(("ExposureStart", "FlashWindowStart"))
        if not width_mode:
            self._exposure_end = self.scheduler.after(timing.exposure_us / 1e6,
                                                      self._end_exposure)
        self._after_change()

    def _end_width_exposure(self) -> None:
        if self.exposing is not None and self.store.get("ExposureMode") == "TriggerWidth":
            self.exposing.exposure_us = (self._now() - self.exposing.start_time) * 1e6
            self._end_exposure()

    def _end_exposure(self) -> None:
        record, self.exposing = self.exposing, None
        if record is None:
            return
        self._exposure_end = None
        self._signal("FrameEnd")
        self.raise_event("ExposureEnd", record.block_id)
        self.reading_out += 1
        record.readout_start = self.scheduler.time
        record.readout_end = record.readout_start + self.timing().readout_us / 1e6
        self.on_frame(record)  # the stream sends rows as they are read out
        self.scheduler.at(record.readout_end, self._readout_done)
        self._after_change()

    def _readout_done(self) -> None:
        self.reading_out -= 1
        self.stats.frames_completed += 1
        self._after_change()

    # -- counters and timer ------------------------------------------------------------------

    def _held_in_reset(self, counter: str) -> bool:
        """A level-activated reset line at its level holds the counter at 0."""
        line = self.store.get("CounterResetSource", counter)
        activation = self.store.get("CounterResetActivation", counter)
        return (line in LINES and activation in ("LevelHigh", "LevelLow")
                and self.lines.status(line) == (activation == "LevelHigh"))

    def _count(self, source: str) -> None:
        for counter in self.counters:
            if self.store.get("CounterEventSource", counter) != source:
                continue
            if self._held_in_reset(counter):
                self.counters[counter] = 0
                continue
            self.counters[counter] += 1
            duration = self.store.get("CounterDuration", counter)
            if duration and self.counters[counter] >= duration:
                self.counters[counter] = 0
                self._counter_end(counter)

    def _counter_end(self, counter: str) -> None:
        self._signal(f"{counter}End")
        self._count(f"{counter}End")
        for other in self.counters:
            if self.store.get("CounterResetSource", other) == f"{counter}End":
                self.counters[other] = 0

    def reset_counter(self, counter: str) -> None:
        self.counters[counter] = 0

    def _counter_reset_by_line(self, line: str, level: bool) -> None:
        for counter in self.counters:
            if self.store.get("CounterResetSource", counter) != line:
                continue
            activation = self.store.get("CounterResetActivation", counter)
            if activation == "AnyEdge" or level == (activation in ("RisingEdge", "LevelHigh")):
                self.counters[counter] = 0

    def _timer_trigger(self, events: tuple[str, ...]) -> None:
        if self.store.get("TimerTriggerSource", "Timer1") not in events or self.timer_active:
            return
        delay = self.store.get("TimerDelay", "Timer1") / 1e6
        duration = self.store.get("TimerDuration", "Timer1") / 1e6

        def begin() -> None:
            self.timer_active = True
            self._update_signals()
            self.scheduler.after(duration, end)

        def end() -> None:
            self.timer_active = False
            self._update_signals()

        self.scheduler.after(delay, begin)

    # -- status ------------------------------------------------------------------------------

    def status(self, which: str) -> bool:
        burst_active = bool(self.burst_remaining) or (
            self.burst_remaining is not None and self.exposing is not None)
        return {
            "FrameBurstTriggerWait": self.waiting_for("FrameBurstStart"),
            "FrameBurstTriggerActive": burst_active,
            "FrameBurstTriggerTransfer": burst_active and self.reading_out > 0,
            "FrameTriggerWait": self.waiting_for("FrameStart"),
            "FrameActive": self.exposing is not None or self.reading_out > 0,
            "FrameTransfer": self.reading_out > 0,
            "ExposureActive": self.exposing is not None,
        }[which]

    def _update_signals(self) -> None:
        exposing = self.exposing is not None
        waiting = {selector: self.waiting_for(selector) for selector in TRIGGERS}
        self.lines.signals.update({
            "ExposureActive": exposing,
            "FlashWindow": exposing,
            "FrameTriggerWait": waiting["FrameStart"],
            "FrameBurstTriggerWait": waiting["FrameBurstStart"],
            "Timer1Active": self.timer_active,
        })
        # FrameStartWait / FrameBurstStartWait: the camera became ready for that trigger.
        for selector, now_waiting in waiting.items():
            if now_waiting and not self._waiting[selector]:
                self.raise_event(f"{selector}Wait", 0)
        self._waiting = waiting
        self.lines.update_outputs()

    def _after_change(self) -> None:
        """Refresh output signals, and wake up when the camera next becomes ready."""
        self._update_signals()
        if self._ready_timer:
            self._ready_timer.cancel()
            self._ready_timer = None
        if self.acquiring and self.exposing is None and self._now() < self.next_start_allowed:
            self._ready_timer = self.scheduler.at(self.next_start_allowed, self._became_ready)
        else:
            self._level_trigger_pending()

    def _became_ready(self) -> None:
        self._ready_timer = None
        self._after_change()

    def settings_changed(self) -> None:
        """A feature was written: trigger modes or rates may have changed."""
        if self.acquiring:
            if self.burst_remaining is None and self._trigger_on("FrameBurstStart"):
                self.burst_remaining = 0
            elif self.burst_remaining is not None and not self._trigger_on("FrameBurstStart"):
                self.burst_remaining = None
            self._schedule_free_run()
        self._after_change()
