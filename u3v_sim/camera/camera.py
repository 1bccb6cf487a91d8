"""The simulated acA4096-40um: features, register space and what its commands do.

Transport-agnostic: a transport (or a test) hands it register reads and writes together with
the current time ``now`` (seconds, any monotonic origin); the camera never looks at a clock.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from u3v_features import acA4096_40um as table
from u3v_features.bootstrap import ABRM, FEATURE_BASE, FEATURE_LIMIT
from u3v_features.layout import Layout, build_layout
from u3v_features.xmlgen import build_xml, build_zip

from . import timing
from .bootstrap import (StoredRegister, abrm_region, eirm_region, file_region, manifest_region,
                        sbrm_region)
from .feature_registers import feature_fields
from .features import FeatureStore
from .registers import RegisterSpace, Region
from .stream_interface import CHUNK_TRAILER_SIZE, TRAILER_SIZE, StreamInterface
from .user_sets import UserSetStorage

# How long the device is busy with slow commands (hosts get a PENDING_ACK meanwhile). Chosen.
USER_SET_SAVE_S = 0.25
USER_SET_LOAD_S = 0.15
DEVICE_RESET_S = 0.20
# Temperatures at rest by location (°C); chosen. Thresholds from the ace USB temperature states.
REST_TEMPERATURE_C = {"Coreboard": 42.0, "Sensorboard": 38.5}
CRITICAL_TEMPERATURE_C = 72.0
ERROR_TEMPERATURE_C = 80.0


@lru_cache(maxsize=1)
def genicam_files() -> tuple[Layout, bytes, bytes]:
    """The register layout, the XML and its ZIP: generated once per process."""
    layout = build_layout(table.FEATURES)
    xml = build_xml(table.FEATURES, table.CATEGORIES, layout)
    return layout, xml, build_zip(xml)


class Camera:
    def __init__(self, serial: str = "40000001", user_id: str = "", now: float = 0.0,
                 state_dir: Path | None = None):
        self.layout, self.xml, self.genicam_zip = genicam_files()
        self.serial = serial
        self.epoch = now
        self.now = now
        self.acquiring = False
        self.latched_timestamp = 0
        self.counters = {"Counter1": 0, "Counter2": 0}
        self.input_levels = {line: False for line in table.LINES}
        self.last_events: dict[str, tuple[int, int]] = {}
        self.user_sets = UserSetStorage(state_dir)
        self.device_configuration = StoredRegister(8, valid=lambda v: v == 0)
        self.u3vcp_configuration = StoredRegister(8)
        self.event_control = StoredRegister(4, valid=lambda v: v in (0, 1))
        self.event_test = StoredRegister(4, valid=lambda v: v in (0, 1))
        self.store = self._new_store(user_id)
        self.stream = StreamInterface(self.payload_size, self.trailer_size)
        self.space = self._register_space()

    # -- time --------------------------------------------------------------------------------

    def timestamp_ns(self) -> int:
        """The device clock: nanoseconds since power-up."""
        return max(0, round((self.now - self.epoch) * 1e9))

    def latch_timestamp(self) -> None:
        self.latched_timestamp = self.timestamp_ns()

    # -- register access (what the control channel calls) --------------------------------------

    def read(self, address: int, length: int, now: float) -> bytes:
        self.now = now
        return self.space.read(address, length)

    def write(self, address: int, data: bytes, now: float) -> float:
        self.now = now
        return self.space.write(address, data)

    # -- derived state -------------------------------------------------------------------------

    def payload_size(self) -> int:
        return self.store.get("PayloadSize")

    def trailer_size(self) -> int:
        return CHUNK_TRAILER_SIZE if self.store.get("ChunkModeActive") else TRAILER_SIZE

    def frame_timing(self) -> timing.FrameTiming:
        s = self.store
        limited = s.get("DeviceLinkThroughputLimitMode", None) == "On"
        return timing.frame_timing(
            height=s.get("Height"), binning_vertical=s.get("BinningVertical"),
            exposure_us=s.get("ExposureTime") if s.get("ExposureMode") == "Timed" else 0.0,
            payload_size=self.payload_size(),
            throughput_limit=s.get("DeviceLinkThroughputLimit") if limited else None,
            frame_rate_limit=(s.get("AcquisitionFrameRate")
                              if s.get("AcquisitionFrameRateEnable") else None))

    def line_status(self, line: str) -> bool:
        s = self.store
        if s.get("LineMode", line) == "Input":
            level = self.input_levels[line]
        else:
            source = s.get("LineSource", line)
            level = source in table.USER_OUTPUTS and s.get("UserOutputValue", source)
        return bool(level) != bool(s.get("LineInverter", line))

    def temperature(self, location: str) -> float:
        return REST_TEMPERATURE_C[location]

    def temperature_state(self) -> str:
        hottest = max(self.temperature(loc) for loc in REST_TEMPERATURE_C)
        if hottest >= ERROR_TEMPERATURE_C:
            return "Error"
        return "Critical" if hottest >= CRITICAL_TEMPERATURE_C else "Ok"

    def acquisition_status(self, which: str) -> bool:
        if not self.acquiring:
            return False
        triggered = self.store.get("TriggerMode", "FrameStart") == "On"
        return {"FrameTriggerWait": triggered, "FrameActive": not triggered}.get(which, False)

    # -- construction --------------------------------------------------------------------------

    def _new_store(self, user_id: str) -> FeatureStore:
        store = FeatureStore(table.FEATURES, initial={"DeviceSerialNumber": self.serial,
                                                      "DeviceUserID": user_id})
        frame = self.frame_timing
        store.providers.update({
            "DeviceTemperature": self.temperature,
            "TemperatureState": lambda _: self.temperature_state(),
            "DeviceLinkSpeed": lambda _: timing.LINK_SPEED_BYTES_PER_S,
            "DeviceLinkCurrentThroughput":
                lambda _: round(self.payload_size() * frame().frame_rate),
            "TimestampLatchValue": lambda _: self.latched_timestamp,
            "ResultingFrameRate": lambda _: frame().frame_rate,
            "SensorReadoutTime": lambda _: frame().readout_us,
            "AcquisitionStatus": self.acquisition_status,
            "LineStatus": self.line_status,
            "LineStatusAll": lambda _: sum(self.line_status(line) << i
                                           for i, line in enumerate(table.LINES)),
            "LineOverloadStatus": lambda _: False,
            "CounterValue": lambda counter: self.counters[counter],
        })
        for event in table.EVENT_IDS:
            store.providers[f"Event{event}Timestamp"] = (
                lambda _, e=event: self.last_events.get(e, (0, 0))[0])
            if f"Event{event}FrameID" in store.features:
                store.providers[f"Event{event}FrameID"] = (
                    lambda _, e=event: self.last_events.get(e, (0, 0))[1])
        missing = [f.name for f in table.FEATURES if f.provided and f.name not in store.providers]
        if missing:
            raise RuntimeError(f"no provider for {missing}")
        store.actions.update({
            "AcquisitionStart": self._acquisition_start,
            "AcquisitionStop": self._acquisition_stop,
            "TimestampLatch": lambda _: self.latch_timestamp() or 0.0,
            "CounterReset": self._counter_reset,
            "UserSetSave": self._user_set_save,
            "UserSetLoad": self._user_set_load,
            "DeviceReset": self._device_reset,
        })
        store.write_hooks.append(self._sync_user_outputs)
        store.write_hooks.append(self._remember_startup_set)
        if self.user_sets.startup_set in self.user_sets.sets:
            store.restore(self.user_sets.sets[self.user_sets.startup_set])
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
            self.stream.region(),
            eirm_region(self.event_control, self.event_test),
            manifest_region(self.genicam_zip),
            file_region(self.genicam_zip),
            Region("Features", FEATURE_BASE, end - FEATURE_BASE, feature_registers),
        ])

    # -- commands ------------------------------------------------------------------------------

    def _acquisition_start(self, _instance) -> float:
        self.acquiring = True
        return 0.0

    def _acquisition_stop(self, _instance) -> float:
        self.acquiring = False
        return 0.0

    def _counter_reset(self, counter: str) -> float:
        self.counters[counter] = 0
        return 0.0

    def _user_set_save(self, name: str) -> float:
        self.user_sets.save(name, self.store.snapshot(table.USER_SET_FEATURES))
        return USER_SET_SAVE_S

    def _user_set_load(self, name: str) -> float:
        if name == "Default":
            factory = FeatureStore(table.FEATURES)
            self.store.restore(factory.snapshot(table.USER_SET_FEATURES))
        elif name in self.user_sets.sets:
            self.store.restore(self.user_sets.sets[name])
        return USER_SET_LOAD_S

    def _device_reset(self, _instance) -> float:
        """Back to the power-up state: the startup user set, stream and events off."""
        user_id = self.store.get("DeviceUserID")
        self.acquiring = False
        self.latched_timestamp = 0
        self.counters = dict.fromkeys(self.counters, 0)
        self.last_events.clear()
        for register in (self.device_configuration, self.u3vcp_configuration,
                         self.event_control, self.event_test):
            register.value = 0
        self.stream.reset()
        fresh = self._new_store(user_id)
        self.store.values = fresh.values
        self.epoch = self.now
        return DEVICE_RESET_S

    def _sync_user_outputs(self, name: str, instance: str | None, value: object) -> None:
        s = self.store
        if name == "UserOutputValue":
            s.values[("UserOutputValueAll", None)] = sum(
                bool(s.values[("UserOutputValue", out)]) << i
                for i, out in enumerate(table.USER_OUTPUTS))
        elif name == "UserOutputValueAll":
            for i, out in enumerate(table.USER_OUTPUTS):
                s.values[("UserOutputValue", out)] = bool(value >> i & 1)

    def _remember_startup_set(self, name: str, instance: str | None, value: object) -> None:
        if name == "UserSetDefault":
            self.user_sets.set_startup(value)
