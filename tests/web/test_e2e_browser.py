"""End to end in headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

The real app runs under uvicorn in a thread on an ephemeral 127.0.0.1 port over a
migrated, seeded SQLite file. Without Chromium these tests skip on a laptop and fail
under CI=true. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
import uvicorn

from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.domain.models import Escalation
from deadline_watch.web import create_app

from .conftest import NOW, PASSWORD, board_settings, seed_board

CHROMIUM = Path(os.environ.get("DEADLINE_WATCH_CHROMIUM", "/usr/bin/chromium"))
# same rule as tests/conftest.py: under CI a missing browser fails instead of skipping
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@contextmanager
def launched_chromium() -> Iterator:
    """Debian's Chromium, headless, through Playwright (closed on the way out)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed"
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


class LiveServer:
    def __init__(self, app) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def live(sqlite_template, tmp_path_factory):
    _require_browser()
    path = tmp_path_factory.mktemp("e2e") / "board.db"
    shutil.copyfile(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        seeded = seed_board(session)
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


@pytest.fixture
def page(browser, live):
    context = browser.new_context(base_url=live.url, accept_downloads=True, viewport={"width": 1360, "height": 900},
                                  locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def log_in(page, username="super1"):
    page.goto("/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_login_and_filter_the_queue_then_screenshot(page, live):
    log_in(page)
    assert page.inner_text("#total") == "4"
    page.select_option("select[name=unit]", "生态环境局")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**unit=*")
    assert page.inner_text("#total") == "2"
    rows = page.locator("#queue-table tbody tr")
    assert rows.count() == 2
    assert "GX-2026-002" in rows.nth(0).inner_text()
    page.goto("/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-queue.png"), full_page=True)


def test_search_runs_on_the_server_and_the_count_follows_it(page):
    log_in(page)
    page.fill("input[name=q]", "污水")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=*")
    rows = page.locator("#queue-table tbody tr")
    assert rows.count() == 1 and "GX-2026-002" in rows.first.inner_text()
    assert page.inner_text("#total") == "1"


def test_acknowledge_and_resolve_an_escalation(page, live):
    log_in(page)
    page.click("#queue-table a[href^='/escalations/'] >> nth=0")
    page.wait_for_url("**/escalations/*")
    escalation_id = int(page.url.rsplit("/", 1)[1])
    page.click("#acknowledge")
    page.wait_for_url("**done=acknowledge")
    assert page.inner_text("#state") == "已认领"
    page.select_option("#resolution", "referred_for_accountability")
    page.fill("form[action$='/resolve'] input[name=text]", "移交区纪委监委")
    page.click("#resolve")
    page.wait_for_selector("#confirm-resolve")  # 办结 asks first
    page.click("#confirm-resolve")
    page.wait_for_url("**done=resolve")
    assert page.inner_text("#state") == "已办结"
    history = page.inner_text("#history")
    assert "认领" in history and "办结" in history and "移交区纪委监委" in history
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-escalation.png"), full_page=True)
    with db.transaction(live.sessions) as session:
        row = session.get(Escalation, escalation_id)
        assert row.state == "resolved" and row.resolution == "referred_for_accountability"


def test_download_weekly_xlsx_and_read_it_back(page, live):
    log_in(page)
    page.goto("/reports")
    with page.expect_download() as info:
        page.click("#weekly-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert workbook.sheetnames[0] == "调度清单"
    values = [str(c.value) for row in workbook["调度清单"].iter_rows() for c in row if c.value is not None]
    assert "天府软件园三期建设" in values


def test_traffic_light_board_screenshot(page):
    log_in(page, "viewer1")
    page.goto("/projects")
    assert page.locator(".node.red").count() >= 5
    assert page.locator(".node.yellow").count() >= 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-projects.png"), full_page=True)
    page.goto("/evaluation?start=2026-10-01&end=2026-11-30")
    assert page.locator("figure.chart svg rect").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "board-evaluation.png"), full_page=True)


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (390, 844)])
def test_overview_fits_a_wall_screen_and_a_phone(browser, live, width, height):
    context = browser.new_context(base_url=live.url, viewport={"width": width, "height": height}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        log_in(tab, "viewer1")
        response = tab.goto("/overview")
        assert response.status == 200, tab.content()[:2000]
        assert tab.locator('meta[http-equiv="refresh"]').get_attribute("content") == "300"
        totals = tab.locator(".overview .totals dd")
        assert totals.nth(0).inner_text() == "5"  # overdue milestones
        assert tab.locator("figure.chart svg").count() == 3
        assert tab.locator(".overview table").first.locator("tbody tr").count() == 5  # longest overdue
        # the dashboard itself never scrolls sideways: charts and tables fit the width
        overflow = tab.evaluate(
            "() => { const o = document.querySelector('.overview');"
            " return o.scrollWidth - o.clientWidth; }")
        assert overflow <= 1
        for chart in tab.locator("figure.chart svg").all():
            box = chart.bounding_box()
            assert box and box["width"] <= width and box["height"] > 30
        if width >= 1920:
            # a wall screen shows the totals and the first charts without scrolling
            assert tab.locator(".overview .totals").bounding_box()["y"] < height
            assert tab.locator("figure.chart svg").first.bounding_box()["y"] < height
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"board-overview-{width}.png"), full_page=True)
    finally:
        context.close()


def test_official_portrait_from_the_evaluation_page(page):
    log_in(page, "viewer1")
    page.goto("/evaluation?start=2026-10-01&end=2026-11-30")
    page.click("a[href^='/officials/'] >> text=王责任")
    page.wait_for_url("**/officials/*")
    assert "责任人画像" in page.inner_text("h1") and "王责任" in page.inner_text("h1")
    assert page.locator("figure.chart svg rect").count() >= 3
    assert page.locator(".figures dd").count() >= 10
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-portrait-official.png"), full_page=True)
