"""Writing SMS intents to the Notification outbox (cancelling is `domain.outbox`).

An intent is inserted with its dedup key through INSERT .. ON CONFLICT DO NOTHING in
the caller's transaction (the same one that changed the state it derives from), so any
number of concurrent scans leave each intent exactly once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.domain import links
from deadline_watch.domain.models import Notification, NotificationState
from deadline_watch.sms.messages import LINKED_TEMPLATES, MessageRenderer, message_renderer
from deadline_watch.watch.rules import SmsIntent

_INSERT_CHUNK = 1000
_PENDING = NotificationState.PENDING.value

# A reminder cancelled only because its recipient stopped being the milestone's owner was
# never sent; if that person becomes the owner again (a re-import undone), the same key
# is wanted again and the row is put back in the queue instead of being skipped.
# The same holds for one cancelled while the milestone waited for review (待审核) and the
# request was returned: the reminder is due again.
REVIVABLE_ERROR = "cancelled: recipient_changed"
REVIVABLE_ERRORS = (REVIVABLE_ERROR, "cancelled: pending_review")


def intent_row(intent: SmsIntent, settings: Settings, *, now: datetime, link: str = "",
               renderer: MessageRenderer | None = None) -> dict:
    """The outbox row of `intent`; `renderer` is `message_renderer(intent.template, settings)`,
    passed in when writing many."""
    renderer = renderer or message_renderer(intent.template, settings)
    rendered = renderer.render(intent.context, link=link)
    return {
        "dedup_key": intent.dedup_key,
        "milestone_id": intent.milestone_id,
        "rule": intent.rule,
        "level": intent.level,
        "due_date": intent.due_date,
        "days_left": intent.days_left,
        "recipient_id": intent.recipient.id,
        "to_number": intent.recipient.mobile,
        "body": rendered.body,
        "template": intent.template,
        "template_params": rendered.params,
        "segments": rendered.segments,
        "state": _PENDING,
        "attempts": 0,
        "next_attempt_at": intent.send_at or now,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(
    session: Session,
    intents: list[SmsIntent],
    settings: Settings,
    *,
    now: datetime,
    fresh_out: list[SmsIntent] | None = None,
) -> int:
    """Insert the intents not already in the outbox; returns how many were new (or put
    back in the queue: a reminder cancelled as `recipient_changed` whose person is the
    owner again).

    `fresh_out`, when given, receives the intents that were not in the outbox before.
    """
    if not intents:
        return 0
    table = Notification.__table__
    # skip rendering intents already present (the common case on every tick after the first)
    keys = [intent.dedup_key for intent in intents]
    existing: set[str] = set()
    revivable: set[str] = set()
    for key, state, last_error in session.execute(
        sa.select(Notification.dedup_key, Notification.state, Notification.last_error).where(
            db.in_values(session, Notification.dedup_key, keys)
        )
    ):
        existing.add(key)
        if state == NotificationState.CANCELLED.value and last_error in REVIVABLE_ERRORS:
            revivable.add(key)
    # one global order of inserts, so two concurrent scans on PostgreSQL wait for each
    # other on the first shared key instead of deadlocking across two keys
    fresh = sorted(
        {intent.dedup_key: intent for intent in intents if intent.dedup_key not in existing}.values(),
        key=lambda intent: intent.dedup_key,
    )
    if fresh_out is not None:
        fresh_out.extend(fresh)
    reviving = sorted({i.dedup_key: i for i in intents if i.dedup_key in revivable}.values(),
                      key=lambda intent: intent.dedup_key)
    urls = official_links(session, fresh + reviving, settings, now=now)
    inserted = 0
    renderers: dict[str, MessageRenderer] = {}
    for start in range(0, len(fresh), _INSERT_CHUNK):
        rows = []
        for intent in fresh[start : start + _INSERT_CHUNK]:
            renderer = renderers.get(intent.template)
            if renderer is None:
                renderer = renderers[intent.template] = message_renderer(intent.template, settings)
            rows.append(intent_row(intent, settings, now=now, link=urls.get(intent.recipient.id, ""),
                                   renderer=renderer))
        inserted += db.insert_ignore_many(session, table, rows, "dedup_key")
    for intent in reviving:
        if _revive(session, intent, settings, now=now, link=urls.get(intent.recipient.id, "")):
            inserted += 1
            if fresh_out is not None:
                fresh_out.append(intent)
    return inserted


def official_links(session: Session, intents: list[SmsIntent], settings: Settings, *, now: datetime) -> dict[int, str]:
    """The personal link of every official or lead leader these SMS go to (none without
    `web.public_url`); each link's validity now runs from this SMS."""
    if not links.links_enabled(settings):
        return {}
    holders = [
        links.LinkHolder(intent.recipient.id, intent.recipient.mobile)
        for intent in intents
        if intent.template in LINKED_TEMPLATES and intent.recipient.mobile
    ]
    return links.carry_links(session, holders, settings, now=now)


def _revive(session: Session, intent: SmsIntent, settings: Settings, *, now: datetime, link: str = "") -> bool:
    """Put a reminder cancelled as `recipient_changed` or `pending_review` back in the
    queue with a fresh text.

    Conditional on the row still being in that state, so of two concurrent scans only one
    revives it."""
    row = intent_row(intent, settings, now=now, link=link)
    for column in ("dedup_key", "milestone_id", "rule", "level", "due_date", "created_at"):
        row.pop(column)
    row.update(claimed_at=None, last_error=None, provider_error_code=None)
    result = session.execute(
        sa.update(Notification)
        .where(
            Notification.dedup_key == intent.dedup_key,
            Notification.state == NotificationState.CANCELLED.value,
            Notification.last_error.in_(REVIVABLE_ERRORS),
        )
        .values(**row)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        db.log_after_commit(session, "info", "outbox.revived", dedup_key=intent.dedup_key)
    return bool(result.rowcount)
