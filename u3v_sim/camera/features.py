"""Feature values of one camera, kept and checked as the real device does.

The store holds one value per feature and selector instance, evaluates the table's expressions
(derived values, dynamic ranges, availability, locking), refuses out-of-range or forbidden
writes with the GenCP status a device answers, and after every accepted write brings dependent
features back into range (a smaller WidthMax clamps Width, CenterX recentres OffsetX).
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

from u3v_features import expr
from u3v_features.layout import snaps_to_increment
from u3v_features.model import (BOOLEAN, COMMAND, ENUMERATION, FLOAT, INTEGER, REGISTER,
                                STRING, Feature)

from ..protocol.gencp import ProtocolError, Status

Provider = Callable[[str | None], object]
Action = Callable[[str | None], float]
# A block register's writer: (selector instance, byte offset, data) -> busy seconds.
RegisterWriter = Callable[[str | None, int, bytes], float]
WriteHook = Callable[[str, str | None, object], None]


class FeatureStore:
    def __init__(self, features: Iterable[Feature], initial: dict[str, object] | None = None):
        self.features: dict[str, Feature] = {f.name: f for f in features}
        self.values: dict[tuple[str, str | None], object] = {}
        self.providers: dict[str, Provider] = {}
        self.actions: dict[str, Action] = {}
        self.register_writers: dict[str, RegisterWriter] = {}
        self.write_hooks: list[WriteHook] = []
        for f in self.features.values():
            if f.is_derived or f.kind == COMMAND or f.data_port is not None or f.host_local:
                continue
            for instance in self.instances(f.name):
                self.values[(f.name, instance)] = f.default_for(instance)
        # Only settings with a forced value or a range that moves with other features can
        # leave their range without being written.
        self._dependent = [
            f for f in self.features.values()
            if f.kind in (INTEGER, FLOAT) and not f.is_derived and f.data_port is None
            and not f.host_local
            and (f.forced or any(isinstance(b, str) for b in (f.minimum, f.maximum, f.increment)))]
        for name, value in (initial or {}).items():
            self.values[(name, None)] = value
        self.settle()

    # -- reading ---------------------------------------------------------------------------

    def instances(self, name: str) -> tuple[str | int | None, ...]:
        """Selector values a feature has an instance for: entry names, or the integers of an
        integer selector (DeviceLinkSelector)."""
        selector = self.features.get(self.features[name].selected_by)
        if selector is None:
            return (None,)
        if selector.kind == ENUMERATION:
            return tuple(e.name for e in selector.entries)
        return tuple(range(selector.minimum, selector.maximum + 1, selector.increment or 1))

    def current_instance(self, name: str) -> str | None:
        selector = self.features[name].selected_by
        return None if selector is None else self.get(selector)

    def get(self, name: str, instance: str | None = None) -> object:
        """A feature's value (enumerations as entry names), for the current or given instance."""
        f = self.features[name]
        if instance is None:
            instance = self.current_instance(name)
        if f.formula is not None:
            return self.evaluate(f.formula, f.selected_by, instance)
        if f.provided:
            return self.providers[name](instance)
        if f.kind == COMMAND:
            return 0
        return self.values[(name, instance)]

    def evaluate(self, source: str, selector: str | None = None,
                 instance: str | None = None) -> object:
        """Evaluate a table expression. With a selector instance given (the formula of a
        selected feature), the selector and its other selected features read that instance."""
        def lookup(name: str, index: str | None) -> object:
            if index is None and selector is not None:
                if name == selector:
                    return instance
                if self.features[name].selected_by == selector:
                    index = instance
            return self.get(name, index)
        return expr.evaluate(source, lookup)

    def bound(self, name: str, which: str, instance: str | None = None) -> float | int | None:
        """A feature's min, max or inc now, for a selector instance (None: the current one).
        An integer's dynamic max lies on its increment grid (layout.snaps_to_increment): the
        largest value the feature takes."""
        f = self.features[name]
        value = {"min": f.minimum, "max": f.maximum, "inc": f.increment}[which]
        if isinstance(value, str):
            value = (self.evaluate(value) if instance is None
                     else self.evaluate(value, f.selected_by, instance))
            if snaps_to_increment(f, which):
                lo, inc = self.bound(name, "min", instance), self.bound(name, "inc", instance)
                value = lo + (value - lo) // inc * inc
        return value

    def is_available(self, name: str) -> bool:
        f = self.features[name]
        return f.available is None or bool(self.evaluate(f.available))

    def entry_available(self, name: str, entry: str, instance: str | None = None) -> bool:
        """Whether an enumeration entry can be chosen now, for the given selector instance of
        the feature (None: the current one)."""
        f = self.features[name]
        condition = f.entry(entry).available
        if condition is None:
            return True
        if instance is None:
            return bool(self.evaluate(condition))
        return bool(self.evaluate(condition, f.selected_by, instance))

    def is_locked(self, name: str) -> bool:
        f = self.features[name]
        return f.locked is not None and bool(self.evaluate(f.locked))

    # -- writing ---------------------------------------------------------------------------

    def write(self, name: str, value: object) -> float:
        """Write the current instance of a feature as a host does; returns how long the device
        is busy (commands), 0.0 for a plain setting."""
        f = self.features[name]
        if f.access == "RO":
            raise ProtocolError(Status.WRITE_PROTECT, f"{name} is read-only")
        if f.kind == REGISTER:
            return self.write_register(name, 0, value)
        if not self.is_available(name) or self.is_locked(name):
            raise ProtocolError(Status.ACCESS_DENIED, f"{name} is not writable now")
        instance = self.current_instance(name)
        if f.kind == COMMAND:
            if value == 0:
                return 0.0
            if value != 1:
                raise ProtocolError(Status.INVALID_PARAMETER, f"{name}: write 1 to execute")
            for hook in self.write_hooks:   # (before its effect: a reset reboots the camera)
                hook(name, instance, 1)
            busy = self.actions[name](instance) if name in self.actions else 0.0
            self.settle()
            return busy
        checked = self.check(f, value)
        self.values[(name, instance)] = checked
        for hook in self.write_hooks:
            hook(name, instance, checked)
        self.settle()
        return 0.0

    def write_register(self, name: str, offset: int, data: bytes) -> float:
        """Write ``data`` at ``offset`` into a block register (a Register feature) as a host
        does, piece by piece; its writer checks the content (ProtocolError)."""
        if not self.is_available(name) or self.is_locked(name):
            raise ProtocolError(Status.ACCESS_DENIED, f"{name} is not writable now")
        instance = self.current_instance(name)
        busy = self.register_writers[name](instance, offset, data)
        for hook in self.write_hooks:
            hook(name, instance, f"{len(data)} bytes at {offset}")
        self.settle()
        return busy

    def check(self, f: Feature, value: object, instance: str | None = None) -> object:
        """The value as stored for a selector instance (None: the current one), or
        ProtocolError(INVALID_PARAMETER) when the device refuses it."""
        def refuse(why: str):
            raise ProtocolError(Status.INVALID_PARAMETER, f"{f.name}: {why}")
        if f.kind == ENUMERATION:
            if value not in {e.name for e in f.entries}:
                refuse(f"no entry {value!r}")
            if not self.entry_available(f.name, value, instance):
                refuse(f"{value} is not available now")
            return value
        if f.kind == BOOLEAN:
            if value not in (0, 1):
                refuse("a boolean is 0 or 1")
            return bool(value)
        if f.kind == STRING:
            return value
        if f.kind == FLOAT and not math.isfinite(value):
            refuse("not a finite number")
        lo, hi, inc = (self.bound(f.name, which, instance) for which in ("min", "max", "inc"))
        if lo is not None and value < lo:
            refuse(f"{value} below minimum {lo}")
        if hi is not None and value > hi:
            refuse(f"{value} above maximum {hi}")
        if f.kind == INTEGER and inc and (value - (lo or 0)) % inc:
            refuse(f"{value} not a multiple of the increment {inc}")
        return value

    def settle(self) -> None:
        """Bring every dependent setting back into its range; twice, so that features
        bounding each other (Width and OffsetX) both settle."""
        for _ in range(2):
            for f in self._dependent:
                for instance in self.instances(f.name):
                    key = (f.name, instance)
                    value = self.values[key]
                    if f.forced is not None and self.evaluate(f.forced[0]):
                        value = self.evaluate(f.forced[1])
                    self.values[key] = self._clamped(f, value, instance)

    def _clamped(self, f: Feature, value, instance: str | None):
        lo, hi = self.bound(f.name, "min", instance), self.bound(f.name, "max", instance)
        inc = self.bound(f.name, "inc", instance) if f.kind == INTEGER else None
        if hi is not None and value > hi:
            value = hi
        if inc and lo is not None:
            value = lo + (value - lo) // inc * inc
        if lo is not None and value < lo:
            value = lo
        return value

    # -- user sets -------------------------------------------------------------------------

    def snapshot(self, names: Iterable[str]) -> dict[str, dict[str, object]]:
        """Every instance of the named settings, keyed by str(instance) ("" if unselected)."""
        return {name: {("" if instance is None else str(instance)): self.values[(name, instance)]
                       for instance in self.instances(name)} for name in names}

    def restore(self, saved: dict[str, dict[str, object]]) -> None:
        for name, by_instance in saved.items():
            if name not in self.features:
                continue
            for instance in self.instances(name):
                key = "" if instance is None else str(instance)
                if key in by_instance:
                    self.values[(name, instance)] = by_instance[key]
        self.settle()
