"""`db.insert_many` stores what SQLAlchemy's own INSERT stores, value for value, also when
rows share one object (each distinct object is converted once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from deadline_watch.core import db
from deadline_watch.domain.models import Unit

UNITS = Unit.__table__


def test_shared_and_distinct_objects_are_stored_as_sqlalchemy_stores_them(sessions):
    now = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    values = [now, now, datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=8))),  # = now, another zone
              datetime(2026, 7, 2, 3, 4, 5, 678, tzinfo=UTC), now]
    with sessions.begin() as session:
        db.insert_many(session, UNITS, [{"name": f"many {n}", "created_at": at} for n, at in enumerate(values)])
        session.execute(sa.insert(UNITS), [{"name": f"orm {n}", "created_at": at} for n, at in enumerate(values)])
    with sessions() as session:
        stored = dict(session.connection().exec_driver_sql("SELECT name, created_at FROM units").fetchall())
    assert [stored[f"many {n}"] for n in range(len(values))] == [stored[f"orm {n}"] for n in range(len(values))]
    assert len({stored[f"many {n}"] for n in range(len(values))}) == 2
