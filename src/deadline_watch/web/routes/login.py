"""/login and /logout: the form, password check with throttling, session cookie."""

from __future__ import annotations

import secrets
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from deadline_watch.board.users import authenticate
from deadline_watch.core import db
from deadline_watch.core.logs import get_logger
from deadline_watch.web.auth import (
    SESSION_COOKIE,
    LoginThrottle,
    SessionCodec,
    password_stamp,
    session_csrf_ok,
    session_payload,
)
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


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    csrf_ok: bool = Depends(session_csrf_ok),
) -> Response:
    if not csrf_ok:
        return _login_form(request, error="页面已过期,请重新登录",
                           status_code=403, username=username, next_path=next)
    app_context = request.app.state.app_context
    throttle: LoginThrottle = request.app.state.login_throttle
    address = _client_address(request)
    now = app_context.now()
    log = get_logger()
    blocked = throttle.blocked_until(address, now)
    if blocked is not None:
        log.warning("web.login_throttled", address=address)
        return _login_form(request, error="登录失败次数过多,请稍后再试",
                           status_code=429, username=username, next_path=next)
    with db.transaction(app_context.sessions) as session:
        result = authenticate(session, username=username, password=password, now=now)
        stamp = password_stamp(result.user) if result.user else ""
        user_id = result.user.id if result.user else None
    if user_id is None:
        throttle.failed(address, now)
        log.info("web.login_failed", username=username, address=address, locked=result.locked_until is not None)
        if result.locked_until is not None and result.locked_until > now:
            message = "登录失败次数过多,账户已临时锁定,请稍后再试"
            return _login_form(request, error=message, status_code=429, username=username, next_path=next)
        return _login_form(request, error="用户名或密码错误",
                           status_code=401, username=username, next_path=next)
    throttle.succeeded(address)
    log.info("web.login", username=username)
    response = RedirectResponse(safe_next(next), status_code=303)
    # a fresh CSRF token on login, so a token planted before login is worthless
    set_session_cookie(request, response, {"uid": user_id, "csrf": secrets.token_urlsafe(24), "pw": stamp})
    return response


@router.post("/logout")
def logout(request: Request, csrf_ok: bool = Depends(session_csrf_ok)) -> Response:
    if csrf_ok:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return RedirectResponse("/", status_code=303)
