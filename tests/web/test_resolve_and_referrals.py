"""办结 with intent, 移交问责 referrals as records, phones supervisors can call, queue counts.

Route tests on SQLite and PostgreSQL over the seeded board (tests/web/conftest.py).
"""

from __future__ import annotations

import io
from datetime import timedelta

import docx
import sqlalchemy as sa

import factories
from deadline_watch.board.referrals import referral_counts_by_unit
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Escalation, Milestone, Project, Referral

from .conftest import NOW, TODAY, Board, board_settings, csrf_from
from .test_escalation_actions import audit_actions, escalation, post_action
from .test_queue import codes_on

LEADER_MOBILE = "+8618900009807"


def give_lead_leader(board, *codes: str) -> None:
    with transaction(board.sessions) as session:
        leader = factories.person(session, name="郭刚", mobile=LEADER_MOBILE, roles="lead_leader")
        for code in codes:
            session.scalars(sa.select(Project).where(Project.code == code)).one().lead_leader_id = leader.id


def milestone_of(board, escalation_id) -> Milestone:
    with transaction(board.sessions) as session:
        milestone = session.get(Escalation, escalation_id).milestone
        session.expunge(milestone)
        return milestone


# ---- 办结 with intent ----------------------------------------------------------------


def test_resolve_asks_for_confirmation_first_and_changes_nothing_until_confirmed(board):
    escalation_id = board.seeded.escalation_ids[0]
    client = board.login("super1")
    page = client.get(f"/escalations/{escalation_id}").text
    assert '<option value="" selected disabled>请选择办结方式</option>' in page
    response = post_action(client, escalation_id, "resolve", resolution="waived", text="已整改")
    assert response.status_code == 200 and "确认办结" in response.text and "免予督办" in response.text
    assert escalation(board, escalation_id).state == "open" and audit_actions(board, escalation_id) == []
    token = csrf_from(response.text)
    done = client.post(f"/escalations/{escalation_id}/resolve",
                       data={"csrf_token": token, "resolution": "waived", "text": "已整改", "confirm": "1"})
    assert done.status_code == 303
    assert (escalation(board, escalation_id).state, escalation(board, escalation_id).resolution) == (
        "resolved", "waived")


def test_resolve_without_a_chosen_outcome_is_refused(board):
    escalation_id = board.seeded.escalation_ids[0]
    response = post_action(board.login("super1"), escalation_id, "resolve", resolution="")
    assert response.status_code == 409 and "请选择办结方式" in response.text
    assert escalation(board, escalation_id).state == "open"


def test_completed_late_only_offered_and_accepted_for_a_completed_milestone(board):
    escalation_id = board.seeded.escalation_ids[0]
    client = board.login("super1")
    page = client.get(f"/escalations/{escalation_id}").text
    assert 'value="completed_late"' not in page
    refused = post_action(client, escalation_id, "resolve", resolution="completed_late", confirm="1")
    assert refused.status_code == 409 and "节点尚未完成" in refused.text
    assert escalation(board, escalation_id).state == "open"
    api = client.post(f"/api/escalations/{escalation_id}/resolve", json={"resolution": "completed_late"},
                      headers={"X-CSRF-Token": client.get("/api/me").json()["csrf_token"]})
    assert api.status_code == 409
    with transaction(board.sessions) as session:
        milestone = session.get(Escalation, escalation_id).milestone
        milestone.status, milestone.completed_on = "completed", TODAY
    assert 'value="completed_late"' in client.get(f"/escalations/{escalation_id}").text
    assert post_action(client, escalation_id, "resolve", resolution="completed_late", confirm="1").status_code == 303


def test_item_resolved_with_its_milestone_open_stays_in_view_and_undo_brings_it_back(board):
    escalation_id = board.seeded.escalation_ids[1]  # GX-2026-002
    client = board.login("super1")
    post_action(client, escalation_id, "resolve", resolution="deadline_extended", confirm="1")
    assert "GX-2026-002" not in codes_on(client.get("/").text)
    # GX-2026-004 is seeded resolved (免予督办) with its milestone open, too
    assert codes_on(client.get("/", params={"state": "resolved_open"}).text) == ["GX-2026-002", "GX-2026-004"]
    assert "已办结未完成" in client.get("/projects/GX-2026-002").text
    page = client.get(f"/escalations/{escalation_id}").text
    assert 'id="unresolve"' in page and "节点未完成" in page
    assert post_action(client, escalation_id, "unresolve", text="延期未获批准").status_code == 303
    row = escalation(board, escalation_id)
    assert (row.state, row.resolution, row.resolved_at) == ("open", None, None)
    assert "GX-2026-002" in codes_on(client.get("/").text)
    assert audit_actions(board, escalation_id)[-1] == ("user:super1", "escalation.unresolved")
    assert "撤销办结" in client.get(f"/escalations/{escalation_id}").text


