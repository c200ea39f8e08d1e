"""In Chromium: 办结 asks first, a 移交问责 referral is created, listed and exported, an item
reopened by a re-import is back on the queue, every page fits a 390 px phone, and no page
shows English. A live server of its own (module scope), seeded like the other browser tests.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import timedelta
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa

from deadline_watch.board.completion import complete_milestone
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.models import Escalation, Referral, User
from deadline_watch.registry.columns import COLUMNS
from deadline_watch.web import create_app
from watch_support import RecordingBackend, fast_settings

from .chinese_text import english_words
from .conftest import NOW, PASSWORD, TODAY, board_settings, seed_board
from .test_e2e_browser import ARTIFACTS, LiveServer, _require_browser, launched_chromium
from .test_no_english import DISPLAY_NAMES

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
CODE = "GX-2026-0099"


@pytest.fixture(scope="module")
def live(sqlite_template, tmp_path_factory):
    _require_browser()
    path = tmp_path_factory.mktemp("e2e-supervision") / "board.db"
    shutil.copyfile(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        seeded = seed_board(session)
        for user in session.scalars(sa.select(User)):
            user.display_name = DISPLAY_NAMES.get(user.username)
    app_context = AppContext(board_settings(), clock=FixedClock(NOW), engine_override=engine)
    with LiveServer(create_app(app_context)) as server:
        server.sessions = sessions
        server.seeded = seeded
        yield server
    engine.dispose()


@pytest.fixture(scope="module")
def browser(live):
    with launched_chromium() as chromium:
        yield chromium


def open_tab(browser, live, viewport=None):
    context = browser.new_context(base_url=live.url, accept_downloads=True, locale="zh-CN",
                                  viewport=viewport or {"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    return context, tab


@pytest.fixture
def page(browser, live):
    context, tab = open_tab(browser, live)
    yield tab
    context.close()


@pytest.fixture
def phone(browser, live):
    context, tab = open_tab(browser, live, PHONE)
    yield tab
    context.close()


def log_in(page, username="super1"):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def resolve_on_page(page, escalation_id: int, resolution: str, note: str = "") -> None:
    page.goto(f"/escalations/{escalation_id}")
    assert page.eval_on_selector("#resolution", "el => el.value") == ""  # nothing preselected
    page.select_option("#resolution", resolution)
    if note:
        page.fill("form[action$='/resolve'] input[name=text]", note)
    page.click("#resolve")
    page.wait_for_selector("#confirm-resolve")


def test_resolve_asks_for_confirmation_and_cancel_changes_nothing(page, live):
    escalation_id = live.seeded.escalation_ids[2]
    log_in(page)
    resolve_on_page(page, escalation_id, "waived", "已整改到位")
    assert "免予督办" in page.inner_text("#confirm-resolution")
    page.click("#cancel-resolve")
    page.wait_for_url(f"**/escalations/{escalation_id}")
    assert page.inner_text("#state") == "已认领"
    resolve_on_page(page, escalation_id, "waived", "已整改到位")
    page.click("#confirm-resolve")
    page.wait_for_url("**done=resolve")
    assert page.inner_text("#state") == "已办结"
    assert "节点未完成" in page.inner_text("dl.facts")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-resolved-open.png"), full_page=True)


def test_referral_created_listed_and_exported(page, live):
    escalation_id = live.seeded.escalation_ids[0]
    log_in(page)
    resolve_on_page(page, escalation_id, "referred_for_accountability", "多次督办仍未推进")
    page.click("#confirm-resolve")
    page.wait_for_url("**done=resolve")
    page.click("#referral-link")
    page.wait_for_url("**/referrals/*")
    sheet = page.inner_text("article.sheet")
    assert "线索移交单" in sheet and "GX-2026-001" in sheet and "王责任" in sheet and "二级" in sheet
    assert page.inner_text("#referral-state") == "已移交"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-referral-sheet.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#docx")
    document = docx.Document(io.BytesIO(Path(info.value.path()).read_bytes()))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "GX-2026-001 天府软件园三期建设" in cells and "30 天" in cells
    page.fill("textarea[name=outcome]", "已给予诫勉谈话")
    page.click("#record-outcome")
    page.wait_for_url("**done=outcome")
    assert page.inner_text("#referral-state") == "已反馈"
    page.goto("/referrals")
    rows = page.locator("#referrals-table tbody tr")
    assert rows.count() == 1 and "GX-2026-001" in rows.first.inner_text() and "已反馈" in rows.first.inner_text()
    with db.transaction(live.sessions) as session:
        referral = session.scalars(sa.select(Referral)).one()
        assert (referral.escalation_id, referral.state) == (escalation_id, "answered")


def registry_csv(completed_on: str) -> bytes:
    due = (TODAY - timedelta(days=9)).isoformat()
    row = {"project_code": CODE, "project_name": "综合管廊一期", "unit": "住房建设局", "lead_leader": "郭刚",
           "lead_leader_mobile": "18900009807", "owner": "杜萍明", "owner_mobile": "19800006866",
           "milestone": "组织实施", "due_date": due, "completed_on": completed_on, "level": "市级"}
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.zh for column in COLUMNS])
    writer.writerow([row.get(column.key, "") for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def upload(page, content: bytes, *, dry_run: bool) -> None:
    page.goto("/admin/import")
    page.set_input_files("input[name=registry]", {"name": "台账.csv", "mimeType": "text/csv", "buffer": content})
    if not dry_run:
        page.uncheck("input[name=dry_run]")
    page.click("#upload")
    page.wait_for_selector("section.import-report")


def test_item_reopened_by_a_reimport_is_back_in_the_queue(page, live):
    log_in(page, "admin1")
    upload(page, registry_csv(""), dry_run=False)
    scan = fast_settings()
    run_tick(live.sessions, scan, now=NOW - timedelta(days=3), backend=RecordingBackend())
    with db.transaction(live.sessions) as session:
        complete_milestone(session, CODE, "组织实施", on=TODAY - timedelta(days=2), evidence="验收报告",
                           now=NOW - timedelta(days=2), actor="cli")
    page.goto(f"/?q={CODE}")
    assert page.inner_text("#total") == "0"
    # the admin's own sheet, without the completion date: the dry run says what will happen
    upload(page, registry_csv(""), dry_run=True)
    assert "已完成节点被重新打开" in page.inner_text("#reopened") and CODE in page.inner_text("#reopened")
    page.click("#commit-import")
    page.wait_for_selector("section.import-report")
    assert "导入完成" in page.inner_text("section.import-report")
    run_tick(live.sessions, scan, now=NOW, backend=RecordingBackend())
    page.goto(f"/?q={CODE}")
    assert page.inner_text("#total") == "1"
    row = page.locator("#queue-table tbody tr").first.inner_text()
    assert CODE in row and "待处理" in row and "二级" in row
    with db.transaction(live.sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation).where(Escalation.dedup_key.like("overdue:%"))).all()
        assert (escalation.state, escalation.level) == ("open", 2)


def fits(tab) -> int:
    return tab.evaluate("document.documentElement.scrollWidth")


def test_board_pages_fit_a_390px_phone(phone, live):
    log_in(phone, "admin1")
    ids = live.seeded.escalation_ids
    urls = ["/", "/?state=all", f"/escalations/{ids[0]}", f"/escalations/{ids[1]}", "/projects",
            "/projects/GX-2026-001", "/evaluation", "/referrals", "/reports", "/admin/import", "/reviews"]
    widths = {}
    for url in urls:
        phone.goto(url)
        widths[url] = fits(phone)
    ARTIFACTS.mkdir(exist_ok=True)
    phone.goto(f"/escalations/{ids[0]}")
    phone.screenshot(path=str(ARTIFACTS / "board-escalation-390.png"), full_page=True)
    phone.goto("/")
    phone.screenshot(path=str(ARTIFACTS / "board-queue-390.png"), full_page=True)
    assert {url: width for url, width in widths.items() if width > 390} == {}
    # names stay whole words: the owner's name cell is wider than one character
    width = phone.evaluate("document.querySelector('#queue-table td[data-label=\"责任人\"]').getBoundingClientRect().width")
    assert width > 100


def test_no_english_on_any_page_for_an_admin(page, live):
    log_in(page, "admin1")
    ids = live.seeded.escalation_ids
    urls = ["/", "/?state=resolved_open", "/projects", "/evaluation", "/referrals", "/reports", "/admin/import", "/reviews",
            *(f"/escalations/{i}" for i in ids), *(f"/projects/{code}" for code in live.seeded.project_codes)]
    found = {}
    for url in urls:
        page.goto(url)
        words = english_words(page.inner_text("body"))
        if words:
            found[url] = words
    assert found == {}


def test_report_web_view_is_styled_under_the_csp(page, live):
    log_in(page, "viewer1")
    page.goto(f"/reports/weekly.html?at={TODAY.isoformat()}")
    page.wait_for_selector("th")
    background = page.eval_on_selector("th", "el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(221, 230, 240)"
