"""The systemd units in deploy/ are valid: `systemd-analyze verify` accepts the migration
unit, a daemon replica, a board replica and the target (with ExecStart pointed at this
environment's `deadline-watch`, since /opt/deadline-watch does not exist on a test machine)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALLED = "/opt/deadline-watch/.venv/bin/deadline-watch"
UNITS = ["deadline-watch-migrate.service", "deadline-watch@9101.service", "deadline-watch@9102.service",
         "deadline-watch-board@8001.service", "deadline-watch.target", "deadline-watch.service",
         "deadline-watch-board.service"]


def executable() -> str:
    found = Path(sys.executable).with_name("deadline-watch")
    return str(found) if found.exists() else (shutil.which("deadline-watch") or "/bin/true")


@pytest.fixture
def units(tmp_path: Path) -> Path:
    for unit in DEPLOY.glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text(encoding="utf-8").replace(INSTALLED, executable()), encoding="utf-8")
    for unit in DEPLOY.glob("*.target"):
        shutil.copy(unit, tmp_path / unit.name)
    return tmp_path


def verify(directory: Path, *names: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed here: the units are checked where systemd is")
    return subprocess.run([binary, "verify", *names], cwd=directory, capture_output=True, text=True, timeout=60)


def test_every_unit_verifies(units: Path) -> None:
    checked = verify(units, *UNITS)
    assert checked.returncode == 0, checked.stderr


def test_verify_catches_a_broken_unit(units: Path) -> None:
    broken = units / "deadline-watch@.service"
    broken.write_text(broken.read_text(encoding="utf-8").replace(executable(), "relative/deadline-watch"), encoding="utf-8")
    assert verify(units, "deadline-watch@9101.service").returncode != 0


def test_replicas_wait_for_the_one_migration_and_get_their_own_port() -> None:
    daemon = (DEPLOY / "deadline-watch@.service").read_text(encoding="utf-8")
    board = (DEPLOY / "deadline-watch-board@.service").read_text(encoding="utf-8")
    for unit in (daemon, board):
        assert "Requires=deadline-watch-migrate.service" in unit and "deadline-watch-migrate.service" in unit.split("After=")[1]
        assert "db upgrade" not in unit  # only the migration unit migrates: N replicas never race
    assert "DEADLINE_WATCH_HEALTH_PORT=%i" in daemon and "--port %i" in board
