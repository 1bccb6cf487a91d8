"""Fixtures: a running daemon per module, or a fresh one per test."""

from pathlib import Path

import pytest

from daemon_host import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    base = tmp_path_factory.mktemp("daemon")
    d = Daemon(base / "run", ("40012345",), base)
    yield d
    d.stop()
    assert d.process.returncode == 0
    assert not (base / "run" / "daemon.json").exists()
    assert not Path(d.info["umockdev_dir"]).exists()


@pytest.fixture
def fresh_daemon(tmp_path):
    d = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    yield d
    d.stop()
