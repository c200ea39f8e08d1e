"""Acknowledge, assign, note and resolve from the page and the API, with roles and CSRF."""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import select

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import AuditEvent, Escalation

from .conftest import csrf_from


def escalation(board, escalation_id):
    with transaction(board.sessions) as session:
        return session.get(Escalation, escalation_id)


def audit_actions(board, escalation_id):
    with transaction(board.sessions) as session:
        return [(a.actor, a.action) for a in session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "escalation", AuditEvent.entity_id == escalation_id)
            .order_by(AuditEvent.id))]


def post_action(client, escalation_id, action, **fields):
    token = csrf_from(client.get(f"/escalations/{escalation_id}").text)
    return client.post(f"/escalations/{escalation_id}/{action}", data={"csrf_token": token, **fields})


def test_detail_page_shows_facts_actions_and_sms(board):
    escalation_id = board.seeded.escalation_ids[0]
    html = board.login("super1").get(f"/escalations/{escalation_id}").text
    assert "天府软件园三期建设" in html and "逾期 30 天" in html and "已送达责任人" in html
    assert 'id="acknowledge"' in html and "移交问责" in html


def test_viewer_sees_no_action_forms(board):
    html = board.login("viewer1").get(f"/escalations/{board.seeded.escalation_ids[0]}").text
    assert 'id="acknowledge"' not in html and "办结方式" not in html


def test_acknowledge_from_the_page_records_who_and_when(board):
    escalation_id = board.seeded.escalation_ids[0]
    client = board.login("super1")
    response = post_action(client, escalation_id, "acknowledge")
    assert response.status_code == 303
    assert response.headers["location"] == f"/escalations/{escalation_id}?done=acknowledge"
    row = escalation(board, escalation_id)
    assert row.state == "acknowledged" and row.acknowledged_at == board.clock.now()
    assert audit_actions(board, escalation_id) == [("user:super1", "escalation.acknowledged")]
    page = client.get(response.headers["location"]).text
    assert "操作已保存" in page and "super1(督办员)" in page and "user:super1" not in page


def test_full_life_assign_note_resolve_shows_in_history(board):
    escalation_id = board.seeded.escalation_ids[1]
    client = board.login("super1")
    assert post_action(client, escalation_id, "assign", assignee="super2").status_code == 303
    assert post_action(client, escalation_id, "note", text="已电话联系责任单位").status_code == 303
    assert post_action(client, escalation_id, "resolve", resolution="referred_for_accountability",
                       text="移交纪委", confirm="1").status_code == 303
    row = escalation(board, escalation_id)
    assert row.state == "resolved" and row.resolution == "referred_for_accountability"
    assert "已电话联系责任单位" in row.notes and "移交纪委" in row.notes
    assert "[2026-11-23 10:00 super1]" in row.notes  # the supervisors' local time
    assert [action for _, action in audit_actions(board, escalation_id)] == [
        "escalation.assigned", "escalation.note_added", "escalation.resolved"]
    page = client.get(f"/escalations/{escalation_id}").text
    assert "已电话联系责任单位" in page and "→ super2" in page and "移交问责" in page
    assert "线索移交单" in page  # 移交问责 opened a referral record
    assert 'id="resolve"' not in page  # resolved is final


def test_resolving_twice_is_refused_with_409(board):
    escalation_id = board.seeded.escalation_ids[3]  # seeded resolved
    response = post_action(board.login("super1"), escalation_id, "resolve", resolution="waived", confirm="1")
    assert response.status_code == 409
    assert "已办结" in response.text


def test_viewer_posting_an_action_gets_403_and_nothing_changes(board):
    escalation_id = board.seeded.escalation_ids[0]
    response = post_action(board.login("viewer1"), escalation_id, "acknowledge")
    assert response.status_code == 403
    assert escalation(board, escalation_id).state == "open"
    assert audit_actions(board, escalation_id) == []


