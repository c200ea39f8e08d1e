"""Fixtures of the registry tests (file builders live in registry_files.py)."""

from __future__ import annotations

import pytest
from registry_files import UntouchableSessions


@pytest.fixture
def no_db() -> UntouchableSessions:
    return UntouchableSessions()
