"""/login and /logout: the form, password check with throttling, server-side session and its cookie."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from deadline_watch.board.logins import end_session, name_digest, open_session
from deadline_watch.board.users import authenticate
from deadline_watch.core import db
from deadline_watch.core.logs import get_logger
from deadline_watch.web.auth import SESSION_COOKIE, SessionCodec, password_stamp, session_csrf_ok, session_payload
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def set_session_cookie(request: Request, response: Response, payload: dict) -> None:
    codec: SessionCodec = request.app.state.session_codec
    public_url = request.app.state.app_context.settings.web.public_url or ""
    response.set_cookie(
        SESSION_COOKIE,
        codec.dumps(payload),
        max_age=codec.max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=public_url.startswith("https://"),
        path="/",
    )


def _login_form(request: Request, *, error: str | None = None, status_code: int = 200,
                username: str = "", next_path: str = "/") -> Response:
    payload = session_payload(request)
    csrf = payload.get("csrf") or secrets.token_urlsafe(24)
    response = page(request, "login.html", status_code=status_code, csrf_token=csrf, error=error,
                    username=username, next_path=safe_next(next_path))
    if payload.get("csrf") != csrf:  # showing the form never ends an existing session
        set_session_cookie(request, response, {"csrf": csrf})
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next_path=next)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# One answer for an unknown name, a wrong password and a locked (name, address) pair.
LOGIN_REFUSED = "用户名或密码错误;多次失败后需等待一段时间再试"


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1024),
    next: str = Form("/", max_length=2000),
    csrf_ok: bool = Depends(session_csrf_ok),
) -> Response:
    if not csrf_ok:
        return _login_form(request, error="页面已过期,请重新登录",
                           status_code=403, username=username, next_path=next)
    app_context = request.app.state.app_context
    address = _client_address(request)
    now = app_context.now()
    log = get_logger()
    lifetime = timedelta(hours=app_context.settings.web.session_max_age_hours)
    with db.transaction(app_context.sessions) as session:
        result = authenticate(session, username=username, password=password, now=now, address=address)
        token = open_session(session, user=result.user, now=now, lifetime=lifetime) if result.user else None
        stamp = password_stamp(result.user) if result.user else ""
    if token is None:
        # the name is logged as a digest: a password typed into the name field stays out of the log
        log.info("web.login_failed", user=name_digest(username), address=address)
        return _login_form(request, error=LOGIN_REFUSED, status_code=401, username=username, next_path=next)
    log.info("web.login", username=username.strip())
    response = RedirectResponse(safe_next(next), status_code=303)
    # a fresh CSRF token on login, so a token planted before login is worthless
    set_session_cookie(request, response, {"sid": token, "csrf": secrets.token_urlsafe(24), "pw": stamp})
    return response


@router.post("/logout")
def logout(request: Request, csrf_ok: bool = Depends(session_csrf_ok)) -> Response:
    if csrf_ok:
        with db.transaction(request.app.state.app_context.sessions) as session:
            end_session(session, session_payload(request).get("sid"))  # the cookie is void on the server too
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return RedirectResponse("/", status_code=303)
