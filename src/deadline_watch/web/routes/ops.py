"""Operations: /healthz and /metrics (no login), and the Twilio callbacks (signed, no login)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.clock import local_date
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import get_logger
from deadline_watch.domain import watch_clock
from deadline_watch.domain.models import TickRun
from deadline_watch.domain.workdays import fallback_years
from deadline_watch.officials.requests import completion_from_reply
from deadline_watch.web import metrics

router = APIRouter()
HOLD_FRESH = timedelta(minutes=15)  # a held daemon refreshes its row every job


def calendar_warnings() -> list[str]:
    return [
        f"{year} 年节假日数据缺失,按周一至周五计算工作日 / no holiday data for {year}: Monday-Friday assumed"
        for year in fallback_years()
    ]


def refused_account(session) -> str | None:
    """The provider's code when the newest delivery pass stopped on an account-level refusal."""
    recent = session.execute(
        select(TickRun.counts)
        .where(TickRun.kind.in_(("scan", "delivery")))
        .order_by(TickRun.started_at.desc(), TickRun.id.desc())
        .limit(20)
    ).scalars()
    for counts in recent:
        if counts and "delivery" in counts:
            return counts.get("account_error") or None
    return None


@router.get("/healthz", tags=["operations"], summary="Health: database, schema, last tick")
def healthz(request: Request) -> JSONResponse:
    app_context: AppContext = request.app.state.app_context
    checks: dict = {
        "database": "ok",
        "schema": "ok",
        "sms": "ok",
        "clock": "ok",
        "last_tick": None,
        "last_scan": None,
        "warnings": calendar_warnings(),
    }
    healthy = True
    try:
        with db.transaction(app_context.sessions) as session:
            session.execute(text("select 1"))
            last = session.execute(
                select(func.max(TickRun.started_at), func.max(TickRun.finished_at))
            ).one()
            refused = refused_account(session)
            last_scan = watch_clock.last_scan_at(session)
            holds = watch_clock.holds(session, since=app_context.now() - HOLD_FRESH)
        checks["last_scan"] = last_scan.isoformat() if last_scan else None
        if holds:
            # a daemon whose clock jumped plans and sends nothing: say so until it acts again
            checks["clock"] = {daemon: f"held: {detail}" for daemon, detail in holds.items()}
            healthy = False
        started, finished = last
        checks["last_tick"] = (finished or started).isoformat() if (finished or started) else None
        if refused:
            checks["sms"] = f"error: 短信服务商拒绝了账号 / the SMS provider refused the account ({refused})"
            healthy = False
    except Exception as exc:  # any database failure makes the check fail, with its class shown
        checks["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
    if healthy:
        try:
            db.require_head(app_context.engine)
        except DeadlineWatchError as err:
            checks["schema"] = f"error: {err.message}"
            healthy = False
    checks["status"] = "ok" if healthy else "error"
    return JSONResponse(checks, status_code=200 if healthy else 503)


@router.get("/metrics", tags=["operations"], summary="Prometheus metrics")
def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.render(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


def completion_reply(session: Session, mobile: str, now: datetime, *, settings: Settings) -> None:
    """An official replied "完成": a completion request (no evidence yet) and an SMS with
    their link. A refusal (nothing open, already pending) leaves the reply at that."""
    try:
        with session.begin_nested():
            completion_from_reply(session, mobile, settings, now=now, today=local_date(now, settings.tz))
    except DeadlineWatchError as err:
        get_logger().info("sms.inbound_completed_refused", detail=err.message_en)


async def _twilio(request: Request, handler_name: str) -> Response:
    app_context: AppContext = request.app.state.app_context
    public_url = app_context.settings.web.public_url
    if not public_url:
        # the URL Twilio signed can only come from configuration, never from the Host header
        get_logger().error("web.webhook_refused", path=request.url.path,
                           reason="web.public_url is not set (DEADLINE_WATCH_PUBLIC_URL)")
        return Response("web.public_url is not configured", status_code=503, media_type="text/plain")
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    extra: dict = {}
    if handler_name == "status":
        from deadline_watch.delivery.receipts import handle_status_callback as handler
    else:
        from deadline_watch.delivery.inbound import handle_inbound as handler

        extra["on_completed"] = partial(completion_reply, settings=app_context.settings)
    from starlette.concurrency import run_in_threadpool

    status = await run_in_threadpool(
        lambda: handler(
            app_context.sessions,
            app_context.settings,
            # only the path and query come from the request; receipts.signed_url_candidates
            # puts them after the configured public URL that Twilio signed
            url=public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            params=params,
            signature=request.headers.get("X-Twilio-Signature", ""),
            now=app_context.now(),
            **extra,
        )
    )
    if status == 200:
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', media_type="text/xml")
    return Response(status_code=status)


@router.post("/twilio/status", include_in_schema=False)
async def twilio_status(request: Request) -> Response:
    return await _twilio(request, "status")


@router.post("/twilio/inbound", include_in_schema=False)
async def twilio_inbound(request: Request) -> Response:
    return await _twilio(request, "inbound")
