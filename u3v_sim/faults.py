"""Faults a test harness injects, each as the real camera or its cable would show it to the
host (issue 10). One declarative table (``KINDS``) says what each kind does, where it arises
and which parameters it takes; a ``FaultPlan`` holds the active faults and is consulted by hooks
in the core exactly where the real fault would arise: the stream as each frame enters the
camera's buffer, the control channel as each command arrives, the daemon for the cable. With no
fault active a hook costs one dictionary lookup.

Each fault fires at its *opportunities* (a frame, a command): on every ``every``-th one, with
``probability`` (a generator seeded with ``seed``: reproducible), only inside the device-time
window ``[start_ns, end_ns)``, at most ``count`` times (None: until cleared). Each firing is an
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
class FaultKind:
    where: str                    # whose opportunity it fires on: stream, control, device
    does: str                     # what the host sees (for docs, `fault list` and errors)
    params: dict[str, float]      # parameter name -> default


KINDS: dict[str, FaultKind] = {
    "failed_buffer": FaultKind(
        STREAM, "the frame's trailer says DATA_DISCARDED (0xA100) instead of SUCCESS", {}),
    "dropped_frame": FaultKind(
        STREAM, "the frame never leaves the camera: the host sees a block-id gap", {}),
    "truncated_payload": FaultKind(
        STREAM, "the payload stops after `fraction` of it; the trailer gives the short valid "
                "size and DATA_OVERRUN", {"fraction": 0.5}),
    "delayed_trailer": FaultKind(
        STREAM, "the frame's trailer leaves `delay_ms` late", {"delay_ms": 100.0}),
    "slow_link": FaultKind(
        STREAM, "the frame's payload goes out at `rate_mb_s` (MB/s) instead of the readout's "
                "pace", {"rate_mb_s": 10.0}),
    "stream_stall": FaultKind(
        STREAM, "the stream endpoint halts: every stream transfer, the waiting ones too, fails "
                "with EPIPE until the host clears the halt", {}),
    "busy": FaultKind(CONTROL, "the command is answered GenCP BUSY and not carried out", {}),
    "status": FaultKind(
        CONTROL, "a command on `address` (every address: -1) is answered with GenCP status "
                 "`status` and not carried out", {"status": 0x8FFF, "address": -1}),
    "delayed_ack": FaultKind(CONTROL, "the command's ack comes `delay_ms` late",
                             {"delay_ms": 100.0}),
    "pending_ack_storm": FaultKind(
        CONTROL, "`pendings` PENDING_ACKs (each announcing `timeout_ms`) before the real ack",
        {"pendings": 5, "timeout_ms": 50.0}),
    "late_ack": FaultKind(
        CONTROL, "the ack comes `delay_ms` late without a PENDING_ACK, beyond the device's "
                 "maximum response time: the host times out and retries", {"delay_ms": 600.0}),
    "disconnect": FaultKind(
        DEVICE, "the cable drops (mid-stream if streaming); it is back after `replug_ms` "
                "(0: stays out until replugged)", {"replug_ms": 1000.0}),
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
        if self.kind not in KINDS:
            raise ValueError(f"no fault kind {self.kind!r} (kinds: {', '.join(KINDS)})")
        unknown = set(self.params) - set(KINDS[self.kind].params)
        if unknown:
            raise ValueError(f"{self.kind} takes no {', '.join(sorted(unknown))} (it takes: "
                             f"{', '.join(KINDS[self.kind].params) or 'nothing'})")

    def param(self, name: str) -> float:
        return self.params.get(name, KINDS[self.kind].params[name])


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
            if not accept(active.fault) or not active.fires(now_ns):
                continue
            fired.append(active.fault)
            self.emit(FaultFired(now_ns, active.id, active.fault.kind, active.opportunities))
            if active.spent:
                del self._active[active.id]
                self._index()
        return fired