def test_action_without_csrf_token_is_refused(board):
    escalation_id = board.seeded.escalation_ids[0]
    client = board.login("super1")
    response = client.post(f"/escalations/{escalation_id}/acknowledge", data={})
    assert response.status_code == 403
    assert "页面已过期" in response.text
    wrong = client.post(f"/escalations/{escalation_id}/acknowledge", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    assert escalation(board, escalation_id).state == "open"


def test_assigning_to_a_viewer_is_refused(board):
    response = post_action(board.login("admin1"), board.seeded.escalation_ids[0], "assign", assignee="viewer1")
    assert response.status_code == 409


def test_unknown_escalation_is_404(board):
    client = board.login("super1")
    assert client.get("/escalations/99999").status_code == 404
    assert client.get("/api/escalations/99999").status_code == 404


def test_api_action_needs_the_csrf_header_with_a_cookie_session(board):
    escalation_id = board.seeded.escalation_ids[0]
    client = board.login("super1")
    assert client.post(f"/api/escalations/{escalation_id}/acknowledge").status_code == 403
    token = client.get("/api/me").json()["csrf_token"]
    response = client.post(f"/api/escalations/{escalation_id}/acknowledge", headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    assert response.json()["history"][0]["actor"] == "user:super1"


def test_api_resolve_note_assign_and_errors(board):
    escalation_id = board.seeded.escalation_ids[4]
    client = board.login("admin1")
    headers = {"X-CSRF-Token": client.get("/api/me").json()["csrf_token"]}
    url = f"/api/escalations/{escalation_id}"
    assert client.post(f"{url}/assign", json={"assignee": "super1"}, headers=headers).json()["assignee"] == "super1"
    assert client.post(f"{url}/notes", json={"text": "  "}, headers=headers).status_code == 409
    assert client.post(f"{url}/notes", json={"text": "催办"}, headers=headers).status_code == 200
    assert client.post(f"{url}/resolve", json={"resolution": "cancelled"}, headers=headers).status_code == 422
    body = client.post(f"{url}/resolve", json={"resolution": "deadline_extended", "note": "批准延期至12月"},
                       headers=headers).json()
    assert body["state"] == "resolved" and body["resolution"] == "deadline_extended"
    assert client.post(f"{url}/acknowledge", headers=headers).status_code == 409


def test_api_viewer_gets_403_on_actions(board):
    client = board.login("viewer1")
    headers = {"X-CSRF-Token": client.get("/api/me").json()["csrf_token"]}
    response = client.post(f"/api/escalations/{board.seeded.escalation_ids[0]}/acknowledge", headers=headers)
    assert response.status_code == 403


def test_api_detail_lists_notifications_and_history(board):
    body = board.login("viewer1").get(f"/api/escalations/{board.seeded.escalation_ids[1]}").json()
    assert body["reached_official"] is False
    assert body["notifications"][0]["state"] == "failed"
    assert body["notifications"][0]["to"].count("*") == 4  # masked for viewers (web.full_mobiles_for)
    full = board.login("super1").get(f"/api/escalations/{board.seeded.escalation_ids[1]}").json()
    assert "*" not in full["notifications"][0]["to"]


def test_notes_are_shown_escaped(board):
    escalation_id = board.seeded.escalation_ids[0]
    client = board.login("super1")
    post_action(client, escalation_id, "note", text="<script>alert(1)</script>")
    page = client.get(f"/escalations/{escalation_id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_acknowledge_from_the_queue_returns_to_the_same_queue_page(board):
    client = board.login("super1")
    html = client.get("/", params={"unit": "生态环境局"}).text
    assert html.count('class="quick"') == 2  # both open items of that unit
    escalation_id = board.seeded.escalation_ids[1]
    response = client.post(f"/escalations/{escalation_id}/acknowledge",
                           data={"csrf_token": csrf_from(html), "next": "/?unit=生态环境局"})
    assert response.status_code == 303
    assert unquote(response.headers["location"]) == "/?unit=生态环境局"
    assert escalation(board, escalation_id).state == "acknowledged"
    bad = client.post(f"/escalations/{board.seeded.escalation_ids[4]}/acknowledge",
                      data={"csrf_token": csrf_from(html), "next": "https://evil.example/"})
    assert bad.headers["location"] == "/"


def test_viewers_get_no_quick_acknowledge_in_the_queue(board):
    assert 'class="quick"' not in board.login("viewer1").get("/").text
