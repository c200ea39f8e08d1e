"""Who is asking on the officials' pages (/m/...): a signed cookie of its own.

The personal link or a sign-in code sets it; it holds the person id, the mobile it was
issued for (a changed mobile ends it) and the CSRF token every form sends back. It is
signed with the board's secret key under another salt, so it can never pass for a board
session, nor a board session for it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from deadline_watch.domain.models import Person

OFFICIAL_COOKIE = "dw_official"
OFFICIAL_SALT = "deadline-watch-official"


class OfficialLoginRequired(Exception):
    """No valid official session: the page sends them to /m/login."""


class OfficialCsrfError(Exception):
    """A form without the session's CSRF token."""


@dataclass(frozen=True)
class Official:
    person_id: int
    name: str
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"person:{self.person_id}"


class OfficialCodec:
    def __init__(self, secret_key: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=OFFICIAL_SALT)
        self.max_age_seconds = max_age_seconds

    def dumps(self, payload: dict) -> str:
        return self._serializer.dumps(payload)

    def loads(self, cookie: str | None) -> dict:
        if not cookie:
            return {}
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:
            return {}
        return payload if isinstance(payload, dict) else {}


def payload_of(request: Request) -> dict:
    cached = getattr(request.state, "official_payload", None)
    if cached is None:
        codec: OfficialCodec = request.app.state.official_codec
        cached = codec.loads(request.cookies.get(OFFICIAL_COOKIE))
        request.state.official_payload = cached
    return cached


def set_official_cookie(request: Request, response: Response, payload: dict) -> None:
    codec: OfficialCodec = request.app.state.official_codec
    public_url = request.app.state.app_context.settings.web.public_url or ""
    response.set_cookie(
        OFFICIAL_COOKIE, codec.dumps(payload), max_age=codec.max_age_seconds, httponly=True, samesite="lax",
        secure=public_url.startswith("https://"), path="/m",
    )


def sign_in(request: Request, response: Response, person: Person) -> None:
    """A fresh session (and a fresh CSRF token) for this person."""
    set_official_cookie(request, response, {"pid": person.id, "mob": person.mobile, "csrf": secrets.token_urlsafe(24)})


def anonymous_csrf(request: Request) -> str:
    """The CSRF token of the login forms: the cookie's, or a new one for `keep_csrf`."""
    return str(payload_of(request).get("csrf") or secrets.token_urlsafe(24))


def keep_csrf(request: Request, response: Response, token: str) -> None:
    """Put `token` in the cookie unless it is already there (showing a form never ends a session)."""
    if payload_of(request).get("csrf") != token:
        set_official_cookie(request, response, {"csrf": token})


def current_official(session: Session, request: Request) -> Official:
    payload = payload_of(request)
    person_id = payload.get("pid")
    if not isinstance(person_id, int):
        raise OfficialLoginRequired()
    person = session.get(Person, person_id)
    if person is None or not person.mobile or person.mobile != payload.get("mob"):
        raise OfficialLoginRequired()
    return Official(person.id, person.name, str(payload.get("csrf", "")))


def check_csrf(expected: str, submitted: str | None) -> None:
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise OfficialCsrfError()
