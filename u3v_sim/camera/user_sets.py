"""User sets: named snapshots of the settings, kept in a state directory so that they survive a
restart of the daemon, plus the choice of the set loaded at start (UserSetDefault)."""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE_NAME = "usersets.json"


class UserSetStorage:
    """Saved sets as {set name: {feature: {instance: value}}}; in memory without a directory."""

    def __init__(self, directory: Path | None):
        self.path = Path(directory) / FILE_NAME if directory else None
        self.sets: dict[str, dict] = {}
        self.startup_set = "Default"
        if self.path and self.path.exists():
            data = json.loads(self.path.read_text())
            self.sets = data.get("sets", {})
            self.startup_set = data.get("startup_set", "Default")

    def save(self, name: str, settings: dict) -> None:
        self.sets[name] = settings
        self._persist()

    def set_startup(self, name: str) -> None:
        self.startup_set = name
        self._persist()

    def _persist(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"startup_set": self.startup_set, "sets": self.sets},
                                        indent=1, sort_keys=True))
        os.replace(temporary, self.path)  # atomic: a crash never leaves half a file
