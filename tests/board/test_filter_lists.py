"""The filters' drop-down lists read on every queue and board page: the lead leaders of
active projects (a skip along the lead_leader_id index) and the units that assist a project
(one index seek per unit) list exactly what the plain joins list."""

from __future__ import annotations

import sqlalchemy as sa

import factories as f
from deadline_watch.board.escalation_queue import lead_leaders
from deadline_watch.core.db import transaction
from deadline_watch.domain import co_units
from deadline_watch.domain.models import Person, Project, Unit


def _leaders_by_join(session) -> list[str]:
    return list(session.scalars(
        sa.select(Person.name).join(Project, Project.lead_leader_id == Person.id)
        .where(Project.status == "active").distinct().order_by(Person.name)
    ))


def test_lead_leaders_lists_the_leaders_of_active_projects_once_each(sessions) -> None:
    with transaction(sessions) as session:
        assert lead_leaders(session) == []
        f.project(session)  # no lead leader
        assert lead_leaders(session) == []
        zhang = f.person(session, name="张副区长")
        li = f.person(session, name="李副区长")
        wang = f.person(session, name="王副区长")  # leads only a completed project
        namesake = f.person(session, name="张副区长")  # another person of the same name
        f.person(session, name="赵副区长")  # leads nothing
        for leader in (zhang, zhang, li, namesake):
            f.project(session, lead_leader=leader)
        f.project(session, lead_leader=li, status="suspended")
        f.project(session, lead_leader=wang, status="completed")
        assert lead_leaders(session) == _leaders_by_join(session) == sorted(["张副区长", "李副区长"])
        # the highest and the lowest id among the leaders are both found
        last = f.person(session, name="刘副区长")
        f.project(session, lead_leader=last)
        for project in session.scalars(sa.select(Project).where(Project.lead_leader_id == zhang.id)):
            project.status = "completed"
        session.flush()
        assert lead_leaders(session) == _leaders_by_join(session) == sorted(["张副区长", "李副区长", "刘副区长"])
        for project in session.scalars(sa.select(Project).where(Project.lead_leader_id == namesake.id)):
            project.status = "completed"
        session.flush()
        assert lead_leaders(session) == _leaders_by_join(session) == sorted(["李副区长", "刘副区长"])


def test_co_unit_names_lists_each_assisting_unit_once(sessions) -> None:
    with transaction(sessions) as session:
        first, second = f.project(session), f.project(session)
        helper, other, idle = (f.unit(session, name) for name in ("生态环境局", "住房建设局", "教育文化局"))
        assert co_units.co_unit_names(session) == []
        co_units.sync(session, {first.id: [helper.id, other.id], second.id: [helper.id]})
        assert co_units.co_unit_names(session) == sorted(["生态环境局", "住房建设局"])
        co_units.sync(session, {first.id: [helper.id]})
        by_join = list(session.scalars(
            sa.select(Unit.name).where(Unit.id.in_(sa.select(co_units._TABLE.c.unit_id))).order_by(Unit.name)))
        assert co_units.co_unit_names(session) == by_join == ["生态环境局"]
        assert idle.name not in co_units.co_unit_names(session)
