"""A scan tick holds its facts, intents and messages with the cycle collector paused (issue 17),
and leaves it running afterwards, also when the scan raised."""

from __future__ import annotations

import gc
from datetime import date

import pytest

from deadline_watch.watch import service
from watch_support import at, fast_settings


@pytest.fixture
def collector_seen(monkeypatch) -> list[bool]:
    seen: list[bool] = []
    real = service.scan_and_enqueue

    def scan_and_enqueue(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "scan_and_enqueue", scan_and_enqueue)
    return seen


def test_the_collector_waits_during_a_scan_and_runs_again_after(sessions, collector_seen):
    assert gc.isenabled()
    service.run_scan(sessions, fast_settings(), now=at(date(2026, 12, 1)))
    assert collector_seen == [False]
    assert gc.isenabled()


def test_the_collector_runs_again_after_a_scan_that_raised(sessions, monkeypatch):
    def broken(*args, **kwargs):
        assert not gc.isenabled()
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "scan_and_enqueue", broken)
    with pytest.raises(RuntimeError):
        service.run_scan(sessions, fast_settings(), now=at(date(2026, 12, 1)))
    assert gc.isenabled()
