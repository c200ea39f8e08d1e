"""Board logins: failed-login throttling that tells nothing, and server-side sessions.

Throttling counts failures per (account, address) and per address, in the database so every
board process agrees and `users unlock` can clear them. An unknown name, a wrong password
and a locked pair are indistinguishable: the caller gets the same answer, every attempt
costs one argon2 verification, and each failure is counted the same way. A stranger can
lock a name only for their own address, never for the real user elsewhere.

Sessions: the cookie carries a random id, the table only its SHA-256; logout, a new
password and deactivation delete the rows, so a copied cookie stops working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deadline_watch.domain.models import LoginFailures, User, WebSession

# (account, address): after this many failures the pair waits, doubling up to an hour
FAILURES_BEFORE_LOCK = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
# one address, any names: this many failures within the window and the address waits
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
# a pair's count starts again after this long without a failure
PAIR_WINDOW = timedelta(hours=24)


def name_digest(username: str) -> str:
    """How a login name appears in keys and logs: never the raw text (a password typed into
    the name field must not land in the log)."""
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:16]


def _pair_key(username: str, address: str) -> str:
    return f"user:{name_digest(username)}:{address[:64]}"


def _address_key(address: str) -> str:
    return f"addr:{address[:64]}"


def locked(session: Session, *, username: str, address: str, now: datetime) -> bool:
    """True while the (name, address) pair or the address must wait."""
    rows = session.scalars(select(LoginFailures).where(
        LoginFailures.key.in_([_pair_key(username, address), _address_key(address)]))).all()
    return any(_waiting(row, now) for row in rows)


def record_failure(session: Session, *, username: str, address: str, now: datetime) -> None:
    """Count one failed login against the pair and the address (same work whatever failed)."""
    # attempts during a lock are counted (the same work as any failure) but do not extend it
    pair = _count(session, _pair_key(username, address), address, now, PAIR_WINDOW)
    excess = pair.failures - FAILURES_BEFORE_LOCK
    if excess >= 0 and not _waiting(pair, now):
        pair.locked_until = now + min(FIRST_LOCK * (2 ** min(excess, 12)), LONGEST_LOCK)
    spot = _count(session, _address_key(address), address, now, ADDRESS_WINDOW)
    if spot.failures >= ADDRESS_LIMIT and not _waiting(spot, now):
        spot.locked_until = now + ADDRESS_WINDOW
    session.flush()


def _waiting(row: LoginFailures, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > now


def _count(session: Session, key: str, address: str, now: datetime, window: timedelta) -> LoginFailures:
    row = session.get(LoginFailures, key, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                row = LoginFailures(key=key, address=address[:64], failures=0, window_started=now)
                session.add(row)
        except IntegrityError:  # another process counted the first failure at the same moment
            row = session.get(LoginFailures, key, with_for_update=True, populate_existing=True)
            assert row is not None
    if now - row.window_started > window and not _waiting(row, now):
        row.failures, row.window_started = 0, now
    row.failures += 1
    return row


def record_success(session: Session, *, username: str, address: str) -> None:
    """A good login clears its own pair's count (the address's count stays)."""
    session.execute(delete(LoginFailures).where(LoginFailures.key == _pair_key(username, address)))


def clear_failures(session: Session, *, username: str) -> list[dict]:
    """`users unlock`: forget the name's failures from every address, and those addresses'
    own counts; returns what was cleared (for the audit trail)."""
    prefix = f"user:{name_digest(username)}:"
    pairs = session.scalars(select(LoginFailures).where(LoginFailures.key.startswith(prefix, autoescape=True))).all()
    addresses = {row.address for row in pairs}
    spots = session.scalars(select(LoginFailures).where(
        LoginFailures.key.in_([_address_key(address) for address in addresses]))).all() if addresses else []
    cleared = [{"key": row.key.split(":")[0], "address": row.address, "failures": row.failures,
                "locked_until": row.locked_until.isoformat() if row.locked_until else None}
               for row in [*pairs, *spots]]
    for row in [*pairs, *spots]:
        session.delete(row)
    session.flush()
    return cleared


# ---------------------------------------------------------------- sessions

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, *, user: User, now: datetime, lifetime: timedelta) -> str:
    """A new session for `user`; returns the random id for the cookie (stored hashed)."""
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=_digest(token), user_id=user.id, created_at=now, expires_at=now + lifetime))
    session.flush()
    return token


def session_user_id(session: Session, token: object, *, now: datetime) -> int | None:
    """The user of a live session, or None (unknown, ended or expired)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    row = session.get(WebSession, _digest(token))
    if row is None or row.expires_at <= now:
        return None
    return row.user_id


def end_session(session: Session, token: object) -> None:
    if isinstance(token, str) and token:
        session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def end_user_sessions(session: Session, user_id: int) -> None:
    """Every session of the user ends (new password, deactivation)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))

