"""Engine helpers: the schema gate and INSERT .. ON CONFLICT DO NOTHING."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deadline_watch.core import db
from deadline_watch.core.errors import SchemaError
from deadline_watch.domain.models import AuditEvent, Unit


def test_require_head_refuses_an_empty_database(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaError) as raised:
        db.require_head(engine)
    assert "db upgrade" in str(raised.value)


def test_invalid_url_is_a_schema_error():
    with pytest.raises(SchemaError):
        db.make_engine("not a url at all")


def test_insert_ignore_skips_existing_keys(sessions):
    now = datetime(2026, 11, 23, tzinfo=UTC)
    table = Unit.__table__
    with db.transaction(sessions) as session:
        first = db.insert_ignore(session, table, [{"name": "A", "created_at": now}], "name")
    with db.transaction(sessions) as session:
        second = db.insert_ignore(
            session,
            table,
            [{"name": "A", "created_at": now}, {"name": "B", "created_at": now}],
            "name",
        )
    assert (first, second) == (1, 1)


def test_transaction_rolls_back_on_error(sessions):
    now = datetime(2026, 11, 23, tzinfo=UTC)
    with pytest.raises(RuntimeError):
        with db.transaction(sessions) as session:
            session.add(AuditEvent(at=now, actor="t", action="x", entity_type="unit", entity_id=1))
            session.flush()
            raise RuntimeError("boom")
    with sessions() as session:
        assert session.query(AuditEvent).count() == 0
