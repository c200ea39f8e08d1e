"""责任人画像, 单位画像 and 督办总览 on the seeded board (hand-counted), read models and pages."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

import factories
from deadline_watch.board import overview, portraits
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Milestone, OfficialRequest, Person, Project, Unit

from .conftest import NOW, TODAY


def _ids(board) -> tuple[int, int]:
    with transaction(board.sessions) as s:
        person = s.scalar(select(Person.id).where(Person.name == "王责任"))
        unit = s.scalar(select(Unit.id).where(Unit.name == "新经济发展局"))
    return person, unit


def test_official_portrait_counts_their_milestones(board) -> None:
    person_id, _ = _ids(board)
    with transaction(board.sessions) as s:
        p = portraits.official_portrait(s, person_id, today=TODAY)
    f, r = p.figures, p.figures.record
    # GX-2026-001: 组织实施 30 days overdue (level 2), 阶段成果 and 验收结项 not yet due
    assert (p.name, p.unit, f.owned, f.led) == ("王责任", "新经济发展局", 3, 0)  # their project's unit
    assert (r.milestones_due, r.completed_on_time, r.still_overdue, r.on_time_rate) == (1, 0, 1, 0.0)
    assert (r.avg_days_late, f.worst_days_late, r.escalations_level2) == (30.0, 30, 1)
    assert (f.sms_received, f.sms_delivered) == (1, 1)
    assert [t.month for t in p.trend][-2:] == ["2026-10", "2026-11"]
    october = p.trend[-2]
    assert (october.due, october.overdue) == (1, 1)
    assert len(p.trend) == 12 and p.trend[0].month == "2025-12"


def test_unit_portrait_sums_its_projects_and_lists_officials(board) -> None:
    _, unit_id = _ids(board)
    with transaction(board.sessions) as s:
        p = portraits.unit_portrait(s, unit_id, today=TODAY)
    r = p.figures.record
    # GX-2026-001 (30 days, level 2) and GX-2026-004 (3 days, level 1, resolved)
    assert (r.milestones_due, r.still_overdue, r.avg_days_late, p.figures.worst_days_late) == (2, 2, 16.5, 30)
    assert r.escalations_level2 == 1
    assert (p.figures.sms_received, p.figures.sms_delivered) == (2, 2)
    assert [o.still_overdue for o in p.officials] == [1, 1]


def test_overview_figures_and_ranking_with_ties(board) -> None:
    with transaction(board.sessions) as s:
        o = overview.overview(s, today=TODAY, settings=board.app_context.settings)
    assert o.lights == {"red": 5, "yellow": 5, "green": 5}
    assert o.red_projects == 5
    # two units tie at 2 overdue: both rank 1, the next is 3
    assert [(u.rank, u.unit, u.overdue) for u in o.units] == [
        (1, "新经济发展局", 2), (1, "生态环境局", 2), (3, "住房建设局", 1)]
    assert o.escalation_levels == {1: 3, 2: 1}
    assert o.longest[0].project_code == "GX-2026-001" and o.longest[0].days_overdue == 30
    assert len(o.weeks) == 12 and o.weeks[-1].start == date(2026, 11, 23)
    # weeks of 9, 16 and 23 November: due 11-13 | 11-18, 11-20 | 11-22 first overdue; backlog at week end
    assert [(w.new_overdue, w.backlog) for w in o.weeks[-3:]] == [(1, 2), (2, 4), (1, 5)]


def test_pages_render_for_every_role(board) -> None:
    person_id, unit_id = _ids(board)
    for username in ("viewer1", "super1", "admin1"):
        client = board.login(username)
        official = client.get(f"/officials/{person_id}")
        assert official.status_code == 200
        assert "责任人画像" in official.text and "<svg" in official.text
        masked = "+86139****5678" in official.text
        assert masked is (username != "admin1")
        assert client.get(f"/units/{unit_id}").status_code == 200
        page = client.get("/overview")
        assert page.status_code == 200
        assert '<meta http-equiv="refresh" content="300">' in page.text
        assert "<script" not in page.text.split("<footer>")[0]


def test_unknown_official_or_unit_is_404(board) -> None:
    client = board.login("viewer1")
    assert client.get("/officials/999999").status_code == 404
    assert client.get("/units/999999").status_code == 404


def test_overview_needs_login(board) -> None:
    response = board.client().get("/overview")
    assert response.status_code in (303, 401)


def test_overview_leaves_out_every_milestone_of_a_stopped_project(board) -> None:
    with transaction(board.sessions) as s:
        for status in ("suspended", "completed", "cancelled"):
            stopped = factories.project(s, status=status, unit_name="住房建设局")
            factories.milestone(s, TODAY - timedelta(days=4), project_=stopped, name="组织实施")  # would be red
            factories.milestone(s, TODAY + timedelta(days=2), project_=stopped, name="阶段成果")  # yellow
            factories.milestone(s, TODAY + timedelta(days=60), project_=stopped, name="验收结项")  # green
    with transaction(board.sessions) as s:
        o = overview.overview(s, today=TODAY, settings=board.app_context.settings)
    # the same figures as the seeded board alone
    assert o.lights == {"red": 5, "yellow": 5, "green": 5}
    assert o.red_projects == 5
    assert [(u.unit, u.overdue) for u in o.units] == [("新经济发展局", 2), ("生态环境局", 2), ("住房建设局", 1)]
    assert [(w.new_overdue, w.backlog) for w in o.weeks[-3:]] == [(1, 2), (2, 4), (1, 5)]


def test_official_answers_for_own_milestones_and_unowned_ones_of_their_projects(board) -> None:
    with transaction(board.sessions) as s:
        lead, deputy = factories.person(s, "李项目"), factories.person(s, "赵节点")
        theirs = factories.project(s, owner=lead, unit_name="住房建设局")
        factories.milestone(s, TODAY - timedelta(days=6), project_=theirs, name="谋划立项")  # lead's: no own owner
        handed = factories.milestone(s, TODAY - timedelta(days=9), project_=theirs, name="组织实施")
        handed.owner_id = deputy.id  # the deputy's, though in the lead's project
        other = factories.milestone(s, TODAY - timedelta(days=2), project_=factories.project(s), name="阶段成果")
        other.owner_id = deputy.id  # the deputy's, in someone else's project
        lead_id, deputy_id = lead.id, deputy.id
    with transaction(board.sessions) as s:
        lead_record = portraits.official_portrait(s, lead_id, today=TODAY).figures
        deputy_record = portraits.official_portrait(s, deputy_id, today=TODAY).figures
    assert (lead_record.owned, lead_record.record.still_overdue, lead_record.worst_days_late) == (1, 1, 6)
    assert (deputy_record.owned, deputy_record.record.still_overdue, deputy_record.worst_days_late) == (2, 2, 9)


def test_unit_portrait_counts_extensions_and_returns_of_its_milestones(board) -> None:
    # both spellings of the linked counts: per milestone (SQLite), joined apart (PostgreSQL)
    _, unit_id = _ids(board)
    with transaction(board.sessions) as s:
        for code, node, kind, state in (("GX-2026-001", "阶段成果", "extension", "approved"),
                                        ("GX-2026-004", "组织实施", "completion", "returned"),
                                        ("GX-2026-004", "验收结项", "extension", "pending"),  # not counted
                                        ("GX-2026-002", "阶段成果", "extension", "approved")):  # another unit
            milestone = s.scalars(select(Milestone).join(Project, Project.id == Milestone.project_id)
                                  .where(Project.code == code, Milestone.name == node)).one()
            s.add(OfficialRequest(milestone_id=milestone.id, person_id=milestone.project.owner_id, kind=kind,
                                  state=state, due_date_at_request=milestone.due_date, note="",
                                  created_at=NOW - timedelta(days=1)))
    with transaction(board.sessions) as s:
        figures = portraits.unit_portrait(s, unit_id, today=TODAY).figures
    assert (figures.extensions, figures.returns, figures.record.escalations_level2) == (1, 1, 1)
