"""Append-only audit trail: one function every module uses to record a change."""

from __future__ import annotations

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
    the keyword arguments of `record`. Same conversion of dates, same table."""
    if not events:
        return 0
    rows = [
        {"at": event["at"], "actor": event["actor"], "action": event["action"],
         "entity_type": event["entity_type"], "entity_id": event["entity_id"],
         "before": _plain_flat(event.get("before")), "after": _plain_flat(event.get("after"))}
        for event in events
    ]
    insert_many(session, AuditEvent.__table__, rows)
    return len(rows)


def _plain_flat(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """`_plain` for the usual flat dict, without recursing per value (bulk imports)."""
    if value is None:
        return None
    plain = {}
    for key, item in value.items():
        if isinstance(item, (date, datetime)):
            item = item.isoformat()
        elif isinstance(item, (dict, list, tuple)):
            item = _plain(item)
        plain[key] = item
    return plain
