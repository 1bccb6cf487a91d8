"""The test harness's side of hardware-in-the-loop: typed commands (``commands``), their
results (``results``), and the Python API over a running daemon (``client.Harness``)."""

from .client import Harness, HarnessError
from .results import CommandError, Result, ResultCode

__all__ = ["CommandError", "Harness", "HarnessError", "Result", "ResultCode"]
