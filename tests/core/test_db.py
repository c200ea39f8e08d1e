"""Engine helpers: the schema gate and INSERT .. ON CONFLICT DO NOTHING."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

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


def test_in_values_selects_the_rows_an_ordinary_in_selects(sessions):
    """One bound parameter (json_each / = ANY) instead of one per value: the same rows."""
    now = datetime(2026, 11, 23, tzinfo=UTC)
    names = ["A", "新经济发展局", "it's \"quoted\"", "\\u4e2d", "%_like", "Z" * 150]
    table = Unit.__table__
    with db.transaction(sessions) as session:
        db.insert_ignore(session, table, [{"name": name, "created_at": now} for name in names], "name")
        ids = dict(session.execute(sa.select(table.c.name, table.c.id)).all())
        for wanted in (names, names[1:4], [names[2], "absent"], [], [names[0]] * 3):
            by_name = sa.select(table.c.name).where(db.in_values(session, table.c.name, wanted))
            assert sorted(session.scalars(by_name)) == sorted(set(wanted) & set(names))
            wanted_ids = [ids[name] for name in wanted if name in ids] + [10_000]
            by_id = sa.select(table.c.name).where(db.in_values(session, table.c.id, wanted_ids))
            assert sorted(session.scalars(by_id)) == sorted(set(wanted) & set(names))


def test_insert_ignore_many_converts_equal_instants_of_other_objects_alike(sessions):
    """Each distinct value object is converted once: equal instants given as other objects
    (another zone) are converted on their own and stored as the same UTC value."""
    instant = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    shanghai = instant.astimezone(ZoneInfo("Asia/Shanghai"))
    rows = [{"name": "A", "created_at": instant}, {"name": "B", "created_at": shanghai},
            {"name": "C", "created_at": instant}, {"name": "D", "created_at": datetime(2026, 11, 24, tzinfo=UTC)}]
    with db.transaction(sessions) as session:
        assert db.insert_ignore_many(session, Unit.__table__, rows, "name") == 4
    with sessions() as session:
        stored = dict(session.execute(sa.select(Unit.name, Unit.created_at)).all())
    assert stored == {"A": instant, "B": instant, "C": instant, "D": datetime(2026, 11, 24, tzinfo=UTC)}
