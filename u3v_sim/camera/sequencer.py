"""The sequencer: 32 sets of settings the camera steps through, frame by frame (Basler,
"Sequencer (ace Classic/U/L USB)").

A set holds ``SEQUENCER_SET_FEATURES`` (the feature table): settings and the set's two paths,
each a next set and the trigger that takes it. SequencerSetSave copies the current settings
into the selected set, SequencerSetLoad the set back (both in SequencerConfigurationMode).
After power-up every set holds the start-up settings, set J's path 1 leading to J + 1 (the
last back to 0).

While SequencerMode is On, every frame's exposure starts with the active set loaded: the
acquisition's first frame with SequencerSetStart, each later one with the set its
predecessor's paths chose: path 0, else path 1, if its trigger happened since the previous
frame started (Basler: a synchronous trigger selects the next set, the next frame start loads
it). A trigger is an internal signal (FrameStart, FrameEnd, CounterNEnd, SoftwareSignalN,
counted whatever its activation) or an input line: an edge as SequencerTriggerActivation says,
or for LevelHigh/LevelLow the line's level at the frame start. SequencerSetActive (and each
frame's chunk) says the set in use.
"""

from __future__ import annotations

from u3v_features import acA4096_40um as table

from .acquisition import Acquisition
from .features import FeatureStore
from .lines import Lines

EDGES = {"RisingEdge": (True,), "FallingEdge": (False,), "AnyEdge": (True, False)}


class Sequencer:
    def __init__(self, store: FeatureStore, acquisition: Acquisition, lines: Lines):
        self.store, self.lines = store, lines
        self.sets = []
        for index in range(table.SEQUENCER_SETS):
            saved = store.snapshot(table.SEQUENCER_SET_FEATURES)
            saved["SequencerSetNext"]["1"] = (index + 1) % table.SEQUENCER_SETS
            self.sets.append(saved)
        self.active = 0
        # What happened since the last frame start: signal names, and (line, level) edges.
        self.seen: set = set()
        acquisition.before_frame.append(self._frame_starting)
        acquisition.signal_listeners.append(self.seen.add)
        lines.input_listeners.append(lambda line, level: self.seen.add((line, level)))

    def save(self, index: int) -> float:
        self.sets[index] = self.store.snapshot(table.SEQUENCER_SET_FEATURES)
        return 0.0

    def load(self, index: int) -> float:
        self.store.restore(self.sets[index])
        return 0.0

    def _frame_starting(self, first: bool) -> None:
        if self.store.get("SequencerMode") != "On":
            self.seen.clear()
            return
        if first:
            self.active = self.store.get("SequencerSetStart")
        else:
            self.active = self._next()
        self.seen.clear()
        self.load(self.active)

    def _next(self) -> int:
        """The set the active one's paths choose (the active one if none is taken)."""
        s = self.store
        for path in range(table.SEQUENCER_PATHS):
            source = s.get("SequencerTriggerSource", path)
            activation = s.get("SequencerTriggerActivation", path)
            if source in table.LINES:
                if activation in EDGES:
                    taken = any((source, level) in self.seen for level in EDGES[activation])
                else:
                    taken = self.lines.status(source) == (activation == "LevelHigh")
            else:
                taken = source in self.seen
            if taken:
                return s.get("SequencerSetNext", path)
        return self.active
