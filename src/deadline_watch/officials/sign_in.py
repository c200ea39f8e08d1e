"""Signing in without a link: a 6-digit code sent by SMS to a mobile in the registry.

The code is kept as an HMAC, valid `officials.code_valid_minutes` (5) minutes, for
`officials.code_max_attempts` (5) tries; a new one at most once a minute and
`officials.codes_per_day` times a day. An unknown number gets no SMS, and the page says
the same thing either way (the caller must not tell them apart).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.config import Settings
from deadline_watch.core.secret_key import secret_key
from deadline_watch.domain import audit
from deadline_watch.domain.models import Person, SignInCode
from deadline_watch.domain.phones import MobileError, normalize_mobile

OFFICIAL_ROLES = ("owner", "lead_leader")
RESEND_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class CodeToSend:
    person_id: int
    mobile: str
    code: str


def _digest(settings: Settings, person_id: int, code: str) -> str:
    return hmac.new(secret_key(settings).encode(), f"sign-in:{person_id}:{code}".encode(), hashlib.sha256).hexdigest()


def official_by_mobile(session: Session, mobile_text: str) -> Person | None:
    """The registered official or lead leader with this mobile (typed any way), or None."""
    try:
        mobile = normalize_mobile(mobile_text or "")
    except MobileError:
        return None
    person = session.scalars(sa.select(Person).where(Person.mobile == mobile)).first()
    if person is None or not any(person.has_role(role) for role in OFFICIAL_ROLES):
        return None
    return person


def issue_code(session: Session, mobile_text: str, settings: Settings, *, now: datetime) -> CodeToSend | None:
    """A new code for a registered official, or None (unknown number, asked again within a
    minute, or the day's codes used up). The caller sends it at once, outside the outbox."""
    person = official_by_mobile(session, mobile_text)
    if person is None or not person.mobile:
        return None
    recent = session.scalars(
        sa.select(SignInCode.created_at).where(
            SignInCode.person_id == person.id, SignInCode.created_at > now - timedelta(days=1)
        )
    ).all()
    if len(recent) >= settings.officials.codes_per_day or any(at > now - RESEND_AFTER for at in recent):
        audit.record(session, now=now, actor="anonymous", action="sign_in.code_throttled", entity_type="person",
                     entity_id=person.id)
        return None
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(SignInCode(
        person_id=person.id, code_hash=_digest(settings, person.id, code), created_at=now,
        expires_at=now + timedelta(minutes=settings.officials.code_valid_minutes), attempts=0,
    ))
    audit.record(session, now=now, actor="anonymous", action="sign_in.code_sent", entity_type="person",
                 entity_id=person.id)
    return CodeToSend(person.id, person.mobile, code)


def verify_code(session: Session, mobile_text: str, code: str, settings: Settings, *, now: datetime) -> int | None:
    """The person id when `code` is the live code of this mobile, else None. Every try
    counts against the code (compare-and-set on `attempts`), right or wrong."""
    person = official_by_mobile(session, mobile_text)
    if person is None:
        return None
    row = session.scalars(
        sa.select(SignInCode)
        .where(SignInCode.person_id == person.id, SignInCode.used_at.is_(None), SignInCode.expires_at > now)
        .order_by(SignInCode.id.desc())
    ).first()
    if row is None or row.attempts >= settings.officials.code_max_attempts:
        return None
    counted = session.execute(
        sa.update(SignInCode)
        .where(SignInCode.id == row.id, SignInCode.attempts == row.attempts, SignInCode.used_at.is_(None))
        .values(attempts=row.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    cleaned = (code or "").strip()
    if not counted or not hmac.compare_digest(row.code_hash, _digest(settings, person.id, cleaned)):
        audit.record(session, now=now, actor="anonymous", action="sign_in.code_wrong", entity_type="person",
                     entity_id=person.id)
        return None
    session.execute(
        sa.update(SignInCode).where(SignInCode.id == row.id).values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, now=now, actor=f"person:{person.id}", action="sign_in.code_used", entity_type="person",
                 entity_id=person.id)
    return person.id
