"""Who is asking: signed session cookies, API tokens, CSRF checks, roles, login throttling.

The session cookie (HttpOnly, SameSite=Lax) is signed with itsdangerous and holds the
user id and that session's CSRF token. Forms send the token as `csrf_token`, API writes
as the `X-CSRF-Token` header; requests authenticated by a per-user API token
(`Authorization: Bearer ...`) carry no cookie and so need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import Form, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from deadline_watch.board.reviews import pending_count
from deadline_watch.board.users import user_for_token
from deadline_watch.core import db
from deadline_watch.core.clock import local_date
from deadline_watch.core.context import AppContext
from deadline_watch.core.secret_key import SECRET_FILE, load_secret_key  # noqa: F401  (re-exported)
from deadline_watch.domain.models import User, UserRole

SESSION_COOKIE = "dw_session"
CSRF_HEADER = "X-CSRF-Token"

EVERYONE = (UserRole.ADMIN, UserRole.SUPERVISOR, UserRole.VIEWER)
ACTORS = (UserRole.ADMIN, UserRole.SUPERVISOR)
ADMINS = (UserRole.ADMIN,)


class LoginRequired(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    """Logged in, but the role does not allow this (or the CSRF token is missing/wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionCodec:
    """Signs and reads the session cookie's payload (`uid`, `csrf`)."""

    def __init__(self, secret_key: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="deadline-watch-session")
        self.max_age_seconds = max_age_seconds

    def dumps(self, payload: dict) -> str:
        return self._serializer.dumps(payload)

    def loads(self, cookie: str | None) -> dict | None:
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        return payload if isinstance(payload, dict) else None


def session_payload(request: Request) -> dict:
    """The verified cookie payload of this request ({} when absent or tampered with)."""
    cached = getattr(request.state, "session_payload", None)
    if cached is None:
        codec: SessionCodec = request.app.state.session_codec
        cached = codec.loads(request.cookies.get(SESSION_COOKIE)) or {}
        request.state.session_payload = cached
    return cached


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as the pages see them."""

    id: int
    username: str
    role: str
    csrf_token: str
    via_token: bool = False
    display_name: str | None = None  # how the board addresses the user; the login name when unset

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def can_act(self) -> bool:
        return self.role in ACTORS

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @property
    def actor(self) -> str:
        return f"user:{self.username}"


def load_viewer(session: Session, request: Request) -> Viewer:
    """The user behind the request's bearer token or session cookie; LoginRequired otherwise."""
    token = bearer_token(request)
    if token is not None:
        user = user_for_token(session, token)
        if user is None:
            raise LoginRequired()
        return Viewer(user.id, user.username, user.role, csrf_token="", via_token=True, display_name=user.display_name)
    payload = session_payload(request)
    uid = payload.get("uid")
    if not isinstance(uid, int):
        raise LoginRequired()
    user = session.get(User, uid)
    if user is None or not user.active or payload.get("pw") != password_stamp(user):
        raise LoginRequired()
    return Viewer(
        user.id, user.username, user.role, csrf_token=str(payload.get("csrf", "")), display_name=user.display_name
    )


def password_stamp(user: User) -> str:
    """A short fingerprint of the password hash and the session epoch: changing the password
    or deactivating the account ends old sessions, and reactivating does not revive them.

    A digest of the stored hash rather than a piece of it, since the cookie is readable.
    """
    return hashlib.sha256(f"{user.password_hash}\n{user.session_epoch}".encode()).hexdigest()[:16]


def csrf_matches(expected: object, submitted: str | None) -> bool:
    """The one CSRF comparison: a non-empty submitted token equal to the session's, compared
    in constant time (as bytes, so a non-ASCII token is a mismatch rather than an error)."""
    if not expected or not submitted:
        return False
    return hmac.compare_digest(str(expected).encode(), submitted.encode())


def session_csrf_ok(request: Request, csrf_token: str = Form("")) -> bool:
    """Dependency for the forms that come before a user is known (login, logout): whether
    the form's `csrf_token` matches the session cookie's."""
    return csrf_matches(session_payload(request).get("csrf"), csrf_token)


def check_csrf(viewer: Viewer, submitted: str | None) -> None:
    """Refuse a cookie-authenticated write whose CSRF token does not match the session's."""
    if viewer.via_token:
        return
    if not csrf_matches(viewer.csrf_token, submitted):
        raise Forbidden("CSRF 校验失败,请刷新页面后重试 / CSRF token missing or wrong")


def check_role(viewer: Viewer, allowed: tuple[str, ...]) -> None:
    if viewer.role not in allowed:
        raise Forbidden("没有权限执行此操作 / your role does not allow this")


@dataclass
class Work:
    """One request's unit of work: the open transaction, who asks, and when."""

    session: Session
    viewer: Viewer
    now: datetime
    today: date
    context: AppContext


@contextmanager
def unit_of_work(
    request: Request,
    *,
    allowed: tuple[str, ...] = EVERYONE,
    write: bool = False,
    csrf: str | None = None,
) -> Iterator[Work]:
    """Open the request's one transaction, load the user and check role (and CSRF on writes)."""
    app_context: AppContext = request.app.state.app_context
    with db.transaction(app_context.sessions) as session:
        viewer = load_viewer(session, request)
        check_role(viewer, allowed)
        if not request.url.path.startswith("/api/"):
            # the navigation shows how many officials' requests wait (one indexed count)
            request.state.pending_reviews = pending_count(session)
        if write:
            check_csrf(viewer, csrf if csrf is not None else request.headers.get(CSRF_HEADER))
        # local time, so notes and the like read as the supervisors' clock; stored as UTC anyway
        now = app_context.now().astimezone(app_context.settings.tz)
        yield Work(session, viewer, now, local_date(now, app_context.settings.tz), app_context)


class LoginThrottle:
    """Failed logins per client address in a sliding window; too many and the address waits.

    Per-account locking lives in `users.authenticate` (User.failed_logins / locked_until);
    this catches one address trying many usernames.
    """

    def __init__(self, limit: int = 20, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: datetime) -> list[datetime]:
        kept = [at for at in self._failures.get(address, []) if now - at < self.window]
        if kept:
            self._failures[address] = kept
        else:
            self._failures.pop(address, None)
        return kept

    def blocked_until(self, address: str, now: datetime) -> datetime | None:
        with self._lock:
            recent = self._recent(address, now)
            if len(recent) >= self.limit:
                return recent[0] + self.window
            return None

    def failed(self, address: str, now: datetime) -> None:
        with self._lock:
            self._recent(address, now)
            self._failures.setdefault(address, []).append(now)
            if len(self._failures) > 10_000:  # bound memory under a spray from many addresses
                oldest = min(self._failures, key=lambda key: self._failures[key][-1])
                self._failures.pop(oldest, None)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
