"""Who cannot be reached: the board's "unreachable" items for a failed message, and the
person flags a provider refusal (opted out) or an 退订 reply (unsubscribe requested) sets.

Shared by the delivery pass (a permanent send error), the status callbacks (a final failed
receipt, a late delivery) and inbound replies (STOP / START).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.logs import get_logger
from deadline_watch.domain import audit
from deadline_watch.domain.board_items import insert_board_item, resolve, unresolved_by_key
from deadline_watch.domain.models import EscalationReason, EscalationState, Notification, Person, Resolution


def unreachable_key(notification_id: int) -> str:
    return f"unreachable:{notification_id}"


def open_unreachable_escalation(
    session: Session, notification: Notification, *, now: datetime, actor: str, detail: str
) -> int | None:
    """Put "cannot reach the official" on the board for this message; None if already there."""
    escalation_id = insert_board_item(
        session,
        dedup_key=unreachable_key(notification.id),
        milestone_id=notification.milestone_id,
        reason=EscalationReason.UNREACHABLE.value,
        due_date=notification.due_date,
        level=notification.level or 1,
        now=now,
        actor=actor,
        notes=detail,
        raised_at=now,
        audit_after={
            "milestone_id": notification.milestone_id,
            "reason": EscalationReason.UNREACHABLE.value,
            "notification_id": notification.id,
            "due_date": notification.due_date,
            "state": EscalationState.OPEN.value,
            "detail": detail,
        },
    )
    if escalation_id is not None:
        db.log_after_commit(
            session, "warning", "escalation.unreachable", escalation_id=escalation_id,
            notification_id=notification.id, detail=detail,
        )
    return escalation_id


def resolve_unreachable_escalation(session: Session, notification: Notification, *, now: datetime, actor: str) -> bool:
    """A late delivery receipt: the official was reached after all; close the board item."""
    current = unresolved_by_key(session, unreachable_key(notification.id))
    if current is None:
        return False
    return resolve(session, current, Resolution.REACHED.value, now=now, actor=actor)


def _person_by_mobile(session: Session, mobile: str) -> Person | None:
    return session.scalars(sa.select(Person).where(Person.mobile == mobile.strip())).first()


def _set_flag(session: Session, mobile: str, now: datetime, source: str, *, column: str, action: str,
              event: str) -> Person | None:
    """Set one of the person's instants (first one kept); None when no person has `mobile`."""
    person = _person_by_mobile(session, mobile)
    if person is None:
        get_logger().info(f"{event}_unknown", mobile=mobile, source=source)
        return None
    if getattr(person, column) is not None:
        return person
    setattr(person, column, now)
    audit.record(
        session, now=now, actor=source, action=action, entity_type="person", entity_id=person.id,
        before={column: None}, after={column: now},
    )
    get_logger().warning(event, person_id=person.id, mobile=mobile, source=source)
    return person


def mark_opted_out(session: Session, mobile: str, now: datetime, source: str) -> Person | None:
    """The person with `mobile` no longer receives SMS (STOP reply or Twilio 21610).

    Idempotent: an already opted-out person keeps the first instant. None when no person
    has that mobile.
    """
    return _set_flag(session, mobile, now, source, column="opted_out_at", action="person.opted_out",
                     event="sms.opted_out")


def record_unsubscribe_request(session: Session, mobile: str, now: datetime, source: str) -> Person | None:
    """The person with `mobile` replied 退订/TD/STOP: recorded and shown on the board.

    督办 notices are work notifications, so this alone stops nothing (`sms.honour_opt_out`
    decides, in `delivery.inbound`). Idempotent; None when no person has that mobile.
    """
    return _set_flag(session, mobile, now, source, column="unsubscribe_requested_at",
                     action="person.unsubscribe_requested", event="sms.unsubscribe_requested")


def mark_opted_in(session: Session, mobile: str, now: datetime, source: str) -> Person | None:
    """Undo `mark_opted_out` and the unsubscribe request (a START/UNSTOP reply).

    None when no person has that mobile."""
    person = _person_by_mobile(session, mobile)
    if person is None:
        get_logger().info("sms.opt_in_unknown", mobile=mobile, source=source)
        return None
    if person.opted_out_at is None and person.unsubscribe_requested_at is None:
        return person
    before = {"opted_out_at": person.opted_out_at, "unsubscribe_requested_at": person.unsubscribe_requested_at}
    person.opted_out_at = None
    person.unsubscribe_requested_at = None
    audit.record(
        session,
        now=now,
        actor=source,
        action="person.opted_in",
        entity_type="person",
        entity_id=person.id,
        before=before,
        after={"opted_out_at": None, "unsubscribe_requested_at": None},
    )
    get_logger().info("sms.opted_in", person_id=person.id, mobile=mobile, source=source)
    return person