def test_viewer_cannot_undo_and_a_scan_resolution_cannot_be_undone(board):
    escalation_id = board.seeded.escalation_ids[3]  # seeded resolved, waived
    assert post_action(board.login("viewer1"), escalation_id, "unresolve").status_code == 403
    with transaction(board.sessions) as session:
        session.get(Escalation, escalation_id).resolution = "cancelled"
    response = post_action(board.login("super1"), escalation_id, "unresolve")
    assert response.status_code == 409 and escalation(board, escalation_id).state == "resolved"


def test_resolved_open_item_comes_back_when_the_new_date_passes_again(board):
    from deadline_watch.daemon.tick import run_tick
    from watch_support import RecordingBackend, fast_settings

    escalation_id = board.seeded.escalation_ids[3]  # waived, milestone open
    milestone = milestone_of(board, escalation_id)
    with transaction(board.sessions) as session:
        session.get(Milestone, milestone.id).due_date = TODAY + timedelta(days=5)
    settings = fast_settings()
    run_tick(board.sessions, settings, now=NOW, backend=RecordingBackend())
    assert escalation(board, escalation_id).state == "resolved"
    later = run_tick(board.sessions, settings, now=NOW + timedelta(days=8), backend=RecordingBackend())
    assert later.scan.escalations_opened >= 1
    with transaction(board.sessions) as session:
        states = dict(session.execute(
            sa.select(Escalation.due_date, Escalation.state).where(Escalation.milestone_id == milestone.id)).all())
    assert states[TODAY + timedelta(days=5)] == "open"


# ---- referrals -------------------------------------------------------------------------


def refer(board, escalation_id, client=None):
    client = client or board.login("super1")
    response = post_action(client, escalation_id, "resolve", resolution="referred_for_accountability",
                           text="多次督办仍未推进", confirm="1")
    assert response.status_code == 303
    with transaction(board.sessions) as session:
        referral = session.scalars(sa.select(Referral).where(Referral.escalation_id == escalation_id)).one()
        session.expunge(referral)
        return referral


def test_referral_records_the_facts_when_resolving_with_referral(board):
    give_lead_leader(board, "GX-2026-001")
    escalation_id = board.seeded.escalation_ids[0]
    referral = refer(board, escalation_id)
    facts = referral.facts
    assert referral.state == "referred" and referral.referred_by == "user:super1"
    assert (facts["project_code"], facts["milestone"], facts["unit"]) == ("GX-2026-001", "组织实施", "新经济发展局")
    assert (facts["owner"], facts["owner_mobile"]) == ("王责任", board.seeded.owner_mobile)
    assert (facts["lead_leader"], facts["lead_leader_mobile"]) == ("郭刚", LEADER_MOBILE)
    assert facts["days_overdue"] == 30 and referral.days_overdue == 30 and facts["levels_reached"] == [2]
    assert (facts["sms_sent"], facts["sms_delivered"]) == (1, 1)
    assert "多次督办仍未推进" in facts["notes"]
    assert [item["action"] for item in facts["history"]] == ["escalation.resolved"]
    # the referred item cannot be undone: the referral is a record
    assert post_action(board.login("super1"), escalation_id, "unresolve").status_code == 409


def test_referrals_page_lists_filters_and_records_the_outcome_once(board):
    first = refer(board, board.seeded.escalation_ids[0])
    second = refer(board, board.seeded.escalation_ids[1])
    client = board.login("viewer1")
    listing = client.get("/referrals").text
    assert "GX-2026-001" in listing and "GX-2026-002" in listing and 'id="total">2<' in listing
    only_unit = client.get("/referrals", params={"unit": "生态环境局"}).text
    assert "GX-2026-002" in only_unit and "GX-2026-001" not in only_unit and 'id="total">1<' in only_unit
    assert 'id="total">1<' in client.get("/referrals", params={"q": "污水"}).text
    assert 'id="total">0<' in client.get("/referrals", params={"start": "2026-11-24"}).text
    assert client.get("/referrals", params={"start": "昨天"}).status_code == 400
    supervisor = board.login("super1")
    page = supervisor.get(f"/referrals/{first.id}").text
    assert "线索移交单" in page and "已移交" in page and 'id="record-outcome"' in page
    assert 'id="record-outcome"' not in client.get(f"/referrals/{first.id}").text  # viewers read only
    token = csrf_from(page)
    done = supervisor.post(f"/referrals/{first.id}/outcome", data={"csrf_token": token, "outcome": "已给予诫勉谈话"})
    assert done.status_code == 303
    answered = supervisor.get(f"/referrals/{first.id}").text
    assert "已反馈" in answered and "已给予诫勉谈话" in answered
    again = supervisor.post(f"/referrals/{first.id}/outcome", data={"csrf_token": token, "outcome": "再次"})
    assert again.status_code == 409
    assert 'id="total">1<' in client.get("/referrals", params={"state": "answered"}).text
    assert client.post(f"/referrals/{second.id}/outcome", data={"csrf_token": csrf_from(listing),
                                                                "outcome": "x"}).status_code == 403


