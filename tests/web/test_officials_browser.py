"""The officials' loop in headless Chromium: the official on a 390×844 phone opens the link
from the SMS the file backend wrote, reports completion with a photo and a PDF; the
supervisor, on a desktop, approves it and returns another. Screenshots in test-artifacts/."""

from __future__ import annotations

import json
import shutil
import threading

import pytest
import sqlalchemy as sa
import uvicorn

from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.delivery.dispatch import run_delivery_pass
from deadline_watch.domain.models import Milestone, Notification, OfficialRequest, Project
from deadline_watch.sms.file import FileBackend
from deadline_watch.watch.service import run_scan
from deadline_watch.web import create_app
from officials.evidence_samples import pdf, png

from .conftest import NOW, PASSWORD, SECRET, TODAY, seed_board
from .test_e2e_browser import ARTIFACTS, LiveServer, _require_browser, launched_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def loop(sqlite_template, tmp_path_factory):
    _require_browser()
    folder = tmp_path_factory.mktemp("officials-e2e")
    path = folder / "board.db"
    shutil.copyfile(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        seeded = seed_board(session)
    server = LiveServer(None)
    settings = Settings.model_validate({
        "web": {"secret_key": SECRET, "public_url": server.url},
        "sms": {"backend": "file", "file": str(folder / "sms.jsonl"), "rate_per_second": 1000},
    })
    context = AppContext(settings, clock=FixedClock(NOW), engine_override=engine)
    server.server = uvicorn.Server(uvicorn.Config(create_app(context), log_level="warning", access_log=False))
    server.thread = threading.Thread(target=server.server.run, kwargs={"sockets": [server.sock]}, daemon=True)
    # the daemon's work: a scan writes the reminder, a delivery pass hands it to the file backend
    run_scan(sessions, settings, now=NOW)
    run_delivery_pass(sessions, FileBackend(settings.sms.file), settings, now=NOW)
    with server:
        server.sessions = sessions
        server.seeded = seeded
        server.sms_file = folder / "sms.jsonl"
        server.folder = folder
        yield server
    engine.dispose()


@pytest.fixture(scope="module")
def browser(loop):
    with launched_chromium() as chromium:
        yield chromium


def new_page(browser, loop, **options):
    context = browser.new_context(base_url=loop.url, locale="zh-CN", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def link_from_sms(loop) -> str:
    lines = [json.loads(line) for line in loop.sms_file.read_text(encoding="utf-8").splitlines()]
    mine = [line for line in lines if line["to"] == loop.seeded.owner_mobile and "/m/" in line["body"]]
    assert mine, lines
    return mine[0]["body"].rsplit(" ", 1)[1]


def milestone_id(loop, name: str) -> int:
    with db.transaction(loop.sessions) as session:
        return session.scalars(
            sa.select(Milestone.id).join(Project).where(Project.code == "GX-2026-001", Milestone.name == name)
        ).one()


def supervisor_page(browser, loop):
    context, page = new_page(browser, loop, viewport={"width": 1360, "height": 900})
    page.goto("/login")
    page.fill("input[name=username]", "super1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return context, page


def test_official_reports_completion_from_the_sms_link_on_a_phone(browser, loop):
    link = link_from_sms(loop)
    assert link.startswith(loop.url + "/m/")
    context, page = new_page(browser, loop, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                             java_script_enabled=False)
    page.goto(link)
    page.wait_for_url("**/m/")
    assert "我的督办事项" in page.inner_text("h1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "official-items-390.png"), full_page=True)
    target = milestone_id(loop, "阶段成果")
    page.click(f"a[href='/m/items/{target}']")
    photo, document = loop.folder / "现场照片.png", loop.folder / "验收报告.pdf"
    photo.write_bytes(png(64, 48))
    document.write_bytes(pdf())
    form = page.locator("form[action$='/completion']")
    form.locator("textarea[name=note]").fill("主体工程已完工,附现场照片和验收报告")
    form.locator("input[name=files]").set_input_files([str(photo), str(document)])
    form.locator("button[type=submit]").click()
    page.wait_for_url("**done=completion")
    assert "等待督查室审核" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "official-completion-390.png"), full_page=True)
    context.close()
    with db.transaction(loop.sessions) as session:
        request = session.scalars(sa.select(OfficialRequest).where(OfficialRequest.milestone_id == target)).one()
        assert request.state == "pending" and request.kind == "completion"


def test_supervisor_approves_the_completion_at_desktop_size(browser, loop):
    context, page = supervisor_page(browser, loop)
    assert "待审核" in page.inner_text("nav")
    page.goto("/reviews")
    page.click("#reviews a[href^='/reviews/'] >> nth=0")
    page.wait_for_url("**/reviews/*")
    assert page.locator("img.evidence-image").count() == 1
    page.wait_for_function("document.querySelector('img.evidence-image').complete")
    assert page.evaluate("document.querySelector('img.evidence-image').naturalWidth") == 64  # the PNG itself
    page.screenshot(path=str(ARTIFACTS / "review-completion.png"), full_page=True)
    page.click("#approve")
    page.wait_for_url("**done=approved")
    page.screenshot(path=str(ARTIFACTS / "review-approved.png"), full_page=True)
    context.close()
    with db.transaction(loop.sessions) as session:
        milestone = session.get(Milestone, milestone_id(loop, "阶段成果"))
        assert milestone.status == "completed" and milestone.completed_on == TODAY


def test_supervisor_returns_an_extension_request_with_a_reason(browser, loop):
    link = link_from_sms(loop)
    context, phone = new_page(browser, loop, viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(link)
    target = milestone_id(loop, "验收结项")
    phone.goto(f"/m/items/{target}")
    form = phone.locator("form[action$='/extension']")
    form.locator("input[name=proposed_due_date]").fill("2027-03-31")
    form.locator("textarea[name=reason]").fill("设备进口清关延误")
    form.locator("button[type=submit]").click()
    phone.wait_for_url("**done=extension")
    context.close()
    context, page = supervisor_page(browser, loop)
    page.goto("/reviews")
    page.click("#reviews a[href^='/reviews/'] >> nth=0")
    page.fill("textarea[name=reason]", "请附海关延误证明后重新申请")
    page.click("#return")
    page.wait_for_url("**done=returned")
    page.screenshot(path=str(ARTIFACTS / "review-returned.png"), full_page=True)
    context.close()
    with db.transaction(loop.sessions) as session:
        notice = session.scalars(sa.select(Notification).where(Notification.rule == "notice")).one()
        assert "请附海关延误证明后重新申请" in notice.body and loop.url + "/m/" in notice.body
        assert session.get(Milestone, target).review_pending_since is None
