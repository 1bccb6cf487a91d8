"""The camera's I/O lines: Line1 opto input, Line2 opto output, Line3/Line4 GPIO.

Inputs are driven from outside (the daemon, MQTT, tests) with a logic level or a voltage; a
voltage maps through the datasheet's thresholds, and a voltage between the thresholds is
undefined, modelled as a line that chatters at random until it leaves that band. Inputs pass
the debouncer (a new level must stay stable for LineDebouncerTime) and the inverter. Outputs
follow their LineSource through the inverter, never change faster than
LineMinimumOutputPulseWidth. Every edge (outputs as driven, inputs as the camera sees them)
is an observation with its device timestamp.

What the outside world drives stays when the camera reboots (DeviceReset, power-up): a line
held high from outside reads high after the reset (``external`` / ``restore_external``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from u3v_features.acA4096_40um import GPIO_LINES, LINES, OPTO_LINES, USER_OUTPUTS

from .features import FeatureStore
from .observations import LineEdge, Observation
from .scheduler import Scheduler, Timer

OUTPUT_ONLY = ("Line2",)
INPUT_ONLY = ("Line1",)
# Chatter of an input held at an undefined voltage: random toggles this far apart (seconds).
# Chosen: about 2,000 edges/s, which the daemon models in real time (each edge exact up to
# 5 kHz); faster chatter made it fall behind and postpone everything, the chatter's own end.
CHATTER_INTERVAL_S = (100e-6, 900e-6)


@dataclass(frozen=True)
class Electrical:
    """Input thresholds and limits (acA4096-40um datasheet figures)."""
    low_max_v: float
    high_min_v: float
    safe_max_v: float
    absolute_max_v: float


OPTO_INPUT = Electrical(low_max_v=1.4, high_min_v=2.2, safe_max_v=24.0, absolute_max_v=30.0)
GPIO_INPUT = Electrical(low_max_v=0.8, high_min_v=2.0, safe_max_v=5.0, absolute_max_v=30.0)


class LineError(ValueError):
    """A request the line can't take (wrong line, an output, a voltage out of range)."""


class NoSuchLine(LineError):
    """A line the camera does not have (the request is wrong, not refused by the camera)."""


@dataclass(frozen=True)
class PulseTrain:
    """A pulse train the outside world drives on a line (scheduler times, seconds)."""
    start: float
    width_s: float
    period_s: float
    count: int
    level: bool

    def edge_time(self, i: int, rising: bool) -> float:
        return self.start + i * self.period_s + (0.0 if rising else self.width_s)


@dataclass(frozen=True)
class ExternalDrive:
    """What the outside world applies to the inputs: a logic level per line (None: an
    undefined voltage, the line chatters), the pulse trains still running, and the inputs an
    overvoltage damaged."""
    levels: dict[str, bool | None]
    damaged: frozenset[str]
    trains: dict[str, PulseTrain]
    # Chatter that ends by itself (an injected fault): when (scheduler time), by line.
    chatter_until: dict[str, float]


@dataclass(frozen=True)
class DriveResult:
    line: str
    logic: bool | None          # None: undefined voltage, the line chatters
    warning: str | None = None  # outside the safe range but below the absolute maximum


