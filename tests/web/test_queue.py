"""The escalation queue page and its JSON twin: order, filters, masking, pagination."""

from __future__ import annotations

import re
from datetime import timedelta

import factories
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Escalation

from .conftest import NOW, TODAY


def codes_on(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/(GX-[\d-]+)">', html)


def test_queue_lists_open_and_acknowledged_most_overdue_first(board):
    html = board.login("viewer1").get("/").text
    assert codes_on(html) == ["GX-2026-001", "GX-2026-002", "GX-2026-003", "GX-2026-005"]
    assert "GX-2026-004" not in html  # resolved
    assert "逾期未完成" in html and "已送达" in html and "发送失败" in html


def test_queue_shows_full_mobiles_as_tel_links_to_supervisors_and_masks_them_for_viewers(board):
    mobile = board.seeded.owner_mobile
    for name in ("super1", "admin1"):
        assert f'href="tel:{mobile}"' in board.login(name).get("/").text
    viewer_page = board.login("viewer1").get("/").text
    assert mobile not in viewer_page and "+86139****5678" in viewer_page and "tel:" not in viewer_page


def test_queue_filters_by_unit_level_state_project_level_and_text(board):
    client = board.login("super1")
    assert codes_on(client.get("/", params={"unit": "生态环境局"}).text) == ["GX-2026-002", "GX-2026-005"]
    assert codes_on(client.get("/", params={"level": "2"}).text) == ["GX-2026-001"]
    assert codes_on(client.get("/", params={"state": "acknowledged"}).text) == ["GX-2026-003"]
    assert codes_on(client.get("/", params={"state": "resolved"}).text) == ["GX-2026-004"]
    assert codes_on(client.get("/", params={"project_level": "省级"}).text) == ["GX-2026-001"]
    assert codes_on(client.get("/", params={"q": "污水"}).text) == ["GX-2026-002"]
    assert codes_on(client.get("/", params={"q": "GX-2026-005"}).text) == ["GX-2026-005"]


def test_queue_ignores_nonsense_filter_values_instead_of_failing(board):
    response = board.login("super1").get("/", params={"level": "abc", "state": "evil", "page": "1"})
    assert response.status_code == 200
    assert len(codes_on(response.text)) == 4


def test_queue_pages_by_fifty(board):
    with transaction(board.sessions) as session:
        project = factories.project(session, "GX-PAGE-1", name="分页测试项目")
        for number in range(60):
            milestone = factories.milestone(session, TODAY - timedelta(days=100 + number), project_=project,
                                            name=f"节点{number:02d}")
            session.add(Escalation(dedup_key=f"page:{number}", milestone_id=milestone.id, reason="overdue",
                                   due_date=milestone.due_date, level=1, state="open", opened_at=NOW))
    client = board.login("super1")
    first = client.get("/").text
    assert "共 <strong id=\"total\">64</strong> 项" in first
    assert first.count("GX-PAGE-1</a>") == 50
    assert 'rel="next"' in first
    second = client.get("/", params={"page": 2}).text
    assert second.count("GX-PAGE-1</a>") == 10 and "GX-2026-001" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_api_queue_returns_the_same_rows_with_masked_mobiles(board):
    body = board.login("viewer1").get("/api/escalations", params={"unit": "新经济发展局"}).json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["project_code"] == "GX-2026-001" and item["days_overdue"] == 30 and item["level"] == 2
    assert item["owner_mobile"] == "+86139****5678"
    assert item["last_sms_state"] == "delivered"


def test_api_queue_shows_full_mobiles_to_admins(board):
    body = board.login("admin1").get("/api/escalations", params={"q": "GX-2026-001"}).json()
    assert body["items"][0]["owner_mobile"] == board.seeded.owner_mobile


def test_a_page_past_the_end_still_reports_the_total(board):
    client = board.login("super1")
    html = client.get("/", params={"unit": "生态环境局", "page": 9}).text
    assert 'id="total">2</strong>' in html and codes_on(html) == []
    body = client.get("/api/escalations", params={"page": 9}).json()
    assert body["total"] == 4 and body["items"] == []


def test_an_official_who_replied_td_is_marked_on_their_rows_and_the_escalation_page(board):
    from sqlalchemy import select

    from deadline_watch.domain.models import Person

    with transaction(board.sessions) as session:
        owner = session.scalars(select(Person).where(Person.mobile == board.seeded.owner_mobile)).one()
        owner.unsubscribe_requested_at = NOW
    client = board.login("super1")
    html = client.get("/").text
    assert html.count("已回复退订") == 1  # only GX-2026-001 belongs to that official
    assert "已回复退订" in client.get(f"/escalations/{board.seeded.escalation_ids[0]}").text


def test_the_board_shows_a_users_display_name_not_the_login(board):
    from deadline_watch.board import users

    with transaction(board.sessions) as session:
        users.add_user(session, username="wang.dc", role="supervisor", password="correct-horse-1",
                       mobile="13800138077", display_name="王督查", now=NOW)
    client = board.login("wang.dc", "correct-horse-1")
    html = client.get("/").text
    assert "王督查" in html and "wang.dc" not in html