def test_referral_exports_as_docx_with_the_facts(board):
    give_lead_leader(board, "GX-2026-001")
    referral = refer(board, board.seeded.escalation_ids[0])
    response = board.login("super1").get(f"/referrals/{referral.id}/sheet.docx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert "线索移交单" in text and "GX-2026-001" in cells and "郭刚" in cells and LEADER_MOBILE in cells
    assert "30 天" in cells and "二级" in cells and "发出 1 条,送达 1 条" in cells and "super1(督办员)" in cells
    masked = board.login("viewer1").get(f"/referrals/{referral.id}/sheet.docx")
    masked_cells = "\n".join(c.text for t in docx.Document(io.BytesIO(masked.content)).tables
                             for r in t.rows for c in r.cells)
    assert LEADER_MOBILE not in masked_cells


def test_referral_counts_by_unit_for_the_monthly_figures(board):
    refer(board, board.seeded.escalation_ids[0])
    refer(board, board.seeded.escalation_ids[1])
    refer(board, board.seeded.escalation_ids[4])
    with transaction(board.sessions) as session:
        counts = referral_counts_by_unit(session, TODAY.replace(day=1), TODAY)
        assert [(c.unit, c.total, c.answered) for c in counts] == [("生态环境局", 2, 0), ("新经济发展局", 1, 0)]
        assert referral_counts_by_unit(session, TODAY + timedelta(days=1), TODAY + timedelta(days=30)) == []


# ---- phones and the queue ----------------------------------------------------------------


def test_lead_leader_number_on_the_escalation_page_and_queue_filter_by_lead_leader(board):
    give_lead_leader(board, "GX-2026-001", "GX-2026-003")
    escalation_id = board.seeded.escalation_ids[0]
    page = board.login("super1").get(f"/escalations/{escalation_id}").text
    assert "郭刚" in page and f'href="tel:{LEADER_MOBILE}"' in page
    viewer_page = board.login("viewer1").get(f"/escalations/{escalation_id}").text
    assert LEADER_MOBILE not in viewer_page and "+86189****9807" in viewer_page
    client = board.login("super1")
    filtered = client.get("/", params={"lead_leader": "郭刚"}).text
    assert codes_on(filtered) == ["GX-2026-001", "GX-2026-003"] and 'id="total">2<' in filtered


def test_phone_visibility_is_configurable_per_role(board):
    settings = board_settings(full_mobiles_for=["admin"])
    strict = Board(AppContext(settings, clock=FixedClock(NOW), engine_override=board.app_context.engine),
                   board.sessions, board.seeded, board.clock)
    assert board.seeded.owner_mobile not in strict.login("super1").get("/").text
    assert f'href="tel:{board.seeded.owner_mobile}"' in strict.login("admin1").get("/").text


def test_queue_count_follows_every_filter_including_search(board):
    client = board.login("super1")
    for params in ({"q": "污水"}, {"q": "王责任"}, {"q": "GX-2026"}, {"unit": "生态环境局", "q": "中和"},
                   {"state": "all", "q": "GX-2026-00"}, {"q": "nothing-matches"}):
        html = client.get("/", params=params).text
        assert f'id="total">{len(codes_on(html))}<' in html, params
    assert codes_on(client.get("/", params={"q": "王责任"}).text) == ["GX-2026-001"]


def test_admin_correction_on_the_project_page_reopens_a_completed_milestone(board):
    escalation_id = board.seeded.escalation_ids[0]
    milestone = milestone_of(board, escalation_id)
    with transaction(board.sessions) as session:
        row = session.get(Milestone, milestone.id)
        row.status, row.completed_on = "completed", TODAY
    admin = board.login("admin1")
    page = admin.get("/projects/GX-2026-001").text
    assert "撤销完成登记" in page
    assert "撤销完成登记" not in board.login("super1").get("/projects/GX-2026-001").text
    response = admin.post(f"/projects/GX-2026-001/milestones/{milestone.id}/reopen",
                          data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    with transaction(board.sessions) as session:
        row = session.get(Milestone, milestone.id)
        assert (row.status, row.completed_on) == ("open", None)
    wrong_project = admin.post(f"/projects/GX-2026-002/milestones/{milestone.id}/reopen",
                               data={"csrf_token": csrf_from(page)})
    assert wrong_project.status_code == 404
    supervisor = board.login("super1")
    forbidden = supervisor.post(f"/projects/GX-2026-001/milestones/{milestone.id}/reopen",
                                data={"csrf_token": csrf_from(supervisor.get("/").text)})
    assert forbidden.status_code == 403
