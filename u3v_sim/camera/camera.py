"""The simulated acA4096-40um: features, register space and what its commands do.

Transport-agnostic: a transport (or a test) hands it register reads and writes together with
the current time ``now`` (seconds, any monotonic origin); the camera never looks at a clock.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import struct
from collections import deque
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from u3v_features import acA4096_40um as table
from u3v_features.bootstrap import ABRM, FEATURE_BASE, FEATURE_LIMIT
from u3v_features.layout import Layout, build_layout
from u3v_features.model import (BOOLEAN, COMMAND, ENUMERATION, FLOAT, INTEGER, REGISTER, STRING,
                                Feature)
from u3v_features.xmlgen import build_xml, build_zip

from .. import faults as fl
from ..protocol import event as ep
from ..protocol.gencp import ProtocolError, Status
from . import timing
from .acquisition import Acquisition, FrameRecord
from .auto_functions import AutoFunctions
from .blocks import BlockBuilder, image_settings
from .bootstrap import (StoredRegister, abrm_region, eirm_region, file_region, manifest_region,
                        sbrm_region)
from .feature_registers import encode, feature_fields
from .file_access import FileAccess
from .features import FeatureStore
from .lines import DriveResult, Lines
from .observations import (DeviceEvent, FeatureWritten, FrameDropped, Observation,
                           ObservationQueue, Rebooted, TemperatureChanged)
from .realtime import RealTimeLimit
from .registers import RegisterSpace, Region
from .scheduler import Scheduler
from .sequencer import Sequencer
from .stream_interface import CHUNK_TRAILER_SIZE, TRAILER_SIZE, StreamInterface
from .streaming import StreamChannel
from .thermal import Thermal
from .user_sets import UserSetStorage, check_sets

# How long the device is busy with slow commands (hosts get a PENDING_ACK meanwhile). Chosen.
USER_SET_SAVE_S = 0.25
USER_SET_LOAD_S = 0.15
# Event packets waiting for the host on the event endpoint (older ones are dropped).
EVENT_QUEUE_LENGTH = 256


class FeatureWriteError(ValueError):
    """A by-name access the camera refuses (``Camera.write_feature``, ``read_feature``,
    ``execute``); the message names the feature, the value and why; ``status`` is the GenCP
    status name where the device itself refused (a host would have had it too)."""

    def __init__(self, message: str, status: str | None = None):
        super().__init__(message)
        self.status = status


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
                         r"|[+-]?(nan|inf|infinity)", re.IGNORECASE)


def _lut_words(store: FeatureStore) -> bytes:
    """LUTValueAll: the table as 4,096 little-endian u32, LUTValue at each of LUTIndex's
    steps, 0 between (the layout real ace USB saved files show)."""
    words = [0] * table.LUT_ENTRIES
    for index in store.instances("LUTValue"):
        words[index] = store.get("LUTValue", index)
    return struct.pack(f"<{table.LUT_ENTRIES}I", *words)


def _write_lut_words(store: FeatureStore, offset: int, data: bytes) -> float:
    """A piece of LUTValueAll: the words at LUTIndex's steps set LUTValue (each 0..4095, or
    INVALID_PARAMETER and nothing changes); the words between are not used."""
    first = offset // 4
    words = struct.unpack(f"<{len(data) // 4}I", data)
    used = {first + i: w for i, w in enumerate(words) if (first + i) % table.LUT_STEP == 0}
    top = store.bound("LUTValue", "max")
    bad = [(i, w) for i, w in used.items() if w > top]
    if bad:
        raise ProtocolError(Status.INVALID_PARAMETER,
                            f"LUTValueAll: entry {bad[0][0]} = {bad[0][1]} above {top}")
    for index, word in used.items():
        store.values[("LUTValue", index)] = word
    return 0.0


def _shown(f: Feature, value: object) -> object:
    """A feature's value as by-name access gives it: a register's bytes in hex, "0x...", as
    pylon saves them (what ``_coerce`` takes back)."""
    return "0x" + value.hex() if f.kind == REGISTER else value


def _coerce(f: Feature, value: object, shown: str) -> object:
    """``value`` as the Python value of a feature of f's kind, or FeatureWriteError."""
    def refuse(expected: str):
        raise FeatureWriteError(f"{shown}: {f.name} is {f.kind}, {expected}")
    if f.kind == INTEGER:
        if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            refuse("give an integer (or a decimal string)")
        return value
    if f.kind == FLOAT:
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            refuse("give a number (or a decimal string)")
        return float(value)
    if f.kind == BOOLEAN:
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        refuse("give true or false")
    if f.kind == REGISTER:   # (bytes, or their hex as pylon saves them: "0x...")
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str) and re.fullmatch(r"0x([0-9a-fA-F]{2})*", value.strip()):
            return bytes.fromhex(value.strip()[2:])
        refuse("give its bytes in hex (0x...)")
    names = [e.name for e in f.entries]
    if f.kind == ENUMERATION:
        if not isinstance(value, str) or value not in names:
            refuse(f"give one of {', '.join(names)}")
        return value
    if not isinstance(value, str) or "\0" in value:
        refuse("give a text without NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate (JSON "\ud800"): no register holds it
        refuse("give a text that is valid Unicode (UTF-8)")
    return value


@lru_cache(maxsize=1)
def genicam_files() -> tuple[Layout, bytes, bytes]:
    """The register layout, the XML and its ZIP: generated once per process."""
    layout = build_layout(table.FEATURES)
    xml = build_xml(table.FEATURES, table.CATEGORIES, layout)
    return layout, xml, build_zip(xml)


class Camera:
    def __init__(self, serial: str = "40000001", user_id: str = "", now: float = 0.0,
                 state_dir: Path | None = None, generator=None, noise: bool = True,
                 stress: bool = False, seed: int = 0):
        self.layout, self.xml, self.genicam_zip = genicam_files()
        self.serial = serial
        self.seed = seed
        # Stress mode lifts the sensor-readout and USB-link ceilings (off: realism first).
        self.stress = stress
        # Called after DeviceReset: a transport re-enumerates the device, as a real one does.
        self.reset_listeners: list = []
        # Called on AcquisitionStart: a daemon prepares the frame generator ahead of frames.
        self.start_listeners: list = []
        self.epoch = now
        self.now = now
        self.latched_timestamp = 0
        # What the camera did, for a test harness (``next_event``); kept across reboots.
        self.observations = ObservationQueue()
        self.emit = self.observations.emit
        # Faults a harness injected (faults.py); the stream's are applied in _frame_done.
        self.faults = fl.FaultPlan(self.emit)
        self.stall_requested = False   # stream_stall fired: the USB device halts the endpoint
        # Who writes features now: "host" (register writes) or "harness" (by name).
        self._writer = "host"
        self.event_packets: deque[bytes] = deque(maxlen=EVENT_QUEUE_LENGTH)
        # Event packets sent to the host, and dropped because it read them too slowly (the
        # oldest go, as a real camera's event queue overflows).
        self.events_sent = self.events_dropped = 0
        self._event_request_id = 0
        self.user_sets = UserSetStorage(state_dir)
        check_sets(self.user_sets, table.FEATURES, table.USER_SETS, table.USER_SET_FEATURES,
                   tuple(table.FACTORY_SETS))
        self.files = FileAccess(self.user_sets.path.parent if self.user_sets.path else None,
                                lambda name: self.user_sets.sets.get(name))
        self.device_configuration = StoredRegister(8, valid=lambda v: v == 0)
        self.u3vcp_configuration = StoredRegister(8)
        self.event_control = StoredRegister(4, valid=lambda v: v in (0, 1))
        self.event_test = StoredRegister(4, valid=lambda v: v in (0, 1))
        self.thermal = Thermal(time=now)
        self.temperature_state = self.thermal.state()
        self.scheduler = Scheduler(now)
        # Set by a driver on a real clock (the daemon): skip ahead instead of working through a
        # backlog when far behind. None (a virtual clock): every action runs, exactly.
        self.realtime: RealTimeLimit | None = None
        self.store = self._new_store(user_id)
        self._new_engine()
        self.stream = StreamInterface(self.payload_size, self.trailer_size)
        self.blocks = BlockBuilder(self.stream, generator, noise)
        self.stream_channel = StreamChannel(self.stream, self.blocks.build,
                                            self.blocks.payload_size, self.emit,
                                            self.timestamp_ns)
        self.space = self._register_space()

    def _new_engine(self) -> None:
        # Block id from which the moving test images count their frames (TestImageResetAndHold
        # released there).
        self.test_image_origin = 0
        self.test_image_held = False
        previous = getattr(self, "acquisition", None)
        self.lines = Lines(self.scheduler, self.store, self.timestamp_at, self.emit, self.seed)
        self.acquisition = Acquisition(self.store, self.scheduler, self.lines,
                                       self.frame_timing, self.timestamp_at,
                                       self.frame_settings, self.raise_event, self._frame_done,
                                       self.emit)
        if previous is not None:   # (counted for the camera's life, as the stream's are)
            self.acquisition.stats = previous.stats
        self.auto = AutoFunctions(self.store, self._measure, self.emit, self.timestamp_ns)
        self.sequencer = Sequencer(self.store, self.acquisition, self.lines)

    def next_event(self) -> Observation | None:
        """The oldest observation not yet taken (``observations.py``), or None."""
        return self.observations.next_event()

    def take_observations(self) -> list[Observation]:
        """Every observation not yet taken, oldest first."""
        taken = []
        while (observation := self.next_event()) is not None:
            taken.append(observation)
        return taken

    # -- time --------------------------------------------------------------------------------

    def timestamp_at(self, t: float) -> int:
        """The device clock at time t: nanoseconds since power-up."""
        return max(0, round((t - self.epoch) * 1e9))

    def timestamp_ns(self) -> int:
        return self.timestamp_at(self.scheduler.time)

    def latch_timestamp(self) -> None:
        self.latched_timestamp = self.timestamp_ns()

    def advance(self, now: float) -> None:
        """Run everything the camera does up to ``now`` (within ``self.realtime``'s limits
        when set: see ``realtime.py``)."""
        self.thermal_check(now)
        if self.realtime is None:
            self.scheduler.run_until(now)
        else:
            self.realtime.advance(self.scheduler, now, self._skipped_ahead)
        self.now = now

    def _skipped_ahead(self, lag_s: float) -> int:
        """The scheduler postponed everything by ``lag_s``: the frames free run would have
        started meanwhile are lost (cause daemon_overload)."""
        frames = self.acquisition.frames_due_in(lag_s)
        self.acquisition.shift(lag_s)
        self.stream_channel.stats.frames_dropped_daemon_overload += frames
        if frames:
            self.emit(FrameDropped(self.timestamp_ns(), None, "daemon_overload", frames))
        return frames

    def next_deadline(self) -> float | None:
        """When the camera next has something to do, or more of a frame to send."""
        due = self.scheduler.next_deadline()
        data = self.stream_channel.next_data_time()
        if data is not None and data > self.now:
            due = data if due is None else min(due, data)
        return due

    # -- register access (what the control channel calls) --------------------------------------

    def read(self, address: int, length: int, now: float) -> bytes:
        self.advance(now)
        return self.space.read(address, length)

    def write(self, address: int, data: bytes, now: float) -> float:
        self.advance(now)
        busy = self.space.write(address, data)
        self.acquisition.settings_changed()
        return busy

    def _feature(self, name: str) -> Feature:
        f = self.store.features.get(name)
        if f is None:
            close = difflib.get_close_matches(name, self.store.features, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise FeatureWriteError(f"{name}: the camera has no such feature{hint}")
        if f.host_local:
            raise FeatureWriteError(f"{name} is kept by each host's node map (it picks which "
                                    f"chunk data that host reads), not by the camera")
        return f

    @contextmanager
    def _selected(self, f: Feature, instance: str | int | None, now: float):
        """A context in which f's selector reads ``instance`` (a harness naming the selector
        entry), restored after: the host sees no change (callers hold the camera's lock)."""
        if instance is None:
            yield
            return
        if f.selected_by is None:
            raise FeatureWriteError(f"{f.name}: not selected by any selector; give no selector")
        before = self.store.get(f.selected_by)
        if instance != before:
            self.write_feature(f.selected_by, instance, now)
        try:
            yield
        finally:
            if instance != before:
                self.write_feature(f.selected_by, before, now)

    def read_feature(self, name: str, now: float, instance: str | int | None = None) -> object:
        """A feature's value by name at ``now`` (its current selector instance, or
        ``instance``), as GenApi would read it: enumerations as entry names. Chunk and event
        data (read from frames and events), commands and unavailable features are refused
        with FeatureWriteError."""
        f = self._feature(name)
        if f.kind == COMMAND:
            raise FeatureWriteError(f"{name} is a command: execute it, it has no value")
        if f.data_port is not None:
            raise FeatureWriteError(f"{name} is read from each {'frame' if f.chunk_id else 'event'}"
                                    f"'s data, not from the camera's registers")
        self.advance(now)
        with self._selected(f, instance, now):
            if not self.store.is_available(name):
                raise FeatureWriteError(f"{name} is not available now (ACCESS_DENIED)")
            return _shown(f, self.store.get(name))

    def execute(self, name: str, now: float, instance: str | int | None = None) -> float:
        """Execute a command feature by name at ``now`` (for its selector ``instance`` if
        given), through the register write a host makes: checked and refused alike
        (FeatureWriteError). Returns how long the device is busy (s)."""
        f = self._feature(name)
        if f.kind != COMMAND:
            raise FeatureWriteError(f"{name} is a setting, not a command")
        register = self.layout.value_register(name)
        with self._selected(f, instance, now):
            try:
                self._writer = "harness"
                return self.write(register.address, encode(register, f, 1), now)
            except ProtocolError as refusal:
                why = str(refusal).removeprefix(f"{name}: ")
                raise FeatureWriteError(f"{name}: {why} ({refusal.status.name})",
                                        refusal.status.name) from None
            finally:
                self._writer = "host"

    def write_feature(self, name: str, value: object, now: float,
                      instance: str | int | None = None) -> object:
        """Write a feature by name, as a host's GenApi would: ``value`` is coerced by the
        feature's kind (Integer: int or decimal string; Float: number or decimal string;
        Boolean: bool, 0/1 or "true"/"false"; Enumeration: an entry's name; String: str up to
        the register's length), encoded as the register holds it and written through
        ``write``, so the device's own checks (range, increment, writability, locks) and the
        acquisition's reaction apply. Commands, read-only and chunk features are refused.
        ``instance``: the selector entry to write (the selector is restored after).

        Returns the value the feature (current selector instance) holds afterwards; raises
        FeatureWriteError naming the feature, the value and why (``status``: the GenCP
        status a host would get, where the device refused)."""
        f = self._feature(name)
        if instance is not None:
            with self._selected(f, instance, now):
                return self.write_feature(name, value, now)
        shown = f"{name} = {value!r}"
        if f.kind == COMMAND:
            raise FeatureWriteError(f"{shown}: {name} is a command, not a setting")
        register = self.layout.value_register(name)
        if f.access == "RO" or f.data_port is not None or register is None:
            # (a host writing its register gets WRITE_PROTECT)
            raise FeatureWriteError(f"{shown}: {name} is read-only", "WRITE_PROTECT")
        coerced = _coerce(f, value, shown)
        if f.kind == INTEGER:  # encode() would wrap a number the register cannot hold
            bits = register.length * 8
            lowest, top = (-(1 << bits - 1), 1 << bits - 1) if register.signed else (0, 1 << bits)
            if not lowest <= coerced < top:   # (no register write expresses it: refused as
                raise FeatureWriteError(          # the device refuses a value out of range)
                    f"{shown}: outside {name}'s range {self.store.bound(name, 'min')}.."
                    f"{self.store.bound(name, 'max')}", "INVALID_PARAMETER")
        try:
            data = encode(register, f, coerced)
        except (struct.error, OverflowError):  # a float beyond a 4-byte register
            raise FeatureWriteError(f"{shown}: outside {name}'s register",
                                    "INVALID_PARAMETER") from None
        if f.kind == STRING and len(coerced.encode()) > register.length:
            raise FeatureWriteError(f"{shown}: longer than {register.length} bytes (UTF-8)")
        try:
            self._writer = "harness"
            self.write(register.address, data, now)
        except ProtocolError as refusal:
            why = str(refusal).removeprefix(f"{name}: ")
            depends = [b for b in (f.minimum, f.maximum) if isinstance(b, str)]
            hint = (f"; the range depends on {', '.join(depends)} (settings are written in "
                    f"order)" if depends and "imum" in why else "")
            raise FeatureWriteError(f"{shown}: {why} ({refusal.status.name}){hint}",
                                    refusal.status.name) from None
        finally:
            self._writer = "host"
        return _shown(f, self.store.get(name))

    def apply_features(self, settings: dict[str, object], now: float) -> None:
        """Write ``settings`` ({feature: value}) in order with ``write_feature``, then check
        that no later write changed an earlier one (a smaller Width bound, CenterX forcing
        OffsetX): the camera ends up with every value as given, or FeatureWriteError."""
        written = []
        for name, value in settings.items():
            instance = self.store.current_instance(name) if name in self.store.features \
                else None
            written.append((name, instance, value, self.write_feature(name, value, now)))
        for name, instance, value, held in written:
            now_held = self.store.get(name, instance)
            if now_held != held:
                raise FeatureWriteError(
                    f"{name} = {value!r}: a later setting changed it to {now_held!r} "
                    f"(settings are written in order: move it after the ones it depends on)")

    # -- the outside world -------------------------------------------------------------------

    def drive_line(self, line: str, now: float, *, level: bool | None = None,
                   voltage: float | None = None) -> DriveResult:
        """Apply a logic level or a voltage to an input line at time ``now``."""
        self.advance(now)
        return self.lines.drive(line, level=level, voltage=voltage)

    def pulse_train(self, line: str, now: float, *, width_s: float, period_s: float,
                    count: int = 1, delay_s: float = 0.0, level: bool = True) -> float:
        """Drive ``count`` pulses of ``level`` on an input, ``width_s`` long, one every
        ``period_s``, the first ``delay_s`` after ``now``: each edge at its own device time
        (the scheduler), never by a driver sleeping. Returns the device time (s) of the last
        edge. LineError if the line cannot be driven."""
        self.advance(now)
        return self.lines.pulse_train(line, now + delay_s, width_s, period_s, count, level)

    def device_fault(self, fault: fl.Fault, now: float) -> None:
        """A device fault that fired (faults.py): the camera overheats, an input chatters for
        a while (an undefined voltage, then low), or a GPIO output overloads. LineError if
        that line cannot be driven now (an output) or overloaded (an input)."""
        if fault.kind == "overheat":
            self.set_ambient_offset(fault.param("ambient_offset_c"), now)
        elif fault.kind == "line_chatter":
            line = f"Line{int(fault.param('line'))}"
            undefined_v = 1.8 if line in table.OPTO_LINES else 1.4   # between the thresholds
            self.advance(now)
            self.lines.chatter_for(line, fault.param("duration_ms") / 1e3, undefined_v)
        elif fault.kind == "line_overload":
            self.advance(now)
            self.lines.overload_output(f"Line{int(fault.param('line'))}")

    def set_ambient_offset(self, degrees_c: float, now: float) -> None:
        self.advance(now)
        self.thermal.ambient_offset_c = degrees_c
        self.thermal_check(now)

    def read_stream(self, length: int, now: float):
        """One host IN transfer on the stream endpoint (None: nothing to send yet)."""
        self.advance(now)
        return self.stream_channel.read(length, now)

    def read_event(self, now: float) -> bytes | None:
        self.advance(now)
        if not self.event_packets:
            return None
        self.events_sent += 1
        return self.event_packets.popleft()

    def clear_stream_halt(self) -> None:
        self.stream_channel.reset()

    # -- derived state -------------------------------------------------------------------------

    def payload_size(self) -> int:
        return self.store.get("PayloadSize")

    def trailer_size(self) -> int:
        return CHUNK_TRAILER_SIZE if self.store.get("ChunkModeActive") else TRAILER_SIZE

    def frame_timing(self) -> timing.FrameTiming:
        s = self.store
        limited = s.get("DeviceLinkThroughputLimitMode", 0) == "On"
        return timing.frame_timing(
            height=s.get("Height"), binning_vertical=s.get("BinningVertical"),
            exposure_us=s.get("ExposureTime") if s.get("ExposureMode") == "Timed" else 0.0,
            payload_size=self.payload_size(),
            throughput_limit=s.get("DeviceLinkThroughputLimit", 0) if limited else None,
            frame_rate_limit=(s.get("AcquisitionFrameRate")
                              if s.get("AcquisitionFrameRateEnable") else None),
            unlimited=self.stress)

    def frame_settings(self) -> dict:
        """The settings a frame is taken with, captured when its exposure starts."""
        s = self.store
        names = ("Width", "Height", "OffsetX", "OffsetY", "BinningHorizontal",
                 "BinningVertical", "BinningHorizontalMode", "BinningVerticalMode", "ReverseX",
                 "ReverseY", "PixelFormat", "ExposureTime", "Gamma",
                 "DigitalShift", "TestImageSelector", "ChunkModeActive", "PayloadSize")
        settings = {name: s.get(name) for name in names}
        settings["Gain"] = s.get("Gain", "All")
        settings["BlackLevel"] = s.get("BlackLevel", "All")
        settings["ChunksEnabled"] = tuple(
            chunk for chunk in table.CHUNKS if s.get("ChunkEnable", chunk))
        # How far the moving test images have moved: held at their start, or counting frames.
        settings["TestImageFrame"] = (0 if s.get("TestImageResetAndHold") else
                                      self.acquisition.next_block_id - self.test_image_origin)
        settings["SequencerSetActive"] = self.sequencer.active
        settings["LUT"] = (tuple(s.get("LUTValue", i) for i in s.instances("LUTValue"))
                           if s.get("LUTEnable", "Luminance") else None)
        # What the sensor sees now: the frame shows it, however late it is rendered.
        source = getattr(self.blocks.generator, "source", None)
        if source is not None:
            settings["ImageSource"] = source
        return settings

    def thermal_check(self, now: float) -> None:
        """Follow the temperature to ``now``; crossing into Critical or Error raises events."""
        before = self.temperature_state
        self.thermal.advance(now, self.acquisition.acquiring)
        self.temperature_state = self.thermal.state()
        if self.temperature_state != before:
            self.emit(TemperatureChanged(self.timestamp_at(now), self.temperature_state,
                                         round(self.thermal.temperature("Coreboard"), 2)))
        if self.temperature_state == "Critical" and before == "Ok":
            self.raise_event("CriticalTemperature", 0)
        elif self.temperature_state == "Error" and before != "Error":
            self.raise_event("OverTemperature", 0)

    # -- events --------------------------------------------------------------------------------

    def raise_event(self, name: str, frame_id: int) -> None:
        """An EventSelector event happened now: queue its EVENT_CMD if the host enabled it.
        Its data is the frame id for the events that carry one (table.EVENTS_WITH_FRAME_ID).
        Observed (``next_event``) whether or not it is sent."""
        with_id = name in table.EVENTS_WITH_FRAME_ID
        timestamp = self.timestamp_ns()
        notify = self.store.get("EventNotification", name) == "On"
        sent = notify and self.channel_enabled
        self.emit(DeviceEvent(timestamp, name, frame_id if with_id else None, sent))
        if sent:
            data = struct.pack("<Q", frame_id) if with_id else b""
            self._queue_event(table.EVENT_IDS[name], timestamp, data)

    @property
    def channel_enabled(self) -> bool:
        """The host enabled the event channel (EIRM EI Control bit 0)."""
        return bool(self.event_control.value & 1)

    def _queue_event(self, event_id: int, timestamp: int, data: bytes) -> None:
        if not self.channel_enabled:
            return  # the host has not enabled the event channel
        if len(self.event_packets) == self.event_packets.maxlen:
            self.events_dropped += 1
        self._event_request_id = self._event_request_id % 0xFFFF + 1
        self.event_packets.append(ep.event_packet(self._event_request_id, event_id, timestamp,
                                                  data))

    def _write_event_test(self, data: bytes) -> float:
        self.event_test.write(data)
        if self.event_test.value & 1:
            timestamp = self.timestamp_ns()
            self.emit(DeviceEvent(timestamp, "Test", None, self.channel_enabled))
            self._queue_event(ep.TEST_EVENT_ID, timestamp, b"")
            self.event_test.value = 0
        return 0.0

    def snapshot_record(self) -> FrameRecord:
        """A frame taken now with the current settings (for snapshots; no acquisition)."""
        s = self.store
        return FrameRecord(block_id=self.acquisition.next_block_id, start_time=self.now,
                           timestamp_ns=self.timestamp_ns(), exposure_us=s.get("ExposureTime"),
                           gain_db=s.get("Gain", "All"), line_status_all=self.lines.status_all(),
                           counter_values=tuple(self.acquisition.counters.values()),
                           settings=self.frame_settings())

    def _measure(self, record: FrameRecord, region: tuple[int, int, int, int]) -> float:
        """The mean gray value (0..1 of full scale) of the frame ``record`` in ``region``
        (x, y, width, height of the image), as its image source shows it."""
        measure = getattr(self.blocks.generator, "mean_level", None)
        if measure is None:   # (a test's byte-pattern generator: no scene to measure)
            return self.store.get("AutoTargetBrightness")
        x, y, w, h = region
        settings = dataclasses.replace(image_settings(record.settings, noise=False),
                                       offset_x=x, offset_y=y, width=w, height=h)
        return measure(settings, record.block_id, record.timestamp_ns,
                       record.settings.get("ImageSource"))

    def _frame_done(self, record: FrameRecord) -> None:
        """A frame's exposure ended: the auto functions read it; then into the camera's
        buffer, as the faults allow."""
        self.auto.frame_done(record)
        fired = self.faults.fire(fl.STREAM, self.timestamp_ns())
        for fault in fired:
            if fault.kind == "dropped_frame":
                self.stream_channel.stats.frames_dropped_fault += 1
                self.emit(FrameDropped(self.timestamp_ns(), record.block_id, "fault"))
                return
            if fault.kind == "stream_stall":
                self.stall_requested = True
            else:
                record.faults[fault.kind] = fault
        self.stream_channel.push(record)

    # -- construction --------------------------------------------------------------------------

    def _new_store(self, user_id: str) -> FeatureStore:
        store = FeatureStore(table.FEATURES, initial={"DeviceSerialNumber": self.serial,
                                                      "DeviceUserID": user_id})
        frame = self.frame_timing
        store.providers.update({
            "DeviceTemperature": self.thermal.temperature,
            "TemperatureState": lambda _: self.thermal.state(),
            "DeviceLinkSpeed": lambda _: timing.LINK_SPEED_BYTES_PER_S,
            "DeviceLinkCurrentThroughput":
                lambda _: round(self.payload_size() * frame().frame_rate),
            "TimestampLatchValue": lambda _: self.latched_timestamp,
            "ResultingFrameRate": lambda _: frame().frame_rate,
            "SensorReadoutTime": lambda _: frame().readout_us,
            "AcquisitionStatus": lambda which: self.acquisition.status(which),
            "AcquisitionActive": lambda _: self.acquisition.acquiring,
            "LineStatus": lambda line: self.lines.status(line),
            "LineStatusAll": lambda _: self.lines.status_all(),
            "LineOverloadStatus": lambda line: self.lines.overloaded(line),
            "LUTValueAll": lambda _: _lut_words(store),
            "SequencerSetActive": lambda _: self.sequencer.active,
            "FileAccessBuffer": lambda _: bytes(self.files.buffer),
            "FileOperationStatus": lambda _: self.files.status,
            "FileOperationResult": lambda _: self.files.result,
            "FileSize": lambda name: self.files.size(name),
            "SIPayloadTransferSize": lambda _: self.stream.payload_transfer_size,
            "SIPayloadTransferCount": lambda _: self.stream.payload_transfer_count,
            "SIPayloadFinalTransfer1Size": lambda _: self.stream.payload_final_transfer1_size,
            "SIPayloadFinalTransfer2Size": lambda _: self.stream.payload_final_transfer2_size,
        })
        store.register_writers["LUTValueAll"] = lambda _, offset, data: _write_lut_words(
            store, offset, data)
        store.register_writers["FileAccessBuffer"] = lambda _, offset, data: \
            self.files.write_buffer(offset, data)
        missing = [f.name for f in table.FEATURES if f.provided and f.name not in store.providers]
        if missing:
            raise RuntimeError(f"no provider for {missing}")
        store.actions.update({
            "AcquisitionStart": self._acquisition_start,
            "AcquisitionStop": lambda _: self.acquisition.stop() or 0.0,
            "TriggerSoftware": lambda selector: self.acquisition.software_trigger(selector)
            or 0.0,
            "SoftwareSignalPulse": lambda signal: self.acquisition.software_signal(signal)
            or 0.0,
            "CounterReset": lambda counter: self.acquisition.reset_counter(counter) or 0.0,
            "TimestampLatch": lambda _: self.latch_timestamp() or 0.0,
            "FileOperationExecute": lambda _: self.files.execute(
                store.get("FileOperationSelector"), store.get("FileSelector"),
                store.get("FileOpenMode"), store.get("FileAccessOffset"),
                store.get("FileAccessLength")),
            "LineOverloadReset": lambda line: self.lines.reset_overload(line) or 0.0,
            "SequencerSetSave": lambda index: self.sequencer.save(index),
            "SequencerSetLoad": lambda index: self.sequencer.load(index),
            "UserSetSave": self._user_set_save,
            "UserSetLoad": self._user_set_load,
            "DeviceReset": self._device_reset,
        })
        store.write_hooks.append(self._follow_setting)
        store.write_hooks.append(self._remember_startup_set)
        store.write_hooks.append(self._observe_write)
        startup = self.user_sets.startup_set
        store.restore(self.user_sets.sets.get(startup) or table.FACTORY_SETS.get(startup, {}))
        store.values[("UserSetDefault", None)] = self.user_sets.startup_set
        return store

    def _register_space(self) -> RegisterSpace:
        fields = feature_fields(self.store, self.layout)
        abrm_aliases = [f for f in fields if f.address < ABRM.SIZE]
        feature_registers = [f for f in fields if FEATURE_BASE <= f.address < FEATURE_LIMIT]
        end = max(f.end for f in feature_registers)
        return RegisterSpace([
            abrm_region(abrm_aliases, self.latch_timestamp, self.device_configuration),
            sbrm_region(self.u3vcp_configuration),
            self.stream.region(on_disable=self.stream_channel.reset),
            eirm_region(self.event_control, self.event_test.read, self._write_event_test),
            manifest_region(self.genicam_zip),
            file_region(self.genicam_zip),
            Region("Features", FEATURE_BASE, end - FEATURE_BASE, feature_registers),
        ])

    # -- commands ------------------------------------------------------------------------------

    def _acquisition_start(self, _instance) -> float:
        for listener in self.start_listeners:
            listener()
        self.acquisition.start()
        return 0.0

    def _user_set_save(self, name: str) -> float:
        self.user_sets.save(name, self.store.snapshot(table.USER_SET_FEATURES))
        return USER_SET_SAVE_S

    def _user_set_load(self, name: str) -> float:
        if name in table.FACTORY_SETS:
            factory = FeatureStore(table.FEATURES)
            factory.restore(table.FACTORY_SETS[name])
            self.store.restore(factory.snapshot(table.USER_SET_FEATURES))
        elif name in self.user_sets.sets:
            self.store.restore(self.user_sets.sets[name])
        return USER_SET_LOAD_S

    def _device_reset(self, _instance) -> float:
        """DeviceReset: the write is acknowledged at once (the device must answer before it
        goes: a host waiting for the ack of a device that left the bus reports a timeout),
        then the camera boots as after power-up and the transport re-enumerates it
        (``reset_listeners``)."""
        self.power_up(self.scheduler.time, cause="device_reset")
        for listener in self.reset_listeners:
            listener()
        return 0.0

    def power_off(self, now: float) -> None:
        """Unplugged (the acA4096-40um is powered from its USB port): nothing runs."""
        self.advance(now)
        self.acquisition.stop()
        self.scheduler.clear()
        self.stream_channel.reset()

    def power_up(self, now: float, cause: str = "power_up") -> None:
        """Boot as after power-on: the startup user set, acquisition stopped, stream and
        events off, the timestamp counting from zero at ``now``. What the outside world drives
        on the input lines stays; observations not yet taken stay."""
        user_id = self.store.get("DeviceUserID")
        external = self.lines.external()
        self.acquisition.stop()
        self.scheduler.clear()
        self.latched_timestamp = 0
        self.event_packets.clear()
        for register in (self.device_configuration, self.u3vcp_configuration,
                         self.event_control, self.event_test):
            register.value = 0
        self.stream.reset()
        self.stream_channel.reset()
        fresh = self._new_store(user_id)
        self.store.values = fresh.values
        self.lines.input_listeners.clear()
        self.files.open_files.clear()   # (what was open is closed; what was written stays)
        self.scheduler.time = max(self.scheduler.time, now)
        self.now = max(self.now, now)
        self.epoch = now
        self._new_engine()
        self.lines.restore_external(external)
        self.emit(Rebooted(0, cause))

    def _follow_setting(self, name: str, instance: str | None, value: object) -> None:
        """State that follows a written setting: the moving test images' start, and the user
        outputs with their summary UserOutputValueAll."""
        s = self.store
        if name in ("ExposureAuto", "GainAuto"):
            self.auto.mode_written(name)
        elif name == "TestImageResetAndHold":
            if self.test_image_held and not value:   # released: moves on from its start
                self.test_image_origin = self.acquisition.next_block_id
            self.test_image_held = bool(value)
        elif name == "UserOutputValue":
            s.values[("UserOutputValueAll", None)] = sum(
                bool(s.values[("UserOutputValue", out)]) << i
                for i, out in enumerate(table.USER_OUTPUTS))
        elif name == "UserOutputValueAll":
            for i, out in enumerate(table.USER_OUTPUTS):
                s.values[("UserOutputValue", out)] = bool(value >> i & 1)

    def _observe_write(self, name: str, instance: str | None, value: object) -> None:
        self.emit(FeatureWritten(self.timestamp_ns(), name, instance, value, self._writer))

    def _remember_startup_set(self, name: str, instance: str | None, value: object) -> None:
        if name == "UserSetDefault":
            self.user_sets.set_startup(value)
