"""Append-only audit trail: one function every module uses to record a change."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from deadline_watch.core.db import insert_many
from deadline_watch.domain.models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def record(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one AuditEvent to the session's transaction (dates become ISO strings)."""
    event = AuditEvent(
        at=now,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    session.add(event)
    return event


def record_many(session: Session, events: list[dict[str, Any]]) -> int:
    """Add many audit events with one executemany INSERT (bulk imports); each dict has
    the keyword arguments of `record`. Same conversion of dates, same table, and the same
    JSON text the column type would write (`json.dumps` of `_plain(value)`; None as null)."""
    if not events:
        return 0
    rows = [
        {"at": event["at"], "actor": event["actor"], "action": event["action"],
         "entity_type": event["entity_type"], "entity_id": event["entity_id"],
         "before": _json_or_null(event.get("before")), "after": _json_or_null(event.get("after"))}
        for event in events
    ]
    insert_many(session, AuditEvent.__table__, rows, json_text=("before", "after"))
    return len(rows)


def _iso(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# json.dumps's own settings, with dates written as `_plain` writes them: one pass, no copy
_json_text = json.JSONEncoder(default=_iso).encode


def _json_or_null(value: Any) -> str:
    """`_json_text(value)`; None (a creation's "before") is "null" without the encoder's round trip."""
    return "null" if value is None else _json_text(value)
