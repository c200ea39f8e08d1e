"""Traffic lights: the colour rule (pure), the board (two queries) and the project page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

import factories as f
from deadline_watch.board import project_board as project_board_module
from deadline_watch.board.lights import Light, classify
from deadline_watch.board.project_board import project_board, project_board_count
from deadline_watch.board.project_page import project_detail
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import NotFoundError
from deadline_watch.domain import audit
from deadline_watch.domain.models import Escalation, Notification, User

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def light(due: date, completed_on: date | None = None, status: str = "open", project_status: str = "active", window: int = 7) -> Light:
    return classify(due, completed_on, status, project_status, today=TODAY, reminder_days=window)


@pytest.mark.parametrize(
    ("days_from_today", "expected"),
    [
        (-30, Light.RED),
        (-1, Light.RED),  # the day after the due date is the first overdue day
        (0, Light.YELLOW),  # due today: not overdue yet
        (1, Light.YELLOW),
        (7, Light.YELLOW),  # exactly the reminder offset: inside the window
        (8, Light.GREEN),
        (90, Light.GREEN),
    ],
)
def test_light_boundaries_around_due_date_and_reminder_window(days_from_today: int, expected: Light) -> None:
    assert light(TODAY + timedelta(days=days_from_today)) is expected


def test_reminder_window_follows_the_given_offset() -> None:
    due = TODAY + timedelta(days=10)
    assert light(due, window=7) is Light.GREEN
    assert light(due, window=10) is Light.YELLOW


@pytest.mark.parametrize(
    ("completed_on", "status", "project_status"),
    [
        (TODAY - timedelta(days=40), "completed", "active"),  # completed late, long ago
        (None, "completed", "active"),  # marked completed without a date
        (None, "cancelled", "active"),
        (None, "open", "suspended"),
        (None, "open", "cancelled"),
        (None, "open", "completed"),
    ],
)
def test_completed_cancelled_or_inactive_is_grey_even_when_past_due(completed_on, status, project_status) -> None:
    assert light(TODAY - timedelta(days=30), completed_on, status, project_status) is Light.GREY


def test_light_values_are_the_strings_templates_use() -> None:
    assert [str(x) for x in Light] == ["green", "yellow", "red", "grey"]
    assert Light.RED.label == "已逾期" and Light.label_of("red") == "已逾期"


def _count_statements(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(engine, "before_cursor_execute", before)


def test_board_lists_active_projects_with_milestone_lights_in_two_queries(sessions, engine, settings) -> None:
    with transaction(sessions) as s:
        for i in range(5):
            p = f.project(s, f"B-{i:02d}", name=f"项目{i}")
            f.milestone(s, TODAY - timedelta(days=3), project_=p, name="谋划立项")
            f.milestone(s, TODAY + timedelta(days=3), project_=p, name="组织实施")
            f.milestone(s, TODAY + timedelta(days=30), project_=p, name="验收结项")
        f.milestone(s, TODAY - timedelta(days=3), project_=f.project(s, "Z-STOPPED", status="suspended"))
        # positions out of insertion order: the board follows position
        p = f.project(s, "C-ORDER")
        late = f.milestone(s, TODAY + timedelta(days=60), project_=p, name="验收结项")
        early = f.milestone(s, TODAY + timedelta(days=60), project_=p, name="谋划立项")
        late.position, early.position = 4, 1
    statements, stop = _count_statements(engine)
    try:
        with transaction(sessions) as s:
            board = project_board(s, today=TODAY, settings=settings)
    finally:
        stop()
    assert len(statements) == 2
    assert [p.code for p in board] == ["B-00", "B-01", "B-02", "B-03", "B-04", "C-ORDER"]
    first = board[0]
    assert [(m.name, m.light, m.days_overdue) for m in first.milestones] == [
        ("谋划立项", Light.RED, 3),
        ("组织实施", Light.YELLOW, 0),
        ("验收结项", Light.GREEN, 0),
    ]
    assert first.worst is Light.RED and first.unit == "新经济发展局" and first.level == "市级"
    assert [m.name for m in board[-1].milestones] == ["谋划立项", "验收结项"]


def test_board_filters_by_unit_level_and_text_with_paging(sessions, settings) -> None:
    with transaction(sessions) as s:
        owner = f.person(s, name="张伟")
        f.project(s, "U1-1", unit_name="住建局", level="省级", owner=owner)
        f.project(s, "U1-2", unit_name="住建局", level="区级", name="学校新建工程")
        f.project(s, "U2-1", unit_name="教育局", level="省级")
        unit_id = f.unit(s, "教育局").id
    with transaction(sessions) as s:
        codes = lambda **kw: [p.code for p in project_board(s, today=TODAY, settings=settings, **kw)]  # noqa: E731
        assert codes(unit="住建局") == ["U1-1", "U1-2"]
        assert codes(unit=unit_id) == ["U2-1"]
        assert codes(level="省级") == ["U1-1", "U2-1"]
        assert codes(text="学校") == ["U1-2"]
        assert codes(text="张伟") == ["U1-1"]
        assert codes(text="u2") == ["U2-1"]
        assert codes(limit=2) == ["U1-1", "U1-2"]
        assert codes(limit=2, offset=2) == ["U2-1"]
        assert project_board_count(s, level="省级") == 2
        assert project_board_count(s) == 3


def test_board_is_empty_without_projects(sessions, settings) -> None:
    with transaction(sessions) as s:
        assert project_board(s, today=TODAY, settings=settings) == []


def test_board_reminder_window_is_the_largest_offset(sessions) -> None:
    settings = Settings.model_validate({"reminders": {"days_before": [3, 14]}})
    with transaction(sessions) as s:
        f.milestone(s, TODAY + timedelta(days=14), project_=f.project(s, "W-1"))
    with transaction(sessions) as s:
        [row] = project_board(s, today=TODAY, settings=settings)
    assert row.milestones[0].light is Light.YELLOW


def _notification(milestone, person, **kw) -> Notification:
    kw.setdefault("dedup_key", f"r:{milestone.id}:{kw.get('state', 'x')}")
    return f.notification(milestone, person, at=NOW, **kw)


def test_project_detail_shows_deliveries_escalations_evidence_and_history(sessions, settings) -> None:
    with transaction(sessions) as s:
        owner = f.person(s, name="李娜", mobile="+8613800138000")
        p = f.project(s, "D-1", owner=owner)
        done = f.milestone(s, TODAY - timedelta(days=20), project_=p, name="谋划立项", completed_on=TODAY - timedelta(days=21))
        done.evidence = "立项批复 (发改〔2026〕12号)"
        overdue = f.milestone(s, TODAY - timedelta(days=9), project_=p, name="组织实施")
        s.add(_notification(overdue, owner, state="delivered", sent_at=NOW, delivered_at=NOW))
        s.add(_notification(overdue, owner, state="undelivered", provider_error_code="30003", sent_at=NOW))
        supervisor = User(username="sup", password_hash="x", role="supervisor", created_at=NOW)
        s.add(supervisor)
        s.flush()
        escalation = Escalation(
            dedup_key=f"e:{overdue.id}", milestone_id=overdue.id, due_date=overdue.due_date, level=2,
            state="acknowledged", opened_at=NOW, acknowledged_at=NOW, assignee_id=supervisor.id,
        )
        s.add(escalation)
        s.flush()
        audit.record(s, now=NOW, actor="admin", action="project.imported", entity_type="project", entity_id=p.id)
        audit.record(s, now=NOW + timedelta(minutes=1), actor="sup", action="escalation.acknowledged",
                     entity_type="escalation", entity_id=escalation.id)
        audit.record(s, now=NOW, actor="admin", action="milestone.completed", entity_type="milestone", entity_id=done.id)
        other = f.milestone(s, TODAY, project_=f.project(s, "OTHER"))
        audit.record(s, now=NOW, actor="admin", action="milestone.completed", entity_type="milestone", entity_id=other.id)
    with transaction(sessions) as s:
        detail = project_detail(s, "D-1", today=TODAY, settings=settings)
        unmasked = project_detail(s, "D-1", today=TODAY, settings=settings, mask_mobiles=False)
    assert [(m.name, m.light) for m in detail.milestones] == [("谋划立项", Light.GREY), ("组织实施", Light.RED)]
    assert detail.milestones[1].days_overdue == 9
    assert detail.owner_mobile == "+86138****8000" and unmasked.owner_mobile == "+8613800138000"
    assert sorted((n.state, n.to, n.provider_error_code) for n in detail.notifications) == [
        ("delivered", "+86138****8000", None),
        ("undelivered", "+86138****8000", "30003"),
    ]
    assert unmasked.notifications[0].to == "+8613800138000"
    [esc] = detail.escalations
    assert (esc.level, esc.state, esc.assignee, esc.milestone) == (2, "acknowledged", "sup", "组织实施")
    assert [(e.milestone, e.evidence) for e in detail.evidence] == [("谋划立项", "立项批复 (发改〔2026〕12号)")]
    assert [h.action for h in detail.history][0] == "escalation.acknowledged"
    assert sorted(h.action for h in detail.history) == ["escalation.acknowledged", "milestone.completed", "project.imported"]


def test_project_detail_of_unknown_code_raises_not_found(sessions, settings) -> None:
    with transaction(sessions) as s, pytest.raises(NotFoundError) as caught:
        project_detail(s, "NOPE-404", today=TODAY, settings=settings)
    assert "NOPE-404" in caught.value.message and caught.value.exit_code == 1


def test_board_light_filter_keeps_projects_with_such_a_milestone(sessions, settings) -> None:
    with transaction(sessions) as s:
        f.milestone(s, TODAY - timedelta(days=1), project_=f.project(s, "L-RED"))
        f.milestone(s, TODAY + timedelta(days=7), project_=f.project(s, "L-YELLOW"))
        f.milestone(s, TODAY + timedelta(days=8), project_=f.project(s, "L-GREEN"))
        f.milestone(s, TODAY - timedelta(days=9), project_=f.project(s, "L-GREY"), completed_on=TODAY)
    with transaction(sessions) as s:
        for light_ in ("red", "yellow", "green"):
            rows = project_board(s, today=TODAY, settings=settings, light=light_)
            assert [p.code for p in rows] == [f"L-{light_.upper()}"]
            assert rows[0].worst == light_
            assert project_board_count(s, light=light_, today=TODAY, settings=settings) == 1


def test_board_text_search_treats_wildcards_literally(sessions, settings) -> None:
    with transaction(sessions) as s:
        f.project(s, "P-100%", name="完成率100%工程")
        f.project(s, "P-1000", name="普通工程")
    with transaction(sessions) as s:
        assert [p.code for p in project_board(s, today=TODAY, settings=settings, text="100%")] == ["P-100%"]
        assert [p.code for p in project_board(s, today=TODAY, settings=settings, text="P-1_0")] == []


def _filter_board(s) -> None:
    """Projects in two units, three levels and every light, owners with names the text
    filter can hit, plus inactive projects that match every filter but must never count."""
    zhang, li = f.person(s, name="张伟"), f.person(s, name="李娜")
    dues = {
        "red": dict(due_date=TODAY - timedelta(days=2)),
        "yellow": dict(due_date=TODAY + timedelta(days=3)),
        "green": dict(due_date=TODAY + timedelta(days=40)),
        "grey": dict(due_date=TODAY - timedelta(days=9), completed_on=TODAY - timedelta(days=10)),
    }
    n = 0
    for unit_name in ("住建局", "教育局"):
        for level in ("省级", "市级", None):
            for owner in (zhang, li):
                # two red and two yellow nodes in some projects: a count of lit milestones
                # rather than of projects would be too high
                for lights_ in (("red", "green", "red"), ("yellow", "yellow"), ("grey",), ()):
                    n += 1
                    p = f.project(s, f"F-{n:03d}", name="学校新建工程" if n % 3 == 0 else "道路改造",
                                  unit_name=unit_name, level=level, owner=owner)
                    for i, light_ in enumerate(lights_):
                        f.milestone(s, project_=p, name=f"节点{i}", **dues[light_])
    for status in ("suspended", "completed", "cancelled"):
        p = f.project(s, f"F-X-{status}", name="学校新建工程", unit_name="住建局", level="省级", owner=zhang,
                      status=status)
        f.milestone(s, project_=p, **dues["red"])
        f.milestone(s, project_=p, name="验收结项", **dues["yellow"])


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"unit": "住建局"},
        {"unit": "无此单位"},
        {"level": "省级"},
        {"text": "张伟"},  # owner name only
        {"text": "学校"},  # project name
        {"text": "f-01"},  # code, case-insensitive
        {"light": "red"},
        {"light": "yellow"},
        {"light": "green"},
        {"unit": "教育局", "level": "市级", "text": "李", "light": "red"},
        {"unit": "住建局", "text": "学校", "light": "yellow"},
    ],
    ids=lambda filters: "+".join(filters) or "none",
)
def test_board_count_equals_rows_listed_without_limit_for_each_filter(sessions, settings, filters) -> None:
    with transaction(sessions) as s:
        _filter_board(s)
    with transaction(sessions) as s:
        rows = project_board(s, today=TODAY, settings=settings, **filters)
        total = project_board_count(s, today=TODAY, settings=settings, **filters)
        unit_id = f.unit(s, "住建局").id
        by_id = project_board_count(s, today=TODAY, settings=settings, **{**filters, "unit": unit_id}) if "unit" in filters else None
        rows_by_id = project_board(s, today=TODAY, settings=settings, **{**filters, "unit": unit_id}) if "unit" in filters else None
    assert total == len(rows)
    assert all(p.status == "active" for p in rows)
    assert [p.code for p in rows] == sorted(p.code for p in rows)
    if by_id is not None:
        assert by_id == len(rows_by_id)
    if not filters:
        assert total == 48
    if filters.get("text") == "张伟":
        assert total == 24 and {p.owner for p in rows} == {"张伟"}


@pytest.mark.parametrize("few_not_active", [1, 10_000])
def test_light_count_alone_equals_rows_however_many_projects_are_not_active(
    sessions, settings, monkeypatch, few_not_active
) -> None:
    """A light with no other filter is counted off the milestones; on SQLite, with many
    projects not active (here: FEW_NOT_ACTIVE lowered to 1), through the other filters' IN."""
    monkeypatch.setattr(project_board_module, "FEW_NOT_ACTIVE", few_not_active)
    with transaction(sessions) as s:
        _filter_board(s)
    with transaction(sessions) as s:
        for light_ in ("red", "yellow", "green"):
            rows = project_board(s, today=TODAY, settings=settings, light=light_)
            assert project_board_count(s, today=TODAY, settings=settings, light=light_) == len(rows) > 0


