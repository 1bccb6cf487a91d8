"""User sets: named snapshots of the settings, kept in a state directory so that they survive a
restart of the daemon, plus the choice of the set loaded at start (UserSetDefault).

The file is ``<state dir>/usersets.json``::

    {"startup_set": "UserSet2",
     "sets": {"UserSet2": {"Width": {"": 2000}, "LineMode": {"Line1": "Input", ...}, ...}}}

Everything in it is checked when the camera starts (``check_sets``): a file that cannot be read
or parsed, or a set holding a value the camera would refuse, is a ``UserSetError`` naming the
file, the set, the feature and the value; nothing is clamped or skipped silently.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr, \
    ValidationError

from u3v_features.model import BOOLEAN, ENUMERATION, FLOAT, INTEGER, Feature

from ..protocol.gencp import ProtocolError
from ..small_files import SmallFileError, read_small_text, write_private_file
from .features import FeatureStore

FILE_NAME = "usersets.json"
# Larger than any file the camera writes (about 5 kB per set), small enough to read at once.
MAX_FILE_BYTES = 1 << 20


class UserSetError(ValueError):
    """The state directory or the user-set file cannot be used; the message names the path and
    what is wrong with it."""


Value = StrictBool | StrictInt | StrictFloat | StrictStr


class _UserSetFile(BaseModel):
    """The file's shape: {set: {feature: {selector instance or "": value}}}."""
    model_config = ConfigDict(strict=True, extra="forbid")
    startup_set: StrictStr = "Default"
    sets: dict[StrictStr, dict[StrictStr, dict[StrictStr, Value]]] = {}


def prepare_state_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700 if it does not exist, and check that
    it is a directory owned by this user that this process can write. Returns the path;
    raises UserSetError naming it otherwise."""
    path = Path(path)
    missing = []
    cursor = path
    while not cursor.exists() and not cursor.is_symlink() and cursor != cursor.parent:
        missing.append(cursor)
        cursor = cursor.parent
    try:
        for directory in reversed(missing):
            directory.mkdir(mode=0o700)
        info = path.stat()
    except OSError as error:
        raise UserSetError(f"state_dir {path}: cannot be created or read: "
                           f"{error.strerror or error}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UserSetError(f"state_dir {path}: not a directory")
    if info.st_uid != os.getuid():
        raise UserSetError(f"state_dir {path}: owned by uid {info.st_uid}, not by this user "
                           f"(uid {os.getuid()})")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserSetError(f"state_dir {path}: not writable")
    return path


class UserSetStorage:
    """Saved sets as {set name: {feature: {instance: value}}}; in memory without a directory.

    With a directory, it is prepared (``prepare_state_dir``) and its file read at once: an
    unreadable or malformed file raises UserSetError naming it."""

    def __init__(self, directory: Path | None):
        self.path = prepare_state_dir(directory) / FILE_NAME if directory else None
        self.sets: dict[str, dict] = {}
        self.startup_set = "Default"
        if self.path and (self.path.exists() or self.path.is_symlink()):
            data = _read(self.path)
            self.sets = data.sets
            self.startup_set = data.startup_set

    def save(self, name: str, settings: dict) -> None:
        """Keep ``settings`` as set ``name``; OSError (nothing changed) if it cannot be
        written."""
        sets = {**self.sets, name: settings}
        self._persist(self.startup_set, sets)
        self.sets = sets

    def set_startup(self, name: str) -> None:
        self._persist(name, self.sets)
        self.startup_set = name

    def _persist(self, startup_set: str, sets: dict) -> None:
        """Write the file (``write_private_file``: atomic, 0600); OSError on failure."""
        if not self.path:
            return
        text = json.dumps({"startup_set": startup_set, "sets": sets}, indent=1, sort_keys=True)
        write_private_file(self.path, text.encode())


def _read(path: Path) -> _UserSetFile:
    try:
        data = json.loads(read_small_text(path, MAX_FILE_BYTES, "a user-set file"))
    except SmallFileError as error:
        raise UserSetError(str(error)) from None
    except json.JSONDecodeError as error:
        raise UserSetError(f"{path}: not valid JSON: {error.msg} at line {error.lineno} "
                           f"column {error.colno}") from None
    try:
        return _UserSetFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise UserSetError(f"{path}: {where}: {first['msg']} (got {_short(first['input'])})"
                           ) from None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


_JSON_TYPES = {INTEGER: (int,), FLOAT: (int, float), BOOLEAN: (bool,), ENUMERATION: (str,)}


def check_sets(storage: UserSetStorage, features: Iterable[Feature], set_names: Iterable[str],
               saved_features: Iterable[str], factory_sets: Iterable[str] = ("Default",)
               ) -> None:
    """Check every saved set against a factory-fresh feature store as the camera would load it:
    each value of the right type and accepted by the feature's checks (range, increment, enum
    entry) with the set's other values in place, and none changed when the store brings
    dependent features into range. The startup set must be one of ``set_names``.

    Raises UserSetError naming the file, the set, the feature (and instance) and the value."""
    features = tuple(features)
    set_names = tuple(set_names)
    saved_features = set(saved_features)
    where = storage.path or "user sets"
    if storage.startup_set not in set_names:
        raise UserSetError(f"{where}: startup_set {storage.startup_set!r} is not a user set "
                           f"({', '.join(set_names)})")
    factory_sets = tuple(factory_sets)
    for set_name, saved in storage.sets.items():
        if set_name not in set_names or set_name in factory_sets:
            savable = [name for name in set_names if name not in factory_sets]
            raise UserSetError(f"{where}: no user set {set_name!r} can be saved "
                               f"({', '.join(savable)})")
        _check_set(FeatureStore(features), saved, saved_features,
                   lambda text, s=set_name: UserSetError(f"{where}: user set {s}: {text}"))


def _check_set(store: FeatureStore, saved: dict, saved_features: set, error) -> None:
    entries = []
    for name, by_instance in saved.items():
        if name not in saved_features:
            raise error(f"{name} is not a feature a user set holds")
        feature = store.features[name]
        instances = {("" if i is None else str(i)): i for i in store.instances(name)}
        for key, value in by_instance.items():
            label = f"{name}[{key}]" if key else name
            if key not in instances:
                raise error(f"{name} has no selector entry {key!r}")
            if isinstance(value, bool) != (feature.kind == BOOLEAN) or \
                    not isinstance(value, _JSON_TYPES[feature.kind]):
                raise error(f"{label} = {_short(value)}: not a {feature.kind} value")
            store.values[(name, instances[key])] = value
            entries.append((feature, instances[key], label, value))
    for feature, instance, label, value in entries:
        try:
            store.check(feature, value, instance)
        except ProtocolError as refusal:
            raise error(f"{label} = {_short(value)}: the camera refuses it: {refusal}") from None
    store.settle()
    for feature, instance, label, value in entries:
        now = store.values[(feature.name, instance)]
        if now != value:
            raise error(f"{label} = {_short(value)}: the camera refuses it with the set's other "
                        f"values (it would become {now!r})")
