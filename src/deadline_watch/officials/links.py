"""Opening an official's personal link: is the token good, whose is it; every use audited.

Deriving and writing links into SMS is `domain.links` (the watch and the board need it
too); this module is the other end, where someone presents a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError, DeadlineWatchError, NotFoundError
from deadline_watch.domain import audit, links
from deadline_watch.domain.models import Person, PersonLink
from deadline_watch.officials.sign_in import official_by_mobile


class LinkRefused(DeadlineWatchError):
    """The link is unknown, expired or revoked (one answer for all three)."""

    def __init__(self) -> None:
        super().__init__(
            "链接无效或已过期,请使用最新短信中的链接,或用手机号和验证码登录。",
            "this link is invalid or has expired",
        )


@dataclass(frozen=True)
class LinkCheck:
    person_id: int | None
    refused: str | None  # None when the link is good, else unknown | revoked | mobile_changed | expired


def check_link(session: Session, token: str, settings: Settings, *, now: datetime) -> LinkCheck:
    """Whose link this is, or why it is refused. Uses and refusals of a known link are
    audited; the caller commits either way (a refusal is not an error of the transaction)."""
    row = links.find_by_token(session, token)
    if row is None:
        return LinkCheck(None, "unknown")
    person = session.get(Person, row.person_id)
    refused: str | None = None
    if row.revoked_at is not None:
        refused = "revoked"
    elif person is None or person.mobile != row.mobile:
        refused = "mobile_changed"
    elif now > row.last_sent_at + timedelta(days=settings.officials.link_valid_days):
        refused = "expired"
    if refused:
        audit.record(
            session, now=now, actor=f"person:{row.person_id}", action="link.refused", entity_type="person",
            entity_id=row.person_id, after={"reason": refused},
        )
        return LinkCheck(row.person_id, refused)
    session.execute(
        sa.update(PersonLink).where(PersonLink.id == row.id).values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session, now=now, actor=f"person:{row.person_id}", action="link.used", entity_type="person",
        entity_id=row.person_id,
    )
    return LinkCheck(row.person_id, None)


def fresh_link(session: Session, mobile: str, settings: Settings, *, now: datetime, rotate: bool = False) -> str:
    """A working link for the official with this mobile (`officials link`): its validity
    restarts now; `rotate` gives a new token and the old one stops working."""
    if not links.links_enabled(settings):
        raise ConfigError(
            "未设置 web.public_url,无法生成链接", "web.public_url is not set: links need the board's public address"
        )
    person = official_by_mobile(session, mobile)
    if person is None or not person.mobile:
        raise NotFoundError(f"登记表中没有手机号 {mobile}", f"no person with mobile {mobile} in the registry")
    urls = links.carry_links(session, [links.LinkHolder(person.id, person.mobile)], settings, now=now, rotate=rotate)
    audit.record(
        session, now=now, actor="admin", action="link.handed_out", entity_type="person", entity_id=person.id,
        after={"rotated": rotate},
    )
    return urls[person.id]
