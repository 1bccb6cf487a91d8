"""One camera's telemetry: the one snapshot type that ``status``, the CLI and (later) MQTT
report. Every counter the camera, its stream, its acquisition and its transport keep is in it
(``stream`` and ``acquisition`` carry their whole counter sets), so nothing counted is left
out of what a harness can see. Counters count from the daemon's start, through the camera's
reboots (DeviceReset, replug)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CameraTelemetry:
    serial: str
    guid: str
    devnode: str | None             # None while unplugged
    plugged: bool
    reenumerating: bool             # a DeviceReset: off the bus and back, not yet back
    clients: int
    acquiring: bool
    streaming: bool
    fps: float                      # frames sent per second, recent window
    mb_per_s: float                 # stream bytes sent per second, recent window
    resulting_frame_rate: float     # what the settings allow (ResultingFrameRate)
    link_throughput_mb_s: float     # DeviceLinkCurrentThroughput
    temperature_c: float            # DeviceTemperature, Coreboard
    temperature_state: str
    frames_started: int
    frames_sent: int
    frames_dropped: int             # the sum of the causes below
    dropped_buffer_full: int
    dropped_not_streaming: int
    dropped_daemon_overload: int
    dropped_fault: int
    frames_failed: int              # the host got them failed: aborted (a stream reset or halt,
                                    # a frame not built) or sent with a failed trailer
    buffered_frames: int
    overtriggers: int
    events_sent: int
    events_dropped: int
    behind_real_time: bool
    behind_ms: float
    trailer_lateness_ms: dict
    # The daemon's clock (time.monotonic) when the device clock read 0: a device timestamp
    # t (ns) in an observation happened at epoch_monotonic + t / 1e9.
    epoch_monotonic: float
    stream: dict = field(default_factory=dict)        # every StreamStats counter
    acquisition: dict = field(default_factory=dict)   # every AcquisitionStats counter
    realtime: dict = field(default_factory=dict)
    transport: dict = field(default_factory=dict)
    usbfs_memory: dict = field(default_factory=dict)  # the limit every node shares
    faults: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)
