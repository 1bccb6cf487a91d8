"""What a harness command answers: a machine-readable code, a human message, and for a write
the camera refused the GenCP status it would give a host.

On the wire (control socket, later MQTT) a result is one JSON object: ``{"code": "ok", ...
data}`` or ``{"code": "refused", "error": "...", "status": "ACCESS_DENIED"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ResultCode(str, Enum):
    OK = "ok"
    NO_SUCH_CAMERA = "no_such_camera"
    INVALID_ARGUMENT = "invalid_argument"
    # The camera refused (a feature write or command, with the GenCP status; a line it cannot
    # drive); nothing changed.
    REFUSED = "refused"
    # The camera cannot do it now (unplugged: unpowered).
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    INTERNAL_ERROR = "internal_error"


class CommandError(Exception):
    """A command that is not carried out; raised by parsing and by the daemon's handlers."""

    def __init__(self, code: ResultCode, message: str, status: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Result:
    code: ResultCode
    message: str = ""
    status: str | None = None           # the GenCP status name of a refused write
    data: dict = field(default_factory=dict)

    @classmethod
    def of(cls, error: CommandError) -> Result:
        return cls(error.code, error.message, error.status)

    def to_json(self) -> dict:
        if self.code is ResultCode.OK:
            return {"code": "ok", **self.data}
        out = {"code": self.code.value, "error": self.message}
        if self.status is not None:
            out["status"] = self.status
        return out
