"""The shipped examples run as a user runs them (pymodbus's test_examples shape): the HIL
example's own pytest, through u3v-sim's pytest plugin, with the application under test
(pypylon) in the pytest process; and under pytest-xdist, one daemon per worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "part_sensor"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_the_part_sensor_hil_example_passes(workers, tmp_path):
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "base"), *workers],
        cwd=EXAMPLE, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout, result.stdout[-2000:]
