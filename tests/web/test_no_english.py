"""Chinese throughout the board: every page, logged in as admin, has no English words
outside the allow-list (tests/web/chinese_text.py); and the words that were English before
(actors, events, zone, levels, evidence) are Chinese now. SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from deadline_watch.core.db import transaction
from deadline_watch.domain import audit
from deadline_watch.domain.models import Escalation, User

from .chinese_text import english_words, visible_text
from .conftest import NOW, csrf_from
from .test_escalation_actions import post_action

DISPLAY_NAMES = {"admin1": "管理员甲", "super1": "张督办", "super2": "李督办", "viewer1": "王查阅"}


def name_the_users(board) -> None:
    with transaction(board.sessions) as session:
        for user in session.scalars(sa.select(User)):
            user.display_name = DISPLAY_NAMES.get(user.username, user.display_name)


def board_pages(board, client) -> dict[str, str]:
    """Every page of the board with the states that show the most words."""
    ids = board.seeded.escalation_ids
    post_action(board.login("super1"), ids[0], "note", text="已电话联系责任单位")
    post_action(board.login("super1"), ids[1], "resolve", resolution="referred_for_accountability",
                text="多次督办仍未推进", confirm="1")
    with transaction(board.sessions) as session:
        # the system's own events in the history, as a scan and a re-import write them
        audit.record(session, now=NOW, actor="watch", action="escalation.raised", entity_type="escalation",
                     entity_id=ids[0], before={"level": 1}, after={"level": 2})
        escalation = session.get(Escalation, ids[0])
        audit.record(session, now=NOW, actor="import", action="milestone.created", entity_type="milestone",
                     entity_id=escalation.milestone_id, after={"name": "组织实施"})
    urls = ["/", "/?state=resolved_open", "/?state=all", "/projects", "/evaluation",
            "/evaluation?start=2026-10-01&end=2026-11-30", "/referrals", "/reports", "/admin/import",
            "/escalations/99999", "/reviews"]
    urls += [f"/escalations/{escalation_id}" for escalation_id in ids]
    urls += [f"/projects/{code}" for code in board.seeded.project_codes]
    referral = client.get("/referrals").text.split('href="/referrals/', 1)[1].split('"', 1)[0]
    urls.append(f"/referrals/{referral}")
    pages = {url: client.get(url).text for url in urls}
    token = csrf_from(pages["/"])
    pages["confirm"] = client.post(f"/escalations/{ids[2]}/resolve",
                                   data={"csrf_token": token, "resolution": "waived"}).text
    return pages


def test_every_page_is_chinese_for_an_admin(board):
    name_the_users(board)
    client = board.login("admin1")
    found = {url: english_words(visible_text(text)) for url, text in board_pages(board, client).items()}
    assert {url: words for url, words in found.items() if words} == {}


def test_the_formerly_english_words_are_chinese(board):
    name_the_users(board)
    client = board.login("admin1")
    pages = board_pages(board, client)
    escalation = pages[f"/escalations/{board.seeded.escalation_ids[0]}"]
    assert "系统" in escalation and "张督办(督办员)" in escalation and "督办升级" in escalation
    assert "user:" not in escalation and "watch" not in visible_text(escalation)
    assert "一级 → 二级" in escalation and "2级" not in escalation
    project = pages["/projects/GX-2026-001"]
    assert "新增节点" in project and "节点 " in project and "milestone.created" not in project
    assert "佐证资料" in project and "佐证材料" not in project
    assert "北京时间" in pages["/"] and "Asia/Shanghai" not in pages["/"]
    assert "二级" in pages["/"] and "督办事项不存在" in pages["/escalations/99999"]


def test_error_and_login_messages_are_chinese_only(board):
    client = board.client()
    login_page = client.get("/login").text
    assert english_words(visible_text(login_page)) == []
    wrong = client.post("/login", data={"username": "admin1", "password": "nope-nope-1",
                                        "csrf_token": csrf_from(login_page)})
    assert "用户名或密码错误" in wrong.text and english_words(visible_text(wrong.text)) == []
    forbidden = board.login("viewer1").get("/admin/import")
    assert forbidden.status_code == 403 and english_words(visible_text(forbidden.text)) == []