class Lines:
    def __init__(self, scheduler: Scheduler, store: FeatureStore,
                 timestamp_ns: Callable[[float], int], emit: Callable[[Observation], None],
                 seed: int = 0):
        self.scheduler = scheduler
        self.emit = emit
        self.store = store
        self.timestamp_ns = timestamp_ns
        self.rng = random.Random(seed)
        self.raw = dict.fromkeys(LINES, False)          # electrical logic level at the pin
        self.debounced = dict.fromkeys(LINES, False)
        self.output_level = dict.fromkeys(LINES, False)
        self.last_output_change = dict.fromkeys(LINES, float("-inf"))
        self.damaged: set[str] = set()
        self.overload: set[str] = set()      # outputs their overload protection switched off
        self.signals: dict[str, bool] = {}               # engine signals feeding LineSource
        self.input_listeners: list[Callable[[str, bool], None]] = []
        self._debounce: dict[str, Timer] = {}
        self._chatter: dict[str, Timer] = {}
        self._pulse_hold: dict[str, Timer] = {}
        self._train: dict[str, Timer] = {}     # the next edge of a pulse train, by line
        self._train_specs: dict[str, PulseTrain] = {}
        self._chatter_until: dict[str, float] = {}

    # -- configuration -------------------------------------------------------------------

    def is_input(self, line: str) -> bool:
        return self.store.get("LineMode", line) == "Input"

    def status(self, line: str) -> bool:
        """LineStatus: what the camera sees on an input, what it drives on an output."""
        if not self.is_input(line):
            return self.output_level[line]
        return self.debounced[line] != bool(self.store.get("LineInverter", line))

    def status_all(self) -> int:
        return sum(self.status(line) << i for i, line in enumerate(LINES))

    def overloaded(self, line: str) -> bool:
        """LineOverloadStatus: a GPIO line damaged by an overvoltage, or an output switched
        off by its overload protection."""
        return line in GPIO_LINES and (line in self.damaged or line in self.overload)

    def overload_output(self, line: str) -> None:
        """The output draws too much current: its protection switches it off (LineError if
        the line is not a GPIO output)."""
        if line not in GPIO_LINES or self.is_input(line):
            raise LineError(f"{line}: only a GPIO line set to Output can be overloaded")
        self.overload.add(line)
        self.update_outputs()

    def reset_overload(self, line: str) -> None:
        """LineOverloadReset: the output works again (at once overloaded again is a new
        fault)."""
        self.overload.discard(line)
        self.update_outputs()

    # -- what the outside world drives ------------------------------------------------------

    def external(self) -> ExternalDrive:
        return ExternalDrive({line: None if line in self._chatter else self.raw[line]
                              for line in LINES}, frozenset(self.damaged),
                             dict(self._train_specs), dict(self._chatter_until))

    def restore_external(self, drive: ExternalDrive) -> None:
        """At boot: the inputs are at the levels applied from outside (no edge: they were
        there before the camera looked); a pulse train goes on where it is now."""
        self.damaged = set(drive.damaged)
        for line, logic in drive.levels.items():
            if logic is None:   # chattering on: its next toggle as if it had gone on
                self._chatter[line] = self.scheduler.after(
                    self.rng.uniform(*CHATTER_INTERVAL_S),
                    lambda held=line: self._chatter_step(held))
            else:
                self.raw[line] = self.debounced[line] = logic
        for line, train in drive.trains.items():
            self._resume_train(line, train)
        for line, until in drive.chatter_until.items():
            self._end_chatter_at(line, until)

    # -- pulse trains ------------------------------------------------------------------------

    def pulse_train(self, line: str, start: float, width_s: float, period_s: float,
                    count: int, level: bool = True) -> float:
        """``count`` pulses of ``level`` from ``start`` (scheduler time, s), each ``width_s``
        long, one every ``period_s``; the line rests at ``not level`` before and after. Each
        edge is placed by the scheduler at its exact time, one edge ahead (memory O(1) in
        ``count``). A train on the same line, or driving it, stops the one before. Returns
        the time of the last edge. LineError if the line cannot be driven."""
        self._check_drivable(line)
        if count < 1 or width_s <= 0 or period_s <= 0 or (count > 1 and width_s >= period_s):
            raise LineError("a pulse train needs count >= 1 and 0 < width < period")
        self._stop_train(line)
        train = PulseTrain(start, width_s, period_s, count, level)
        self._train_specs[line] = train
        self._next_edge(line, train, 0, True)
        return train.edge_time(count - 1, False)

    def _next_edge(self, line: str, train: PulseTrain, i: int, rising: bool) -> None:
        def edge() -> None:
            self._train.pop(line, None)
            try:
                self._drive_now(line, level=train.level if rising else not train.level)
            except LineError:   # the line became an output meanwhile: the train ends
                self._train_specs.pop(line, None)
                return
            if rising:
                self._next_edge(line, train, i, False)
            elif i + 1 < train.count:
                self._next_edge(line, train, i + 1, True)
            else:
                self._train_specs.pop(line, None)
        self._train[line] = self.scheduler.at(train.edge_time(i, rising), edge)

    def _resume_train(self, line: str, train: PulseTrain) -> None:
        """The train at the scheduler's time now: the line at its level, the next edge set."""
        now = self.scheduler.time
        i = max(0, int((now - train.start) // train.period_s))
        if i >= train.count or now >= train.edge_time(train.count - 1, False):
            self.raw[line] = self.debounced[line] = not train.level   # it has ended
            return
        active = train.edge_time(i, True) <= now < train.edge_time(i, False)
        self.raw[line] = self.debounced[line] = train.level if active else not train.level
        self._train_specs[line] = train
        if active:
            self._next_edge(line, train, i, False)
        elif now < train.edge_time(i, True):
            self._next_edge(line, train, i, True)
        else:
            self._next_edge(line, train, i + 1, True)

    def _stop_train(self, line: str) -> None:
        timer = self._train.pop(line, None)
        self._train_specs.pop(line, None)
        if timer:
            timer.cancel()

    # -- inputs ----------------------------------------------------------------------------

    def _check_drivable(self, line: str) -> None:
        if line not in LINES:
            raise NoSuchLine(f"no line {line!r}; lines are {', '.join(LINES)}")
        if line in OUTPUT_ONLY or not self.is_input(line):
            raise LineError(f"{line} is an output; only inputs can be driven")

    def drive(self, line: str, *, level: bool | None = None,
              voltage: float | None = None) -> DriveResult:
        """Apply a logic level or a voltage to an input line, now (scheduler time); a pulse
        train running on it stops."""
        self._check_drivable(line)
        self._stop_train(line)
        return self._drive_now(line, level=level, voltage=voltage)

    def _drive_now(self, line: str, *, level: bool | None = None,
                   voltage: float | None = None) -> DriveResult:
        self._check_drivable(line)
        if (level is None) == (voltage is None):
            raise LineError("give either a logic level or a voltage")
        warning = None
        if voltage is not None:
            logic, warning = self._logic_from_voltage(line, float(voltage))
        else:
            logic = bool(level)
        self._stop_chatter(line)
        if line in self.damaged:
            logic = False  # a damaged input no longer conducts
        if logic is None:
            self._chatter_step(line)
        else:
            self._set_raw(line, logic)
        return DriveResult(line, logic, warning)

    def _logic_from_voltage(self, line: str, voltage: float) -> tuple[bool | None, str | None]:
        spec = OPTO_INPUT if line in OPTO_LINES else GPIO_INPUT
        if voltage != voltage or voltage < 0.0:
            raise LineError(f"{line}: {voltage} V refused: inputs take 0 to "
                            f"{spec.safe_max_v:g} V")
        if voltage > spec.absolute_max_v:
            self.damaged.add(line)
            raise LineError(f"{line}: {voltage} V is above the absolute maximum "
                            f"{spec.absolute_max_v:g} V: the input is damaged")
        warning = None
        if voltage > spec.safe_max_v:
            warning = (f"{line}: {voltage} V is above the safe {spec.safe_max_v:g} V "
                       f"(absolute maximum {spec.absolute_max_v:g} V)")
        if voltage <= spec.low_max_v:
            return False, warning
        if voltage > spec.high_min_v:
            return True, warning
        return None, warning

    def _chatter_step(self, line: str) -> None:
        self._set_raw(line, not self.raw[line])
        self._chatter[line] = self.scheduler.after(
            self.rng.uniform(*CHATTER_INTERVAL_S), lambda: self._chatter_step(line))

    def chatter_for(self, line: str, duration_s: float, undefined_v: float) -> None:
        """An undefined voltage on an input for ``duration_s``, then low (a fault); the end
        holds through a reboot, as the outside world does."""
        self.drive(line, voltage=undefined_v)
        self._end_chatter_at(line, self.scheduler.time + duration_s)

    def _end_chatter_at(self, line: str, until: float) -> None:
        self._chatter_until[line] = until

        def end() -> None:
            self._chatter_until.pop(line, None)
            if line in self._chatter:   # (driven otherwise meanwhile: nothing to end)
                try:
                    self.drive(line, level=False)
                except LineError:
                    pass   # an output by now
        self.scheduler.at(max(until, self.scheduler.time), end)

    def _stop_chatter(self, line: str) -> None:
        timer = self._chatter.pop(line, None)
        if timer:
            timer.cancel()

    def _set_raw(self, line: str, logic: bool) -> None:
        self.raw[line] = logic
        pending = self._debounce.pop(line, None)
        if pending:
            pending.cancel()
        if logic == self.debounced[line]:
            return  # a glitch shorter than the debouncer time: filtered out
        debounce_s = self.store.get("LineDebouncerTime", line) / 1e6
        if debounce_s <= 0:
            self._commit(line, logic)
        else:
            self._debounce[line] = self.scheduler.after(
                debounce_s, lambda: self._commit(line, logic))

    def _commit(self, line: str, logic: bool) -> None:
        self._debounce.pop(line, None)
        self.debounced[line] = logic
        level = self.status(line)
        self.emit(LineEdge(self.timestamp_ns(self.scheduler.time), line, level, output=False))
        for listener in self.input_listeners:
            listener(line, level)

    # -- outputs ---------------------------------------------------------------------------

    def _target(self, line: str) -> bool:
        if line in self.overload:
            return False
        source = self.store.get("LineSource", line)
        if source in USER_OUTPUTS:
            active = bool(self.store.get("UserOutputValue", source))
        else:
            active = self.signals.get(source, False)
        return active != bool(self.store.get("LineInverter", line))

    def update_outputs(self) -> None:
        """Bring every output to its source's level (call after any signal or setting change)."""
        now = self.scheduler.time
        for line in LINES:
            if self.is_input(line):
                continue
            target = self._target(line)
            if target == self.output_level[line] or line in self._pulse_hold:
                continue
            earliest = (self.last_output_change[line]
                        + self.store.get("LineMinimumOutputPulseWidth", line) / 1e6)
            if now < earliest:
                self._pulse_hold[line] = self.scheduler.at(earliest,
                                                           lambda held=line: self._release(held))
                continue
            self._set_output(line, target)

    def _release(self, line: str) -> None:
        self._pulse_hold.pop(line, None)
        self.update_outputs()

    def _set_output(self, line: str, level: bool) -> None:
        self.output_level[line] = level
        self.last_output_change[line] = self.scheduler.time
        self.emit(LineEdge(self.timestamp_ns(self.scheduler.time), line, level))
