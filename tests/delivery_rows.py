"""Outbox rows for the delivery tests: pending notifications written straight through the model."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

import factories as f
from deadline_watch.core.db import transaction


def queue(
    sessions: sessionmaker[Session],
    count: int,
    *,
    now: datetime,
    due_date: date = date(2026, 3, 9),
    next_attempt_at: datetime | None = None,
    rule: str = "reminder",
    mobiles: list[str] | None = None,
) -> list[int]:
    """`count` pending notifications due at `next_attempt_at` (default `now`); returns their ids."""
    with transaction(sessions) as session:
        owner = f.person(session)
        milestone = f.milestone(session, due_date, project_=f.project(session, owner=owner))
        rows = []
        for index in range(count):
            mobile = mobiles[index % len(mobiles)] if mobiles else owner.mobile
            rows.append(
                f.notification(
                    milestone,
                    owner,
                    dedup_key=f"{rule}:{milestone.id}:{due_date.isoformat()}:{index}",
                    at=now,
                    rule=rule,
                    level=1 if rule == "escalation" else None,
                    to_number=mobile,
                    body=f"【高新区督办】{owner.name}同志:您负责的项目节点将于{due_date:%m月%d日}到期,请抓紧推进。#{index}",
                    state="pending",
                    attempts=0,
                    next_attempt_at=next_attempt_at or now,
                )
            )
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def age_claims(sessions: sessionmaker[Session], seconds: float) -> int:
    """Move every `sending` claim `seconds` into the past (a worker that died that long ago).

    On PostgreSQL claims carry the database's time and are judged by its clock, so a
    later `--now` alone no longer makes them stale: the claims themselves must age."""
    from datetime import timedelta

    import sqlalchemy as sa

    from deadline_watch.domain.models import Notification

    with transaction(sessions) as session:
        claims = session.execute(
            sa.select(Notification.id, Notification.claimed_at).where(Notification.state == "sending")
        ).all()
        for row_id, claimed_at in claims:
            session.execute(
                sa.update(Notification)
                .where(Notification.id == row_id)
                .values(claimed_at=claimed_at - timedelta(seconds=seconds))
            )
    return len(claims)
