"""One-off SMS to an official about their request (returned, "完成" reply received), queued
in the outbox like the watch's SMS, with their personal link, inside the send window.

Shared by `board.reviews`, `officials` and `delivery.inbound`, which may not import each
other; the watch's own intents go through `watch.enqueue`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.core.logs import get_logger
from deadline_watch.domain import links
from deadline_watch.domain.models import Milestone, Notification, NotificationRule, NotificationState, Person
from deadline_watch.domain.workdays import next_send_time
from deadline_watch.sms.messages import render_sms


def queue_notice(
    session: Session,
    *,
    person: Person,
    milestone: Milestone,
    template: str,
    dedup_key: str,
    settings: Settings,
    now: datetime,
    **context: object,
) -> bool:
    """Queue `template` to `person` about `milestone` once (by `dedup_key`); False when the
    person cannot be reached (no mobile, opted out) or the key was already queued."""
    if not person.mobile or person.opted_out_at is not None:
        return False
    url = links.carry_links(session, [links.LinkHolder(person.id, person.mobile)], settings, now=now)
    rendered = render_sms(
        template, settings, person_name=person.name, project_name=milestone.project.name,
        milestone=milestone.name, link=url.get(person.id, ""), **context,
    )
    send_at = next_send_time(now, settings.reminders.send_window, settings.tz, settings.reminders.day_mode)
    inserted = db.insert_ignore(session, Notification.__table__, [{
        "dedup_key": dedup_key, "milestone_id": milestone.id, "rule": NotificationRule.NOTICE.value,
        "level": None, "due_date": milestone.due_date, "days_left": None, "recipient_id": person.id,
        "to_number": person.mobile, "body": rendered.body, "template": template,
        "template_params": rendered.params, "segments": rendered.segments,
        "state": NotificationState.PENDING.value, "attempts": 0, "next_attempt_at": send_at,
        "created_at": now, "updated_at": now,
    }], "dedup_key")
    if inserted:
        get_logger().info("outbox.notice_queued", template=template, milestone_id=milestone.id)
    return bool(inserted)
