"""Officials' personal links (`<public_url>/m/<token>`): derive, carry in SMS, revoke.

A token is HMAC(secret key, person id + nonce), so the same link can be written into
every SMS a person gets without keeping it anywhere: the table stores only its SHA-256.
A new nonce (mobile changed, revoked, `officials link --rotate`) makes a new token and
the old one stops working. Checking a token someone presents is `officials.links`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.core.secret_key import secret_key
from deadline_watch.domain import audit
from deadline_watch.domain.models import PersonLink

TOKEN_BYTES = 18  # 144 bits, 24 URL-safe characters
LINK_PATH = "/m/"


@dataclass(frozen=True)
class LinkHolder:
    person_id: int
    mobile: str


def derive_token(key: str, person_id: int, nonce: str) -> str:
    digest = hmac.new(key.encode(), f"person-link:{person_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_prefix(public_url: str) -> str:
    """What every personal link of this deployment starts with: `<public_url>/m/`."""
    return public_url.rstrip("/") + LINK_PATH


def link_url(public_url: str, token: str) -> str:
    return link_prefix(public_url) + token


def links_enabled(settings: Settings) -> bool:
    return bool(settings.web.public_url)


def _new_nonce(session: Session, holder: LinkHolder, key: str, *, now: datetime, old_nonce: str | None) -> str:
    """Give the person a fresh nonce (compare-and-set on the old one; a racing scan that
    rotated first wins and its nonce is used)."""
    nonce = secrets.token_urlsafe(16)
    values = {
        "nonce": nonce,
        "token_hash": token_hash(derive_token(key, holder.person_id, nonce)),
        "mobile": holder.mobile,
        "created_at": now,
        "last_sent_at": now,
        "last_used_at": None,
        "revoked_at": None,
    }
    if old_nonce is None:
        inserted = db.insert_ignore(
            session, PersonLink.__table__, [{"person_id": holder.person_id, **values}], "person_id"
        )
    else:
        inserted = session.execute(
            sa.update(PersonLink)
            .where(PersonLink.person_id == holder.person_id, PersonLink.nonce == old_nonce)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    if inserted:
        audit.record(
            session, now=now, actor="system", action="link.issued", entity_type="person",
            entity_id=holder.person_id, after={"mobile": holder.mobile},
        )
        return nonce
    row = session.execute(sa.select(PersonLink.nonce).where(PersonLink.person_id == holder.person_id)).scalar_one()
    return row


def carry_links(
    session: Session, holders: list[LinkHolder], settings: Settings, *, now: datetime, rotate: bool = False
) -> dict[int, str]:
    """The link of each person (person id -> URL), marking it as sent now (its validity
    runs from the last SMS that carried it). Empty without `web.public_url`."""
    if not links_enabled(settings) or not holders:
        return {}
    assert settings.web.public_url is not None
    key = secret_key(settings)
    latest = {holder.person_id: holder for holder in holders}  # a person listed twice: the last mobile
    person_ids = sorted(latest)
    # every holder's row in one query, the kept ones marked sent in one UPDATE (issue 17:
    # a statement pair per person was thousands per scan tick); the few that need a new
    # nonce still get one each, compare-and-set with its audit event
    stored = {
        row.person_id: row
        for row in session.execute(
            sa.select(PersonLink.person_id, PersonLink.nonce, PersonLink.mobile, PersonLink.revoked_at).where(
                db.in_values(session, PersonLink.person_id, person_ids)
            )
        )
    }
    nonces: dict[int, str] = {}
    kept: list[int] = []
    for person_id in person_ids:
        holder, row = latest[person_id], stored.get(person_id)
        if row is None:
            nonces[person_id] = _new_nonce(session, holder, key, now=now, old_nonce=None)
        elif rotate or row.revoked_at is not None or row.mobile != holder.mobile:
            nonces[person_id] = _new_nonce(session, holder, key, now=now, old_nonce=row.nonce)
        else:
            nonces[person_id] = row.nonce
            kept.append(person_id)
    if kept:
        session.execute(
            sa.update(PersonLink)
            .where(db.in_values(session, PersonLink.person_id, kept))
            .values(last_sent_at=now)
            .execution_options(synchronize_session=False)
        )
    return {
        person_id: link_url(settings.web.public_url, derive_token(key, person_id, nonces[person_id]))
        for person_id in person_ids
    }


def revoke(session: Session, person_id: int, *, now: datetime, actor: str, reason: str) -> bool:
    """Stop the person's link working (removed from the registry, mobile changed)."""
    result = session.execute(
        sa.update(PersonLink)
        .where(PersonLink.person_id == person_id, PersonLink.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        audit.record(
            session, now=now, actor=actor, action="link.revoked", entity_type="person", entity_id=person_id,
            after={"reason": reason},
        )
    return bool(result.rowcount)


def find_by_token(session: Session, token: str) -> PersonLink | None:
    if not token or len(token) > 64:
        return None
    return session.scalars(sa.select(PersonLink).where(PersonLink.token_hash == token_hash(token))).first()
