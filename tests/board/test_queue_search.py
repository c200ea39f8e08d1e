"""The queue's free-text search, read off the trigram index of migration 0009: it must find
exactly what a substring match on the four texts finds, and follow every rename."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import factories as f
from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
from deadline_watch.core import db
from deadline_watch.domain.models import Escalation, Milestone, Person, Project

TODAY = date(2026, 12, 10)
TZ = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2026, 12, 2, tzinfo=UTC)


def escalate(session, milestone) -> Escalation:
    row = Escalation(dedup_key=f"esc:{milestone.id}", milestone_id=milestone.id, due_date=milestone.due_date,
                     level=1, opened_at=OPENED)
    session.add(row)
    session.flush()
    return row


def found(sessions, text: str, state: str | None = None) -> set[str]:
    """Project codes of the queue rows the search box finds for `text`."""
    with db.transaction(sessions) as session:
        rows, total = list_escalations(session, EscalationFilter(text=text, state=state), today=TODAY, tz=TZ,
                                       limit=1000)
    assert total == len(rows)
    return {row.project_code for row in rows}


@pytest.fixture
def queue(sessions):
    """Three escalated milestones: one whose own owner answers, two answered by their project's owner."""
    with db.transaction(sessions) as session:
        wang = f.person(session, "王建国")
        li = f.person(session, "李Anna")
        zhou = f.person(session, "周_百分%")
        sewage = f.project(session, "GX-2026-002", name="污水处理厂提标改造", owner=li)
        park = f.project(session, "GX-2026-017", name="Software Park 三期", owner=zhou)
        school = f.project(session, "AB%_C", name="实验小学扩建", owner=li)
        own = f.milestone(session, date(2026, 12, 1), project_=sewage, name="竣工验收")
        own.owner_id = wang.id
        session.flush()
        escalate(session, own)
        escalate(session, f.milestone(session, date(2026, 12, 3), project_=park, name="组织实施"))
        escalate(session, f.milestone(session, date(2026, 12, 4), project_=school, name="阶段成果"))
    return sessions


@pytest.mark.parametrize(("text", "codes"), [
    ("污水处理", {"GX-2026-002"}),  # project name
    ("gx-2026-01", {"GX-2026-017"}),  # project code, any case
    ("SOFTWARE park", {"GX-2026-017"}),  # project name, any case
    ("竣工验收", {"GX-2026-002"}),  # milestone name
    ("王建国", {"GX-2026-002"}),  # the milestone's own owner answers for it...
    ("李anna", {"AB%_C"}),  # ...the project's owner for the others
    ("GX-2026", {"GX-2026-002", "GX-2026-017"}),
    ("三期", {"GX-2026-017"}),  # two characters: shorter than a trigram
    ("污", {"GX-2026-002"}),
    ("%", {"AB%_C", "GX-2026-017"}),  # wildcards match only themselves (周_百分% owns 017)
    ("_", {"AB%_C", "GX-2026-017"}),
    ("%_C", {"AB%_C"}),
    ("周_百", {"GX-2026-017"}),
    ("B_C", set()),  # not a wildcard
    ("002污水", set()),  # a match never spans the code and the name
    ('"三期', set()),
    ("验收 OR 实施", set()),  # no query syntax: a literal phrase
    ("002\x1f污水", set()),  # not even with the haystack's separator in it
    ("\x1f", set()),
])
def test_search_is_a_substring_match_on_code_name_milestone_and_responsible(queue, text, codes):
    assert found(queue, text) == codes


def test_search_follows_renames_of_projects_milestones_and_people(queue):
    with db.transaction(queue) as session:
        park = session.scalars(sa.select(Project).where(Project.code == "GX-2026-017")).one()
        park.name = "数字经济产业园"
        session.scalars(sa.select(Milestone).where(Milestone.name == "竣工验收")).one().name = "完工验收"
        session.scalars(sa.select(Person).where(Person.name == "李Anna")).one().name = "李安娜"
    assert found(queue, "Software") == set()
    assert found(queue, "数字经济") == {"GX-2026-017"}
    assert found(queue, "竣工") == set() and found(queue, "完工验收") == {"GX-2026-002"}
    assert found(queue, "李Anna") == set() and found(queue, "李安娜") == {"AB%_C"}


def test_search_follows_who_answers_for_a_milestone(queue):
    with db.transaction(queue) as session:
        own = session.scalars(sa.select(Milestone).where(Milestone.name == "竣工验收")).one()
        own.owner_id = None  # now the project's owner, 李Anna, answers for it
        school = session.scalars(sa.select(Project).where(Project.code == "AB%_C")).one()
        school.owner_id = session.scalars(sa.select(Person.id).where(Person.name == "王建国")).one()
    assert found(queue, "王建国") == {"AB%_C"}
    assert found(queue, "李Anna") == {"GX-2026-002"}


def test_search_sees_new_escalations_and_forgets_deleted_ones(queue):
    with db.transaction(queue) as session:
        project = f.project(session, "GX-2027-001", name="新开工项目")
        new = escalate(session, f.milestone(session, date(2026, 12, 5), project_=project, name="谋划立项"))
    assert found(queue, "新开工") == {"GX-2027-001"}
    with db.transaction(queue) as session:
        session.delete(session.get(Escalation, new.id))
    assert found(queue, "新开工") == set()


def test_search_keeps_the_state_filter(queue):
    with db.transaction(queue) as session:
        session.scalars(sa.select(Escalation)).first().state = "resolved"
    assert found(queue, "GX-2026") == {"GX-2026-017"}
    assert found(queue, "GX-2026", state="all") == {"GX-2026-002", "GX-2026-017"}


def test_search_agrees_with_a_substring_match_in_python(queue):
    """Every substring of every text, and a few near misses, find exactly the rows whose
    texts contain them (casefolded), on both databases."""
    with db.transaction(queue) as session:
        rows = session.execute(
            sa.select(Project.code, Project.name, Milestone.name, Person.name)
            .join(Milestone, Milestone.project_id == Project.id)
            .join(Escalation, Escalation.milestone_id == Milestone.id)
            .join(Person, Person.id == sa.func.coalesce(Milestone.owner_id, Project.owner_id))
        ).all()
    needles = {text[start:start + width] for row in rows for text in row
               for width in (1, 2, 3, 5) for start in range(len(text) - width + 1)}
    needles |= {"X-2026-0020", "污水厂", "Park三期"}
    for needle in sorted(needles):
        expected = {row[0] for row in rows if any(needle.lower() in text.lower() for text in row)}
        assert found(queue, needle) == expected, needle
