"""Log lines that claim a change are emitted after the commit, and never for a rollback."""

from __future__ import annotations

from datetime import date

import pytest
from structlog.testing import capture_logs

from deadline_watch.core import db
from deadline_watch.domain.models import TickRun
from watch_support import at


def test_a_change_is_logged_after_its_commit(sessions):
    with capture_logs() as logs:
        with db.transaction(sessions) as session:
            session.add(TickRun(kind="scan", started_at=at(date(2026, 3, 2))))
            db.log_after_commit(session, "info", "thing.changed", what="x")
            assert logs == []  # not yet: the transaction is still open
    assert [entry["event"] for entry in logs] == ["thing.changed"]


def test_a_rolled_back_change_is_never_logged(sessions):
    with capture_logs() as logs:
        with pytest.raises(RuntimeError):
            with db.transaction(sessions) as session:
                db.log_after_commit(session, "info", "thing.changed")
                raise RuntimeError("scan failed")
        with db.transaction(sessions) as session:  # the next transaction of a pooled session
            pass
    assert logs == []
