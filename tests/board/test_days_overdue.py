"""One item, one days-overdue figure: the queue, its escalation page, the project page and
the weekly report all show what `domain.workdays.days_overdue` says (SQLite and PostgreSQL).

The board used to count the queue to today, the escalation page to the (UTC) day of the
resolution, and the project page not at all once a milestone was completed; here an item
completed late, one waived by a supervisor while still open, and one plainly open are
each read in all four places.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from argon2 import PasswordHasher

import factories
from deadline_watch.board import supervision, users
from deadline_watch.board.completion import complete_milestone
from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
from deadline_watch.board.project_page import project_detail
from deadline_watch.board.report_tables import weekly_report
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Escalation
from deadline_watch.watch.service import scan_and_enqueue

DUE = date(2026, 8, 26)
TODAY = date(2026, 11, 23)  # a Monday: the weekly report covers 11-16 .. 11-22
COMPLETED = date(2026, 11, 20)  # 86 days after DUE, inside the report's week
WAIVED = date(2026, 11, 10)


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Shanghai on `day`, as UTC."""
    return datetime.combine(day, time(hour - 8), tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def figures(session, settings, *, code: str, escalation_id: int, sheet: str) -> dict[str, int]:
    tz = settings.tz
    queue, _ = list_escalations(session, EscalationFilter(state="all"), today=TODAY, tz=tz)
    [queue_row] = [row for row in queue if row.id == escalation_id]
    detail = supervision.escalation_detail(session, escalation_id, today=TODAY, tz=tz)
    page = project_detail(session, code, today=TODAY, settings=settings)
    [page_row] = [m for m in page.milestones if m.name == "组织实施"]
    report = weekly_report(session, at=TODAY, settings=settings)
    if sheet == "调度清单":  # the dispatch sheet: 序号, 项目名称, 节点, …, 逾期天数 in the eighth column
        [report_row] = [row for row in report.sheet(sheet).rows
                        if row[0] is not None and row[1] == page.project.name and row[2] == "组织实施"]
        weekly_figure = report_row[[c.header for c in report.sheet(sheet).columns].index("逾期天数")]
    else:
        [report_row] = [row for row in report.sheet(sheet).rows if row[0] == code and row[3] == "组织实施"]
        weekly_figure = report_row[[c.header for c in report.sheet(sheet).columns].index("逾期天数")]
    return {
        "queue": queue_row.days_overdue,
        "escalation page": detail.days_overdue,
        "project page": page_row.days_overdue,
        "weekly report": weekly_figure,
    }


@pytest.mark.parametrize(
    ("story", "expected", "sheet"),
    [
        ("open", (TODAY - DUE).days, "调度清单"),
        ("completed late", (COMPLETED - DUE).days, "本周完成"),
        ("waived while open", (TODAY - DUE).days, "调度清单"),
    ],
)
def test_one_item_shows_one_days_overdue_figure_everywhere(sessions, settings, story, expected, sheet):
    with transaction(sessions) as session:
        milestone = factories.milestone(session, DUE)
        code = milestone.project.code
        users.add_user(session, username="sup", role="supervisor", password="long-enough", now=at(DUE))
    with transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=at(date(2026, 9, 10)))  # opens the item, level 2
    with transaction(sessions) as session:
        [escalation] = session.query(Escalation).all()
        escalation_id = escalation.id
    if story == "completed late":
        with transaction(sessions) as session:
            complete_milestone(session, code, "组织实施", on=COMPLETED, evidence="验收报告", now=at(COMPLETED),
                               actor="test")
        with transaction(sessions) as session:  # the next scan resolves it (completed late), days later
            scan_and_enqueue(session, settings, now=at(date(2026, 11, 22)))
    if story == "waived while open":
        with transaction(sessions) as session:
            supervision.resolve(session, escalation_id, resolution="waived",
                                actor=users.get_user(session, "sup"), now=at(WAIVED))
    with transaction(sessions) as session:
        assert session.get(Escalation, escalation_id).state == ("open" if story == "open" else "resolved")
        shown = figures(session, settings, code=code, escalation_id=escalation_id, sheet=sheet)
    assert shown == dict.fromkeys(shown, expected), story
