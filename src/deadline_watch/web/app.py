"""The board's ASGI app: `create_app(app_context)` wires routes, templates, auth and errors."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from deadline_watch import __version__
from deadline_watch.board.referrals import ReferralError
from deadline_watch.board.supervision import SupervisionError
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import DeadlineWatchError, NotFoundError, SchemaError
from deadline_watch.core.logs import get_logger
from deadline_watch.core.secret_key import secret_key
from deadline_watch.sms.factory import make_backend
from deadline_watch.web import metrics
from deadline_watch.web.auth import Forbidden, LoginRequired, LoginThrottle, SessionCodec, unit_of_work
from deadline_watch.web.guard import RequestGuard, register_upload_limit
from deadline_watch.web.official_session import OfficialCodec, OfficialCsrfError, OfficialLoginRequired
from deadline_watch.web.rendering import STATIC_DIR, make_templates, page
from deadline_watch.web.routes import (
    admin,
    api,
    escalations,
    evaluation,
    login,
    officials,
    ops,
    projects,
    referrals,
    reports,
    reviews,
)
from deadline_watch.web.routes import overview as overview_routes
from deadline_watch.web.routes import portraits as portrait_routes

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _status_for(err: DeadlineWatchError) -> int:
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, (SupervisionError, ReferralError)):
        return 409
    if isinstance(err, SchemaError):
        return 503
    return 400


def create_app(app_context: AppContext) -> FastAPI:
    settings = app_context.settings
    app = FastAPI(
        title="deadline-watch 督办看板 API",
        version=__version__,
        description="重点项目节点督办看板的 JSON 接口 / JSON API of the project-deadline supervision board.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.app_context = app_context
    key = secret_key(settings)
    app.state.session_codec = SessionCodec(key, settings.web.session_max_age_hours * 3600)
    app.state.official_codec = OfficialCodec(key, settings.web.session_max_age_hours * 3600)
    app.state.templates = make_templates(settings)
    # officials' pages: wrong link tokens, code requests and wrong codes per client address
    app.state.link_throttle = LoginThrottle(limit=20, window=timedelta(minutes=15))
    app.state.code_request_throttle = LoginThrottle(limit=10, window=timedelta(minutes=15))
    app.state.code_guess_throttle = LoginThrottle(limit=10, window=timedelta(minutes=15))
    # sign-in codes are sent at once by the board itself (created on first use)
    app.state.sms_backend = lru_cache(maxsize=1)(lambda: make_backend(settings))
    app.state.metrics_registry = metrics.make_registry(app_context)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for module in (login, ops, escalations, projects, evaluation, referrals, reports, reviews, admin, api, officials,
                   overview_routes, portrait_routes):
        app.include_router(module.router)

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi_document(request: Request) -> JSONResponse:
        with unit_of_work(request):
            pass
        return JSONResponse(app.openapi())

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # server time of this request, for browsers' dev tools and bench/bench_board.py
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path not in ("/login",) and not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own handler echoes the input and fails (500) on bytes that are not UTF-8
        errors = [{key: value for key, value in error.items() if key in ("type", "loc", "msg")}
                  for error in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"detail": "需要登录 / login required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(OfficialLoginRequired)
    async def official_login_required(request: Request, _exc: OfficialLoginRequired) -> Response:
        return RedirectResponse("/m/login", status_code=303)

    @app.exception_handler(OfficialCsrfError)
    async def official_csrf(request: Request, _exc: OfficialCsrfError) -> Response:
        get_logger().info("web.forbidden", path=request.url.path, detail="official csrf")
        return page(request, "m/message.html", status_code=403, heading="页面已过期",
                    message="页面已过期,请返回刷新后重新提交。", back="/m/")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        get_logger().info("web.forbidden", path=request.url.path, detail=exc.message)
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return page(request, "error.html", status_code=403, heading="没有权限", message=exc.message)

    @app.exception_handler(DeadlineWatchError)
    async def user_error(request: Request, exc: DeadlineWatchError) -> Response:
        status = _status_for(exc)
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=status)
        # the board speaks Chinese only; the API keeps both languages
        return page(request, "error.html", status_code=status, message=exc.message_zh)

    # outermost: body limits and control characters are checked before anything else runs
    # evidence: every file at its limit, plus the form around them
    register_upload_limit("/m/items/", settings.evidence.max_files * settings.evidence.max_file_bytes + 1024 * 1024)
    app.add_middleware(RequestGuard)
    get_logger().info("web.app_created", database=_safe_url(settings.database.url))
    return app


def _safe_url(url: str) -> str:
    """The database URL without a password, for the log."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
        return f"{scheme}{sep}***@{rest}"
    return url