def test_board_page_is_in_code_order_across_limit_and_offset(sessions, settings) -> None:
    with transaction(sessions) as s:
        _filter_board(s)
    with transaction(sessions) as s:
        everything = [p.code for p in project_board(s, today=TODAY, settings=settings, unit="教育局")]
        pages = [
            [p.code for p in project_board(s, today=TODAY, settings=settings, unit="教育局", limit=10, offset=o)]
            for o in range(0, 30, 10)
        ]
    assert len(everything) == 24 and sum(pages, []) == everything


def test_board_count_without_filters_reads_projects_alone(sessions, engine, settings) -> None:
    with transaction(sessions) as s:
        _filter_board(s)
    statements, stop = _count_statements(engine)
    try:
        with transaction(sessions) as s:
            assert project_board_count(s, today=TODAY, settings=settings) == 48
            assert project_board_count(s, unit="住建局", text="张伟", today=TODAY, settings=settings) == 12
    finally:
        stop()
    # no join: an unfiltered count is a walk of the projects.status index
    assert all(" JOIN " not in statement.upper() for statement in statements)


def test_board_names_who_answers_for_each_node(sessions, settings) -> None:
    """A node's own owner when it has one, else the project's owner (responsible_person_id)."""
    with transaction(sessions) as s:
        lead, deputy = f.person(s, name="项目负责人"), f.person(s, name="节点负责人")
        p = f.project(s, "R-001", owner=lead)
        f.milestone(s, TODAY + timedelta(days=3), project_=p, name="谋划立项")
        own = f.milestone(s, TODAY + timedelta(days=30), project_=p, name="组织实施")
        own.owner_id = deputy.id
        s.flush()
    with transaction(sessions) as s:
        (row,) = project_board(s, today=TODAY, settings=settings)
    assert {m.name: m.owner for m in row.milestones} == {"谋划立项": "项目负责人", "组织实施": "节点负责人"}
