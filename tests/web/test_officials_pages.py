"""The officials' phone pages over HTTP: the link, sign-in codes, the three actions, the
review pages, evidence downloads, and the refusals (someone else's milestone, expired or
revoked links, guessing, CSRF, oversize and disguised uploads)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from starlette.requests import Request

from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.core.db import transaction
from deadline_watch.domain import links
from deadline_watch.domain.models import (
    EvidenceFile,
    Milestone,
    OfficialRequest,
    Person,
    Project,
)
from deadline_watch.web.uploads import UploadTooLarge, read_form
from officials.evidence_samples import HTML, pdf, png
from watch_support import RecordingBackend

from .conftest import NOW, TODAY, Board, board_settings, csrf_from, seed_board

PUBLIC = "http://testserver"


@pytest.fixture
def board(sessions, engine) -> Board:
    with transaction(sessions) as session:
        seeded = seed_board(session)
    clock = FixedClock(NOW)
    context = AppContext(board_settings(public_url=PUBLIC), clock=clock, engine_override=engine)
    return Board(app_context=context, sessions=sessions, seeded=seeded, clock=clock)


def owner_and_milestones(board: Board):
    with transaction(board.sessions) as session:
        owner = session.scalars(sa.select(Person).where(Person.mobile == board.seeded.owner_mobile)).one()
        mine = session.scalars(
            sa.select(Milestone).join(Project).where(Project.code == "GX-2026-001").order_by(Milestone.due_date)
        ).all()
        other = session.scalars(
            sa.select(Milestone).join(Project).where(Project.code == "GX-2026-002").order_by(Milestone.due_date)
        ).first()
        return owner.id, [m.id for m in mine], other.id


def link_for(board: Board, person_id: int, mobile: str) -> str:
    with transaction(board.sessions) as session:
        urls = links.carry_links(session, [links.LinkHolder(person_id, mobile)], board.app_context.settings, now=NOW)
    return urls[person_id].removeprefix(PUBLIC)


def official_client(board: Board):
    owner_id, mine, other = owner_and_milestones(board)
    client = board.client()
    response = client.get(link_for(board, owner_id, board.seeded.owner_mobile))
    assert response.status_code == 303 and response.headers["location"] == "/m/"
    return client, owner_id, mine, other


def test_link_opens_my_items_with_due_dates_levels_and_read_only_lead(board):
    client, _, mine, _ = official_client(board)
    page = client.get("/m/")
    assert page.status_code == 200
    text = page.text
    assert "天府软件园三期建设" in text and "组织实施" in text and "逾期 30 天" in text and "2级督办" in text
    assert "剩余 3 天" in text and "科学城污水处理厂扩建" not in text
    detail = client.get(f"/m/items/{mine[0]}")
    assert "填报进展" in detail.text and "申报完成" in detail.text and "申请延期" in detail.text


def test_a_token_cannot_see_or_act_on_another_persons_milestone(board):
    client, _, _, other = official_client(board)
    assert client.get(f"/m/items/{other}").status_code == 404
    csrf = csrf_from(client.get("/m/").text)
    refused = client.post(f"/m/items/{other}/progress", data={"note": "x", "csrf_token": csrf})
    assert refused.status_code in (400, 404) and "不由您负责" in refused.text
    with transaction(board.sessions) as session:
        assert session.scalar(sa.select(sa.func.count(OfficialRequest.id))) == 0


def test_expired_and_revoked_links_are_refused(board):
    owner_id, _, _ = owner_and_milestones(board)
    path = link_for(board, owner_id, board.seeded.owner_mobile)
    board.clock.advance(timedelta(days=31))
    expired = board.client().get(path)
    assert expired.status_code == 404 and "链接无效或已过期" in expired.text
    board.clock.advance(timedelta(days=-31))
    assert board.client().get(path).status_code == 303
    with transaction(board.sessions) as session:
        links.revoke(session, owner_id, now=NOW, actor="admin", reason="removed")
    assert board.client().get(path).status_code == 404


def test_a_changed_mobile_ends_the_session_and_the_link(board):
    client, owner_id, _, _ = official_client(board)
    with transaction(board.sessions) as session:
        session.get(Person, owner_id).mobile = "+8613900000099"
    assert client.get("/m/").headers["location"] == "/m/login"


def test_guessing_tokens_is_rate_limited(board):
    owner_id, _, _ = owner_and_milestones(board)
    good = link_for(board, owner_id, board.seeded.owner_mobile)
    client = board.client()
    statuses = [client.get(f"/m/{'A' * 24}{n:02d}").status_code for n in range(20)]
    assert set(statuses) == {404}
    assert client.get(f"/m/{'B' * 24}").status_code == 429
    assert client.get(good).status_code == 429  # even the right one waits


def test_every_official_form_needs_the_csrf_token(board):
    client, _, mine, _ = official_client(board)
    for path, data in [
        (f"/m/items/{mine[1]}/progress", {"note": "进展"}),
        (f"/m/items/{mine[1]}/extension", {"proposed_due_date": "2027-01-01", "reason": "x"}),
        ("/m/logout", {}),
        ("/m/login/code", {"mobile": "13912345678"}),
        ("/m/login", {"mobile": "13912345678", "code": "123456"}),
    ]:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    upload = client.post(f"/m/items/{mine[1]}/completion", data={"completed_on": TODAY.isoformat()},
                         files=[("files", ("a.png", png(), "image/png"))])
    assert upload.status_code == 403
    with transaction(board.sessions) as session:
        assert session.scalar(sa.select(sa.func.count(OfficialRequest.id))) == 0


def test_progress_completion_with_photo_and_pdf_then_supervisor_approves(board):
    client, owner_id, mine, _ = official_client(board)
    csrf = csrf_from(client.get(f"/m/items/{mine[1]}").text)
    done = client.post(f"/m/items/{mine[1]}/progress", data={"note": "主体结构完成", "percent": "80", "csrf_token": csrf})
    assert done.status_code == 303
    assert "主体结构完成" in client.get(done.headers["location"]).text
    response = client.post(
        f"/m/items/{mine[1]}/completion",
        data={"csrf_token": csrf, "completed_on": TODAY.isoformat(), "note": "已竣工"},
        files=[("files", ("现场.png", png(), "image/png")), ("files", ("验收.pdf", pdf(), "application/pdf"))],
    )
    assert response.status_code == 303, response.text
    assert "待审核" in client.get(f"/m/items/{mine[1]}").text
    supervisor = board.login("super1")
    listing = supervisor.get("/reviews")
    assert "待审核" in listing.text and re.search(r"待审核\s*<span[^>]*>1<", listing.text)
    request_id = int(re.search(r'href="/reviews/(\d+)"', listing.text).group(1))
    detail = supervisor.get(f"/reviews/{request_id}")
    assert "现场.png" in detail.text and "验收.pdf" in detail.text and 'src="/evidence/' in detail.text
    approved = supervisor.post(f"/reviews/{request_id}/approve", data={"csrf_token": csrf_from(detail.text)})
    assert approved.status_code == 303
    with transaction(board.sessions) as session:
        milestone = session.get(Milestone, mine[1])
        assert milestone.status == "completed" and milestone.completed_on == TODAY
        assert session.get(OfficialRequest, request_id).reviewer_id is not None


def test_review_actions_need_csrf_and_a_supervisor(board):
    client, _, mine, _ = official_client(board)
    csrf = csrf_from(client.get(f"/m/items/{mine[1]}").text)
    client.post(f"/m/items/{mine[1]}/extension", data={"csrf_token": csrf, "proposed_due_date": "2027-02-01",
                                                      "reason": "设备延迟到货"})
    with transaction(board.sessions) as session:
        request_id = session.scalars(sa.select(OfficialRequest.id)).one()
    supervisor = board.login("super1")
    assert supervisor.post(f"/reviews/{request_id}/return", data={"reason": "x"}).status_code == 403
    viewer = board.login("viewer1")
    token = csrf_from(viewer.get("/reviews").text)
    assert viewer.post(f"/reviews/{request_id}/approve", data={"csrf_token": token}).status_code == 403
    page = supervisor.get(f"/reviews/{request_id}")
    refused = supervisor.post(f"/reviews/{request_id}/return", data={"csrf_token": csrf_from(page.text), "reason": ""})
    assert refused.status_code == 409
    returned = supervisor.post(f"/reviews/{request_id}/return",
                               data={"csrf_token": csrf_from(page.text), "reason": "请附供货合同"})
    assert returned.status_code == 303
    assert "请附供货合同" in client.get("/m/").text


def test_html_renamed_jpg_is_refused_with_a_plain_message(board):
    client, _, mine, _ = official_client(board)
    csrf = csrf_from(client.get(f"/m/items/{mine[1]}").text)
    response = client.post(f"/m/items/{mine[1]}/completion",
                           data={"csrf_token": csrf, "completed_on": TODAY.isoformat()},
                           files=[("files", ("现场照片.jpg", HTML, "image/jpeg"))])
    assert response.status_code == 400 and "不是照片、PDF、Word 或 Excel" in response.text
    with transaction(board.sessions) as session:
        assert session.scalar(sa.select(sa.func.count(EvidenceFile.id))) == 0
        assert session.get(Milestone, mine[1]).review_pending_since is None


def test_a_25_mb_upload_is_refused_by_its_declared_length(board):
    client, _, mine, _ = official_client(board)
    csrf = csrf_from(client.get(f"/m/items/{mine[1]}").text)
    big = b"\xff\xd8\xff" + b"\0" * (25 * 1024 * 1024)
    response = client.post(f"/m/items/{mine[1]}/completion", data={"csrf_token": csrf, "completed_on": TODAY.isoformat()},
                           files=[("files", ("big.jpg", big, "image/jpeg"))])
    assert response.status_code == 413 and "超过 20 MB" in response.text


def test_a_streamed_upload_stops_at_the_limit_without_reading_the_rest():
    """No Content-Length (chunked): the reader stops at the first byte past the file limit."""
    boundary = "XyZ"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    chunk = b"\0" * 65536
    total_chunks = 25 * 16  # 25 MB
    handed = {"chunks": 0}

    async def receive():
        handed["chunks"] += 1
        if handed["chunks"] == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        return {"type": "http.request", "body": chunk, "more_body": handed["chunks"] <= total_chunks}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode())]}
    with pytest.raises(UploadTooLarge):
        asyncio.run(read_form(Request(scope, receive), max_file_bytes=20 * 1024 * 1024, max_files=10, max_file_mb=20))
    assert handed["chunks"] * 65536 < 21 * 1024 * 1024 < total_chunks * 65536


def test_sign_in_code_same_answer_for_unknown_numbers_limits_and_success(board):
    backend = RecordingBackend()
    client = board.client()
    client.app.state.sms_backend = lambda: backend
    csrf = csrf_from(client.get("/m/login").text)
    known = client.post("/m/login/code", data={"mobile": "139 1234 5678", "csrf_token": csrf})
    unknown = client.post("/m/login/code", data={"mobile": "13700000000", "csrf_token": csrf})
    assert known.status_code == unknown.status_code == 200
    assert re.sub(r'value="[^"]*"', "", known.text) == re.sub(r'value="[^"]*"', "", unknown.text)
    assert len(backend.sent) == 1 and backend.sent[0].to == board.seeded.owner_mobile
    code = re.search(r"验证码为(\d{6})", backend.sent[0].body).group(1)
    client.post("/m/login/code", data={"mobile": "13912345678", "csrf_token": csrf})
    assert len(backend.sent) == 1  # at most one a minute
    wrong = client.post("/m/login", data={"mobile": "13912345678", "code": "000000" if code != "000000" else "111111",
                                          "csrf_token": csrf})
    assert wrong.status_code == 401 and "m/" not in wrong.headers.get("location", "")
    ok = client.post("/m/login", data={"mobile": "13912345678", "code": code, "csrf_token": csrf})
    assert ok.status_code == 303 and ok.headers["location"] == "/m/"
    assert "天府软件园三期建设" in client.get("/m/").text
    again = board.client().post("/m/login", data={"mobile": "13912345678", "code": code, "csrf_token": csrf})
    assert again.status_code in (401, 403)  # used once


def test_a_code_allows_five_tries_and_guessing_is_rate_limited(board):
    backend = RecordingBackend()
    client = board.client()
    client.app.state.sms_backend = lambda: backend
    csrf = csrf_from(client.get("/m/login").text)
    client.post("/m/login/code", data={"mobile": "13912345678", "csrf_token": csrf})
    code = re.search(r"验证码为(\d{6})", backend.sent[0].body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert client.post("/m/login", data={"mobile": "13912345678", "code": wrong, "csrf_token": csrf}).status_code == 401
    assert client.post("/m/login", data={"mobile": "13912345678", "code": code, "csrf_token": csrf}).status_code == 401
    for _ in range(4):
        client.post("/m/login", data={"mobile": "13912345678", "code": wrong, "csrf_token": csrf})
    assert client.post("/m/login", data={"mobile": "13912345678", "code": wrong, "csrf_token": csrf}).status_code == 429


def test_evidence_downloads_carry_the_checked_type_and_safe_headers(board):
    client, _, mine, _ = official_client(board)
    csrf = csrf_from(client.get(f"/m/items/{mine[1]}").text)
    client.post(f"/m/items/{mine[1]}/completion", data={"csrf_token": csrf, "completed_on": TODAY.isoformat()},
                files=[("files", ("../../x.jpg", png(), "text/html")), ("files", ("报告.pdf", pdf(), "text/html"))])
    with transaction(board.sessions) as session:
        image_id, pdf_id = session.scalars(sa.select(EvidenceFile.id).order_by(EvidenceFile.id)).all()
    assert board.client().get(f"/evidence/{image_id}").status_code == 303  # board login needed
    supervisor = board.login("super1")
    image = supervisor.get(f"/evidence/{image_id}?inline=1")
    assert image.headers["content-type"] == "image/png" and image.content == png()
    assert image.headers["content-disposition"].startswith("inline") and "x.png" in image.headers["content-disposition"]
    assert image.headers["x-content-type-options"] == "nosniff" and "sandbox" in image.headers["content-security-policy"]
    document = supervisor.get(f"/evidence/{pdf_id}?inline=1")
    assert document.headers["content-type"] == "application/pdf"
    assert document.headers["content-disposition"].startswith("attachment")
    assert client.get(f"/m/files/{pdf_id}").content == pdf()
    other = board.client()
    assert other.get(f"/m/files/{pdf_id}").status_code in (303, 404)


def test_a_signed_reply_done_creates_a_completion_request_and_answers_with_the_link(board):
    from deadline_watch.fakes.twilio import FakeTwilio, new_sid

    settings = board_settings(public_url=PUBLIC)
    settings = settings.model_copy(update={"twilio": settings.twilio.model_copy(update={"auth_token": "tok"})})
    board.app_context.settings = settings
    client = board.client()
    owner_id, mine, _ = owner_and_milestones(board)
    sid = new_sid()
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "f" * 32, "From": board.seeded.owner_mobile,
              "To": "+15005550006", "Body": "已完成。", "NumMedia": "0"}
    unsigned = client.post("/twilio/inbound", data=params)
    assert unsigned.status_code == 403
    signature = FakeTwilio(auth_token="tok").signature_for(PUBLIC + "/twilio/inbound", params)
    response = client.post("/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 204
    with transaction(board.sessions) as session:
        request = session.scalars(sa.select(OfficialRequest)).one()
        assert (request.kind, request.state, request.source, request.person_id) == ("completion", "pending", "sms", owner_id)
        assert request.milestone_id == mine[0]  # the one their last SMS was about
        assert session.scalar(sa.select(sa.func.count(EvidenceFile.id))) == 0
        from deadline_watch.domain.models import Notification

        notice = session.scalars(sa.select(Notification).where(Notification.rule == "notice")).one()
        assert notice.to_number == board.seeded.owner_mobile and f"{PUBLIC}/m/" in notice.body
    again = client.post("/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})
    assert again.status_code == 204  # a second 完成 while pending is refused quietly
    with transaction(board.sessions) as session:
        assert session.scalar(sa.select(sa.func.count(OfficialRequest.id))) == 1


def test_latest_progress_shows_on_the_project_and_escalation_pages(board):
    client, _, mine, _ = official_client(board)
    csrf = csrf_from(client.get(f"/m/items/{mine[0]}").text)
    for note in ("土方开挖完成", "主体结构封顶"):
        assert client.post(f"/m/items/{mine[0]}/progress",
                           data={"note": note, "percent": "60", "csrf_token": csrf}).status_code == 303
    bad = client.post(f"/m/items/{mine[0]}/progress", data={"note": "x", "percent": "150", "csrf_token": csrf})
    assert bad.status_code == 400 and "0 到 100" in bad.text
    supervisor = board.login("super1")
    project = supervisor.get("/projects/GX-2026-001").text
    assert "主体结构封顶" in project and "土方开挖完成" not in project
    escalation = supervisor.get(f"/escalations/{board.seeded.escalation_ids[0]}").text
    assert "主体结构封顶(60%)" in escalation
