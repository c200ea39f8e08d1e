"""The officials' phone pages (/m/...): the personal link, sign-in by SMS code, 我的督办事项,
and the three actions (填报进展, 申报完成, 申请延期). Plain HTML forms: no JavaScript needed.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from deadline_watch.core import db
from deadline_watch.core.clock import local_date
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import DeadlineWatchError, SmsError
from deadline_watch.core.logs import get_logger
from deadline_watch.domain.models import Person
from deadline_watch.officials import evidence, items, requests, sign_in
from deadline_watch.officials.links import LinkRefused, check_link
from deadline_watch.sms.base import OutgoingSms
from deadline_watch.sms.messages import render_sms
from deadline_watch.web.auth import LoginThrottle
from deadline_watch.web.evidence_download import evidence_response
from deadline_watch.web.official_session import (
    OFFICIAL_COOKIE,
    Official,
    anonymous_csrf,
    check_csrf,
    current_official,
    keep_csrf,
    payload_of,
)
from deadline_watch.web.official_session import (
    sign_in as start_session,
)
from deadline_watch.web.rendering import page
from deadline_watch.web.uploads import BadForm, UploadTooLarge, read_form

router = APIRouter(include_in_schema=False)
CODE_SENT = "如该手机号已在督办台账中登记,验证码已通过短信发送,5分钟内有效。"


def _app(request: Request) -> AppContext:
    return request.app.state.app_context


def _now(app: AppContext) -> datetime:
    return app.now().astimezone(app.settings.tz)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttle(request: Request, name: str) -> LoginThrottle:
    return getattr(request.app.state, name)


def _too_many(request: Request, message: str) -> Response:
    return page(request, "m/message.html", status_code=429, heading="请稍后再试", message=message)


# ---- signing in -----------------------------------------------------------------------


def _login_page(request: Request, *, step: str = "mobile", mobile: str = "", message: str | None = None,
                error: str | None = None, status_code: int = 200) -> Response:
    token = anonymous_csrf(request)
    response = page(request, "m/login.html", status_code=status_code, step=step, mobile=mobile, message=message,
                    error=error, csrf_token=token)
    keep_csrf(request, response, token)
    return response


@router.get("/m/login")
def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/m/login/code")
def send_code(request: Request, mobile: str = Form(""), csrf_token: str = Form("")) -> Response:
    check_csrf(str(payload_of(request).get("csrf", "")), csrf_token)
    app = _app(request)
    now = _now(app)
    throttle = _throttle(request, "code_request_throttle")
    address = _address(request)
    if throttle.blocked_until(address, now) is not None:
        return _too_many(request, "获取验证码过于频繁,请稍后再试。")
    throttle.failed(address, now)  # every request counts: this is a budget, not a failure count
    with db.transaction(app.sessions) as session:
        to_send = sign_in.issue_code(session, mobile, app.settings, now=now)
    if to_send is not None:
        _send_code(request, to_send, now=now)
    return _login_page(request, step="code", mobile=mobile[:20], message=CODE_SENT)


def _send_code(request: Request, to_send: sign_in.CodeToSend, *, now: datetime) -> None:
    """At once and outside the outbox: a sign-in code is no use after the send window opens."""
    app = _app(request)
    rendered = render_sms("sign_in_code", app.settings, passcode=to_send.code,
                          minutes=app.settings.officials.code_valid_minutes)
    message = OutgoingSms(to=to_send.mobile, body=rendered.body,
                          dedup_key=f"sign-in:{to_send.person_id}:{now.isoformat()}", kind="sign_in", project_code="",
                          milestone="", due_date=local_date(now, app.settings.tz), sent_at=now,
                          template="sign_in_code", template_params=rendered.params)
    try:
        request.app.state.sms_backend().send(message)
        get_logger().info("official.code_sent", person_id=to_send.person_id)
    except SmsError as exc:
        get_logger().warning("official.code_send_failed", person_id=to_send.person_id, error=str(exc))


@router.post("/m/login")
def login_submit(request: Request, mobile: str = Form(""), code: str = Form(""),
                 csrf_token: str = Form("")) -> Response:
    check_csrf(str(payload_of(request).get("csrf", "")), csrf_token)
    app = _app(request)
    now = _now(app)
    throttle = _throttle(request, "code_guess_throttle")
    address = _address(request)
    if throttle.blocked_until(address, now) is not None:
        return _too_many(request, "验证码错误次数过多,请稍后再试。")
    with db.transaction(app.sessions) as session:
        person_id = sign_in.verify_code(session, mobile, code, app.settings, now=now)
        person = session.get(Person, person_id) if person_id else None
        if person is not None:
            response = RedirectResponse("/m/", status_code=303)
            start_session(request, response, person)
    if person_id is None:
        throttle.failed(address, now)
        return _login_page(request, step="code", mobile=mobile[:20], error="验证码错误或已过期,请重新获取。",
                           status_code=401)
    throttle.succeeded(address)
    return response


@router.post("/m/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    check_csrf(str(payload_of(request).get("csrf", "")), csrf_token)
    response = RedirectResponse("/m/login", status_code=303)
    response.delete_cookie(OFFICIAL_COOKIE, path="/m")
    return response


# ---- the pages ------------------------------------------------------------------------


@router.get("/m/")
def my_items(request: Request) -> Response:
    app = _app(request)
    now = _now(app)
    with db.transaction(app.sessions) as session:
        official = current_official(session, request)
        rows = items.my_items(session, official.person_id, app.settings, today=local_date(now, app.settings.tz))
    return page(request, "m/items.html", official=official, items=rows, today=local_date(now, app.settings.tz))


def _item_page(request: Request, session, official: Official, milestone_id: int, *, today: date,
               error: str | None = None, notice: str | None = None, status_code: int = 200) -> Response:
    app = _app(request)
    mine = {row.milestone_id: row for row in items.my_items(session, official.person_id, app.settings, today=today)}
    item = mine.get(milestone_id)
    if item is None:
        return page(request, "m/message.html", status_code=404, heading="找不到该督办事项",
                    message="找不到该督办事项,或它不由您负责。", official=official)
    history = requests.history(session, milestone_id)
    files = evidence.files_of_requests(session, [row.id for row in history])
    return page(request, "m/item.html", status_code=status_code, official=official, item=item, history=history,
                files=files, today=today, error=error, notice=notice, settings=app.settings)


@router.get("/m/items/{milestone_id}")
def item_page(request: Request, milestone_id: int, done: str = "") -> Response:
    app = _app(request)
    now = _now(app)
    notice = {"progress": "进展已提交。", "completion": "已申报完成,等待督查室审核。",
              "extension": "延期申请已提交,等待督查室审核。"}.get(done)
    with db.transaction(app.sessions) as session:
        official = current_official(session, request)
        return _item_page(request, session, official, milestone_id, today=local_date(now, app.settings.tz),
                          notice=notice)


def _act(request: Request, milestone_id: int, csrf_token: str, done: str, action) -> Response:
    """Check the session and CSRF token, run `action(session, official, now, today)` in one
    transaction; a refusal re-shows the page with the plain message."""
    app = _app(request)
    now = _now(app)
    today = local_date(now, app.settings.tz)
    try:
        with db.transaction(app.sessions) as session:
            official = current_official(session, request)
            check_csrf(official.csrf_token, csrf_token)
            action(session, official, now, today)
    except DeadlineWatchError as exc:
        with db.transaction(app.sessions) as session:
            official = current_official(session, request)
            return _item_page(request, session, official, milestone_id, today=today, error=exc.message_zh,
                              status_code=400)
    get_logger().info("official.submitted", milestone_id=milestone_id, kind=done)
    return RedirectResponse(f"/m/items/{milestone_id}?done={done}", status_code=303)


def _parse_date(text: str, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise requests.RequestError(f"{field}格式不对,请选择日期。", f"bad {field}") from None


@router.post("/m/items/{milestone_id}/progress")
def submit_progress(request: Request, milestone_id: int, note: str = Form(""), percent: str = Form(""),
                    csrf_token: str = Form("")) -> Response:
    return _act(request, milestone_id, csrf_token, "progress", lambda session, official, now, today:
                requests.record_progress(session, official.person_id, milestone_id, note=note, percent=percent,
                                         now=now))


@router.post("/m/items/{milestone_id}/extension")
def submit_extension(request: Request, milestone_id: int, proposed_due_date: str = Form(""),
                     reason: str = Form(""), csrf_token: str = Form("")) -> Response:
    return _act(request, milestone_id, csrf_token, "extension", lambda session, official, now, today:
                requests.request_extension(session, official.person_id, milestone_id,
                                           proposed_due_date=_parse_date(proposed_due_date, "延期日期"),
                                           reason=reason, now=now))


@router.post("/m/items/{milestone_id}/completion")
async def submit_completion(request: Request, milestone_id: int) -> Response:
    """Multipart, read as it streams: a file over the limit is refused before the rest of
    the body is read."""
    app = _app(request)
    limits = app.settings.evidence
    try:
        form = await read_form(request, max_file_bytes=limits.max_file_bytes, max_files=limits.max_files,
                               max_file_mb=limits.max_file_mb)
    except UploadTooLarge as exc:
        get_logger().warning("official.upload_refused", milestone_id=milestone_id, bytes_read=exc.read)
        return page(request, "m/message.html", status_code=413, heading="文件太大", message=exc.message,
                    back=f"/m/items/{milestone_id}")
    except BadForm:
        return page(request, "m/message.html", status_code=400, heading="提交失败", message="表单格式不对,请重新提交。")
    uploads = [evidence.EvidenceUpload(name, content) for _field, name, content in form.files]
    fields = form.fields
    return _act(request, milestone_id, fields.get("csrf_token", ""), "completion",
                lambda session, official, now, today: requests.request_completion(
                    session, official.person_id, milestone_id,
                    completed_on=_parse_date(fields.get("completed_on", ""), "完成日期"),
                    note=fields.get("note", ""), files=uploads, settings=app.settings, now=now, today=today))


@router.get("/m/files/{file_id}")
def download(request: Request, file_id: int) -> Response:
    app = _app(request)
    with db.transaction(app.sessions) as session:
        official = current_official(session, request)
        row = evidence.file_for_person(session, file_id, official.person_id)
        if row is None:
            return page(request, "m/message.html", status_code=404, heading="文件不存在", message="文件不存在。")
        return evidence_response(row, inline=False)


# ---- the personal link (last: /m/<anything else> is a token) ---------------------------


@router.get("/m/{token}")
def open_link(request: Request, token: str) -> Response:
    app = _app(request)
    now = _now(app)
    throttle = _throttle(request, "link_throttle")
    address = _address(request)
    if throttle.blocked_until(address, now) is not None:
        get_logger().warning("official.link_throttled", address=address)
        return _too_many(request, "链接尝试次数过多,请稍后再试。")
    with db.transaction(app.sessions) as session:
        checked = check_link(session, token, app.settings, now=now)
        person = session.get(Person, checked.person_id) if checked.refused is None else None
        if person is not None:
            response = RedirectResponse("/m/", status_code=303)
            start_session(request, response, person)
    if person is None:
        throttle.failed(address, now)
        get_logger().info("official.link_refused", reason=checked.refused)
        return page(request, "m/message.html", status_code=404, heading="链接无效", message=LinkRefused().message_zh,
                    back="/m/login")
    return response
