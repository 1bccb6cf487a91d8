"""What the camera did, as typed observations for a test harness (the harness's observation
stream): output and input line edges, device events (whether or not the host enabled them),
acquisition starts and stops, frames sent and frames lost with their cause, feature writes,
temperature states and reboots, each with the device time in nanoseconds.

The camera appends them to one bounded queue that its driver drains with ``next_event()``
(aioquic's shape: no callbacks run on whatever thread called the camera). A full queue drops
the newest observation and counts it; the next one drained after that is an
``ObservationsLost`` saying how many, so nothing is lost silently.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import ClassVar

# Observations the camera holds until its driver drains them (the daemon drains every wake).
QUEUE_LENGTH = 65_536


@dataclass(frozen=True)
class Observation:
    kind: ClassVar[str] = "observation"
    timestamp_ns: int

    def as_dict(self) -> dict:
        """JSON-ready: ``{"event": kind, field: value, ...}``."""
        return {"event": self.kind, **asdict(self)}


@dataclass(frozen=True)
class LineEdge(Observation):
    """A line changed level: an output the camera drives, or an input as the camera sees it
    (after the debouncer and the inverter)."""
    kind: ClassVar[str] = "line_edge"
    line: str
    level: bool
    output: bool = True


@dataclass(frozen=True)
class DeviceEvent(Observation):
    """An EventSelector event (or the GenCP test event, name "Test") happened; ``sent`` says
    whether it went to the host (EventNotification On and the event channel enabled)."""
    kind: ClassVar[str] = "device_event"
    name: str
    frame_id: int | None
    sent: bool


@dataclass(frozen=True)
class AcquisitionChanged(Observation):
    kind: ClassVar[str] = "acquisition"
    acquiring: bool


@dataclass(frozen=True)
class FrameSent(Observation):
    """A frame's trailer went to the host (at ``timestamp_ns``). ``frame_timestamp_ns``: the
    frame's own timestamp (its exposure start, as in its leader and chunk); ``size``: payload
    bytes; ``trigger_source``: what started it ("FreeRun", "Software", "Line1", ...);
    ``status``: its trailer's status (SUCCESS, or DATA_OVERRUN / DATA_DISCARDED: the host
    gets a failed buffer)."""
    kind: ClassVar[str] = "frame_sent"
    block_id: int
    frame_timestamp_ns: int
    size: int
    trigger_source: str
    status: str = "SUCCESS"


@dataclass(frozen=True)
class FrameDropped(Observation):
    """Frames lost: ``cause`` is buffer_full, not_streaming, aborted (stream reset, halt or
    a frame that could not be built) or daemon_overload (the simulator fell behind: when it
    skipped ahead of a backlog, ``block_id`` is None and ``count`` says how many; or its
    buffer filled while the host waited for a frame still being rendered)."""
    kind: ClassVar[str] = "frame_dropped"
    block_id: int | None
    cause: str
    count: int = 1


@dataclass(frozen=True)
class FeatureWritten(Observation):
    """A feature was written (a command executed: value 1), by the host or the harness."""
    kind: ClassVar[str] = "feature_written"
    name: str
    instance: str | int | None
    value: object
    by: str


@dataclass(frozen=True)
class TemperatureChanged(Observation):
    kind: ClassVar[str] = "temperature_state"
    state: str
    celsius: float


@dataclass(frozen=True)
class Rebooted(Observation):
    """The camera booted (power-up, replug, DeviceReset); its clock restarts at zero."""
    kind: ClassVar[str] = "rebooted"
    cause: str


@dataclass(frozen=True)
class PlugChanged(Observation):
    """The cable was pulled (the camera lost power: it is powered from USB) or put back."""
    kind: ClassVar[str] = "plug"
    plugged: bool


@dataclass(frozen=True)
class ClientChanged(Observation):
    """A host program opened the camera's device node (its first request) or is gone;
    ``clients``: how many have it open now."""
    kind: ClassVar[str] = "client"
    attached: bool
    clients: int


@dataclass(frozen=True)
class ObservationsLost(Observation):
    """The queue was full: this many observations before this one were dropped."""
    kind: ClassVar[str] = "observations_lost"
    count: int


class ObservationQueue:
    """Bounded FIFO of observations; overflow drops the newest and is reported in-band, in
    order: after the observations kept before it, before any kept after it."""

    def __init__(self, limit: int = QUEUE_LENGTH):
        self._queue: deque[Observation] = deque()
        self.limit = limit
        self.lost = 0          # dropped and not yet reported
        self.lost_total = 0

    def emit(self, observation: Observation) -> None:
        if len(self._queue) >= self.limit:
            self.lost += 1
            self.lost_total += 1
            return
        if self.lost:
            self._queue.append(ObservationsLost(observation.timestamp_ns, self.lost))
            self.lost = 0
        self._queue.append(observation)

    def __len__(self) -> int:
        return len(self._queue) + (1 if self.lost else 0)

    def next_event(self) -> Observation | None:
        """The oldest observation, or None when there is none."""
        if self._queue:
            return self._queue.popleft()
        if self.lost:
            lost, self.lost = self.lost, 0
            return ObservationsLost(0, lost)
        return None
