"""Faults a test harness injects, each as the real camera or its cable would show it to the
host (issue 10). One declarative table (``KINDS``) says what each kind does, where it arises
and which parameters it takes; a ``FaultPlan`` holds the active faults and is consulted by hooks
in the core exactly where the real fault would arise: the stream as each frame enters the
camera's buffer, the control channel as each command arrives, the daemon for the cable. With no
fault active a hook costs one dictionary lookup.

Each fault fires at its *opportunities* (a frame, a command): on every ``every``-th one, with
``probability`` (a generator seeded with ``seed``: reproducible), only inside the device-time
window ``[start_ns, end_ns)``, at most ``count`` times (None: until cleared). A device fault
(the cable, overheating, a chattering input) happens once, at ``start_ns``; what it did stays
(the camera is as hot as it became) until the harness changes it. Each firing is an
observation (``FaultFired``), so a test sees what was injected when.

Sans-I/O: the plan reads no clock; callers pass the device time.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from .camera.observations import Observation

STREAM, CONTROL, DEVICE = "stream", "control", "device"


@dataclass(frozen=True)
class Param:
    """A fault parameter: its default and the range it takes (integer: whole numbers only)."""
    default: float
    minimum: float
    maximum: float
    integer: bool = False

    def check(self, name: str, value: float) -> None:
        if not self.minimum <= value <= self.maximum or (self.integer and value != int(value)):
            kind = "a whole number" if self.integer else "a number"
            raise ValueError(f"{name} = {value:g}: {kind} from {self.minimum:g} to "
                             f"{self.maximum:g}")


@dataclass(frozen=True)
class FaultKind:
    where: str                    # whose opportunity it fires on: stream, control, device
    does: str                     # what the host sees (for docs, `fault list` and errors)
    params: dict[str, Param]


# Delays up to a minute, storms up to 100 PENDING_ACKs: a harness scripting a fault gets an
# error for a value that would only exhaust the daemon (a million acks) or mean nothing.
_DELAY_MS = Param(100.0, 0.0, 60_000.0)


KINDS: dict[str, FaultKind] = {
    "failed_buffer": FaultKind(
        STREAM, "the frame's trailer says DATA_DISCARDED (0xA100) instead of SUCCESS", {}),
    "dropped_frame": FaultKind(
        STREAM, "the frame never leaves the camera: the host sees a block-id gap", {}),
    "truncated_payload": FaultKind(
        STREAM, "the payload stops after `fraction` of it; the trailer gives the short valid "
                "size and DATA_OVERRUN", {"fraction": Param(0.5, 0.0, 1.0)}),
    "delayed_trailer": FaultKind(
        STREAM, "the frame's trailer leaves `delay_ms` late", {"delay_ms": _DELAY_MS}),
    "slow_link": FaultKind(
        STREAM, "the frame's payload goes out at `rate_mb_s` (MB/s) instead of the readout's "
                "pace, after the frame before it has gone (the link carries one at a time)",
        {"rate_mb_s": Param(10.0, 0.001, 10_000.0)}),
    "stream_stall": FaultKind(
        STREAM, "the stream endpoint halts: every stream transfer, the waiting ones too, fails "
                "with EPIPE until the host clears the halt", {}),
    "busy": FaultKind(CONTROL, "the command is answered GenCP BUSY and not carried out", {}),
    "status": FaultKind(
        CONTROL, "a command on `address` (every address: -1) is answered with GenCP status "
                 "`status` and not carried out",
        {"status": Param(0x8FFF, 1, 0xFFFF, integer=True),
         "address": Param(-1, -1, 2**64 - 1, integer=True)}),
    "delayed_ack": FaultKind(CONTROL, "the command's ack comes `delay_ms` late",
                             {"delay_ms": _DELAY_MS}),
    "pending_ack_storm": FaultKind(
        CONTROL, "`pendings` PENDING_ACKs (each announcing `timeout_ms`) before the real ack",
        {"pendings": Param(5, 1, 100, integer=True),
         "timeout_ms": Param(50.0, 1.0, 60_000.0)}),
    "late_ack": FaultKind(
        CONTROL, "the ack comes `delay_ms` late without a PENDING_ACK, beyond the device's "
                 "maximum response time: the host times out and retries",
        {"delay_ms": Param(200.0, 0.0, 60_000.0)}),
    "overheat": FaultKind(
        DEVICE, "the surroundings warm by `ambient_offset_c` °C: TemperatureState goes "
                "Critical (72 °C) or Error (80 °C), with the CriticalTemperature and "
                "OverTemperature events", {"ambient_offset_c": Param(40.0, -40.0, 100.0)}),
    "line_chatter": FaultKind(
        DEVICE, "input Line`line` (1, 3 or 4) sits at an undefined voltage for `duration_ms`: "
                "it chatters at random, then rests low",
        {"line": Param(1, 1, 4, integer=True), "duration_ms": Param(100.0, 1.0, 60_000.0)}),
    "line_overload": FaultKind(
        DEVICE, "GPIO output Line`line` (3 or 4) draws too much current: the camera switches "
                "it off, LineOverloadStatus reads true, until the host's LineOverloadReset",
        {"line": Param(3, 3, 4, integer=True)}),
    "disconnect": FaultKind(
        DEVICE, "the cable drops (mid-stream if streaming); it is back after `replug_ms` "
                "(0: stays out until replugged)", {"replug_ms": Param(1000.0, 0.0, 3_600_000.0)}),
}


@dataclass(frozen=True)
class Fault:
    """One injected fault (see the module docstring for when it fires)."""
    kind: str
    every: int = 1
    probability: float = 1.0
    seed: int = 0
    start_ns: int = 0
    end_ns: int | None = None
    count: int | None = 1
    params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """ValueError naming the kind, the parameter or the setting that is wrong."""
        if self.kind not in KINDS:
            raise ValueError(f"no fault kind {self.kind!r} (kinds: {', '.join(KINDS)})")
        takes = KINDS[self.kind].params
        unknown = set(self.params) - set(takes)
        if unknown:
            raise ValueError(f"{self.kind} takes no {', '.join(sorted(unknown))} (it takes: "
                             f"{', '.join(takes) or 'nothing'})")
        for name, value in self.params.items():
            takes[name].check(name, value)
        if self.every < 1 or (self.count is not None and self.count < 1):
            raise ValueError("every and count must be at least 1 (count None: until cleared)")
        if not 0.0 < self.probability <= 1.0:
            raise ValueError(f"probability = {self.probability:g}: from 0 (excluded) to 1")
        if KINDS[self.kind].where == DEVICE and (self.count, self.every,
                                                  self.probability) != (1, 1, 1.0):
            raise ValueError(f"{self.kind} happens once (count 1, every 1, probability 1): "
                             f"start_ns says when")
        if self.kind == "line_chatter" and int(self.param("line")) not in (1, 3, 4):
            raise ValueError(f"line = {self.param('line'):g}: an input (1, 3 or 4; Line2 is "
                             f"an output)")
        if self.start_ns < 0 or (self.end_ns is not None and self.end_ns <= self.start_ns):
            raise ValueError(f"window {self.start_ns}..{self.end_ns} ns: start_ns must be 0 or "
                             f"more and end_ns after it")

    def param(self, name: str) -> float:
        return self.params.get(name, KINDS[self.kind].params[name].default)


@dataclass(frozen=True)
class FaultFired(Observation):
    kind: ClassVar[str] = "fault"
    fault_id: int
    fault: str
    opportunity: int


class _Active:
    def __init__(self, fault_id: int, fault: Fault):
        self.id, self.fault = fault_id, fault
        self.rng = random.Random(fault.seed)
        self.opportunities = 0
        self.fired = 0

    def fires(self, now_ns: int) -> bool:
        f = self.fault
        if now_ns < f.start_ns or (f.end_ns is not None and now_ns >= f.end_ns):
            return False
        self.opportunities += 1
        if self.opportunities % f.every:
            return False
        if f.probability < 1.0 and self.rng.random() >= f.probability:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        return self.fault.count is not None and self.fired >= self.fault.count

    def as_dict(self) -> dict:
        f = self.fault
        return {"id": self.id, "kind": f.kind, "every": f.every, "probability": f.probability,
                "seed": f.seed, "start_ns": f.start_ns, "end_ns": f.end_ns, "count": f.count,
                "params": {name: f.param(name) for name in KINDS[f.kind].params},
                "opportunities": self.opportunities, "fired": self.fired}


class FaultPlan:
    """The faults active on one camera. ``emit`` gets a ``FaultFired`` per firing."""

    def __init__(self, emit: Callable[[Observation], None]):
        self.emit = emit
        self._ids = itertools.count(1)
        self._active: dict[int, _Active] = {}
        self._by_where: dict[str, list[_Active]] = {}

    def add(self, fault: Fault) -> int:
        active = _Active(next(self._ids), fault)
        self._active[active.id] = active
        self._index()
        return active.id

    def clear(self, fault_id: int | None = None) -> int:
        """Clear one fault (KeyError if there is none with that id) or all; how many went."""
        if fault_id is None:
            cleared = len(self._active)
            self._active.clear()
        else:
            del self._active[fault_id]
            cleared = 1
        self._index()
        return cleared

    def listed(self) -> list[dict]:
        return [a.as_dict() for a in self._active.values()]

    def _index(self) -> None:
        self._by_where = {}
        for active in self._active.values():
            self._by_where.setdefault(KINDS[active.fault.kind].where, []).append(active)

    def fire(self, where: str, now_ns: int, accept: Callable[[Fault], bool] = lambda f: True
             ) -> list[Fault]:
        """The faults of ``where`` that fire at this opportunity (each counts it). A spent
        fault (its ``count`` reached) leaves the plan."""
        candidates = self._by_where.get(where)
        if not candidates:
            return []
        fired = []
        for active in list(candidates):
            end = active.fault.end_ns
            if end is not None and now_ns >= end:   # its window has passed: it is done
                del self._active[active.id]
                self._index()
                continue
            if not accept(active.fault) or not active.fires(now_ns):
                continue
            fired.append(active.fault)
            self.emit(FaultFired(now_ns, active.id, active.fault.kind, active.opportunities))
            if active.spent:
                del self._active[active.id]
                self._index()
        return fired
