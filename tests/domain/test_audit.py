"""The audit trail's two writers store the same thing (domain.audit)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select, text

from deadline_watch.core.db import transaction
from deadline_watch.domain import audit
from deadline_watch.domain.models import AuditEvent

NOW = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
AFTER = {"name": "组织实施", "due_date": date(2026, 6, 30), "at": datetime(2026, 6, 1, 8, 0),
         "none": None, "list": [1, date(2026, 1, 2)], "pair": ("a", 2), "nested": {"on": date(2026, 1, 3)}}


def test_record_many_stores_exactly_what_record_stores(sessions):
    one = dict(actor="import", action="milestone.created", entity_type="milestone", entity_id=7,
               before=None, after=AFTER)
    with transaction(sessions) as session:
        audit.record(session, now=NOW, **one)
        session.flush()
        audit.record_many(session, [{"at": NOW, **one}, {"at": NOW, **one, "before": {"status": "open"}, "after": None}])
    with sessions() as session:
        raw = session.execute(text(
            "SELECT at, actor, action, entity_type, entity_id, CAST(before AS TEXT), CAST(after AS TEXT)"
            " FROM audit_events ORDER BY id")).all()
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert raw[1] == raw[0]  # the same event through both: the same stored text
    assert events[0].at == events[1].at == NOW
    assert events[1].after == {**AFTER, "due_date": "2026-06-30", "at": "2026-06-01T08:00:00",
                               "list": [1, "2026-01-02"], "pair": ["a", 2], "nested": {"on": "2026-01-03"}}
    assert (events[2].before, events[2].after) == ({"status": "open"}, None)
    assert raw[2][6] == "null"  # None is JSON null, as the JSON column writes it
