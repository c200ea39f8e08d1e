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


def _fresh_values(holder: LinkHolder, key: str, now: datetime) -> dict:
    """A new nonce for the person, with the row values that go with it."""
    nonce = secrets.token_urlsafe(16)
    return {
        "nonce": nonce,
        "token_hash": token_hash(derive_token(key, holder.person_id, nonce)),
        "mobile": holder.mobile,
        "created_at": now,
        "last_sent_at": now,
        "last_used_at": None,
        "revoked_at": None,
    }


def _insert_first_links(session: Session, fresh: dict[int, dict]) -> dict[int, str]:
    """Insert the links of people who had none, in one statement; a person whose link a
    racing scan inserted first keeps that one (absent from the answer). Person id -> nonce
    of the rows inserted here."""
    if not fresh:
        return {}
    inserted = db.insert_new(session, PersonLink.__table__, [{"person_id": person_id, **values}
                                                             for person_id, values in fresh.items()],
                             "person_id", returning=(PersonLink.person_id,))
    return {row.person_id: fresh[row.person_id]["nonce"] for row in inserted}


def _replace_nonce(session: Session, person_id: int, values: dict, old_nonce: str) -> bool:
    """Compare-and-set on the old nonce: False when a racing scan rotated first."""
    return bool(session.execute(
        sa.update(PersonLink)
        .where(PersonLink.person_id == person_id, PersonLink.nonce == old_nonce)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount)


def carry_links(
    session: Session, holders: list[LinkHolder], settings: Settings, *, now: datetime, rotate: bool = False
) -> dict[int, str]:
    """The link of each person (person id -> URL), marking it as sent now (its validity
    runs from the last SMS that carried it). Empty without `web.public_url`.

    A person gets a new nonce (event `link.issued`) without a link, or when rotating, or
    when the link was revoked or went to another mobile; a racing scan that issued first
    wins and its nonce is used. Set-based (issue 17: a statement pair per person was
    thousands per scan tick): one SELECT of the holders' links, one INSERT of the first
    links, one UPDATE marking the kept ones sent; only replaced nonces go one by one."""
    if not links_enabled(settings) or not holders:
        return {}
    assert settings.web.public_url is not None
    key = secret_key(settings)
    latest = {holder.person_id: holder for holder in holders}  # a person listed twice: the last mobile
    person_ids = sorted(latest)
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
    first: dict[int, dict] = {}
    replaced: dict[int, dict] = {}
    for person_id in person_ids:
        holder, row = latest[person_id], stored.get(person_id)
        if row is None:
            first[person_id] = _fresh_values(holder, key, now)
        elif rotate or row.revoked_at is not None or row.mobile != holder.mobile:
            replaced[person_id] = _fresh_values(holder, key, now)
        else:
            nonces[person_id] = row.nonce
            kept.append(person_id)
    issued = _insert_first_links(session, first)
    issued.update((person_id, values["nonce"]) for person_id, values in replaced.items()
                  if _replace_nonce(session, person_id, values, stored[person_id].nonce))
    if kept:
        session.execute(
            sa.update(PersonLink)
            .where(db.in_values(session, PersonLink.person_id, kept))
            .values(last_sent_at=now)
            .execution_options(synchronize_session=False)
        )
    lost = [person_id for person_id in [*first, *replaced] if person_id not in issued]
    if lost:  # a racing scan issued these first: its nonces are the links
        nonces.update((row.person_id, row.nonce) for row in session.execute(
            sa.select(PersonLink.person_id, PersonLink.nonce).where(db.in_values(session, PersonLink.person_id, lost))
        ))
    nonces.update(issued)
    for person_id in sorted(issued):
        audit.record(
            session, now=now, actor="system", action="link.issued", entity_type="person",
            entity_id=person_id, after={"mobile": latest[person_id].mobile},
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
