"""The cycle collector waits while an import holds its registry in memory, and runs again after."""

from __future__ import annotations

import gc

import pytest
from registry_files import NOW, csv_bytes, project_rows

import deadline_watch.registry as registry_package
from deadline_watch.registry import import_bytes

BAD_FILE = csv_bytes(project_rows()[:3] + [{**project_rows()[3], "due_date": "2027/3/32"}])  # read, never written


@pytest.fixture
def collector_seen(monkeypatch) -> list[bool]:
    seen: list[bool] = []
    real = registry_package.read_registry

    def read_registry(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(registry_package, "read_registry", read_registry)
    return seen


def test_the_collector_waits_during_an_import_and_runs_again_after(no_db, collector_seen):
    assert gc.isenabled()
    report = import_bytes(no_db, filename="r.csv", content=BAD_FILE, now=NOW)
    assert collector_seen == [False]
    assert gc.isenabled()
    assert report.rows_read == 4 and len(report.errors) == 1


def test_the_collector_runs_again_after_an_import_that_raised(no_db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(registry_package, "read_registry", broken)
    with pytest.raises(RuntimeError):
        import_bytes(no_db, filename="r.csv", content=BAD_FILE, now=NOW)
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled(no_db, collector_seen):
    gc.disable()
    try:
        import_bytes(no_db, filename="r.csv", content=BAD_FILE, now=NOW)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collector_seen == [False]
