"""每周一调度: the dispatch sheet of the Monday meeting, one row per item still overdue.

Per item: project, node, unit, responsible official, lead leader, due date, days overdue,
escalation level (一级/二级…), handling state, the latest progress note, and blank
存在问题 / 下步措施 columns filled in at the meeting. Items are grouped by unit — units
ranked by how many items they have overdue (ties share a place, then by name) — and each
unit's block ends with a 小计 row. "Still overdue as of `at`" is the weekly report's rule:
due before `at`, not completed on `at`, project active and not a 长期 task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from deadline_watch.board import linked_facts
from deadline_watch.board.ranking import rank_positions
from deadline_watch.board.xlsx_writer import XlsxColumn
from deadline_watch.domain.models import (
    Escalation,
    EscalationReason,
    Milestone,
    MilestoneStatus,
    Person,
    Project,
    ProjectStatus,
    Unit,
    responsible_person_id,
)
from deadline_watch.domain.recurrence import has_deadline
from deadline_watch.domain.workdays import days_overdue
from deadline_watch.sms.messages import level_text

__all__ = [
    "DispatchItem",
    "UnitBlock",
    "dispatch_blocks",
    "dispatch_rows",
    "ranking_rows",
    "subtitle",
    "HEADERS",
    "RANKING_HEADERS",
    "STATE_ZH",
]

STATE_ZH = {"open": "待处理", "acknowledged": "已认领", "resolved": "已办结"}
NO_ESCALATION = "未生成督办"


class DispatchItem(NamedTuple):
    # a tuple, not a dataclass: the backlog runs to 85,000 items and building them counts
    milestone_id: int
    project_code: str
    project: str
    milestone: str
    unit: str
    official: str
    lead_leader: str
    due_date: date
    days_overdue: int
    level: int | None
    state: str
    progress: str = ""

    @property
    def level_zh(self) -> str:
        return f"{level_text(self.level)}督办" if self.level else "—"


@dataclass(frozen=True)
class UnitBlock:
    rank: int
    unit: str
    items: list[DispatchItem]
    count: int = field(init=False)
    level2_or_higher: int = field(init=False)
    worst_days: int = field(init=False)
    average_days: float = field(init=False)

    def __post_init__(self) -> None:
        days = [item.days_overdue for item in self.items]
        object.__setattr__(self, "count", len(self.items))
        object.__setattr__(self, "level2_or_higher", sum(1 for item in self.items if (item.level or 0) >= 2))
        object.__setattr__(self, "worst_days", max(days, default=0))
        object.__setattr__(self, "average_days", sum(days) / len(days) if days else 0.0)


def _names(session: Session, person_ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    ordered = sorted(person_ids)
    for start in range(0, len(ordered), 900):  # within every database's limit on bound values
        chunk = ordered[start:start + 900]
        names.update(session.execute(select(Person.id, Person.name).where(Person.id.in_(chunk))).all())
    return names


def dispatch_blocks(session: Session, *, at: date) -> list[UnitBlock]:
    """Every item still overdue on `at`, grouped by unit in ranking order."""
    open_on_at = (
        ((Milestone.status == MilestoneStatus.OPEN) & Milestone.completed_on.is_(None))
        | ((Milestone.completed_on > at) & (Milestone.status != MilestoneStatus.CANCELLED))
    )
    # names of units and people are read once into maps: three joins fewer per backlog row
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    rows = session.execute(
        select(
            Milestone.id, Project.code, Project.name, Milestone.name, Project.unit_id,
            responsible_person_id(), Project.lead_leader_id, Milestone.due_date, Escalation.level, Escalation.state,
        )
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .outerjoin(Escalation, and_(
            Escalation.milestone_id == Milestone.id,
            Escalation.due_date == Milestone.due_date,
            Escalation.reason == EscalationReason.OVERDUE,
        ))
        .where(Project.status == ProjectStatus.ACTIVE, Milestone.due_date < at, open_on_at,
               has_deadline(Project.schedule))
    ).all()
    people_ids = {r[5] for r in rows} | {r[6] for r in rows if r[6] is not None}
    people = _names(session, people_ids)
    ids = [r[0] for r in rows]
    progress = {n.milestone_id: n.text for n in linked_facts.latest_progress(session, ids)} if ids else {}
    by_unit: dict[str, list[DispatchItem]] = {}
    for m_id, code, project, milestone, unit_id, official_id, leader_id, due, level, state in rows:
        unit = units[unit_id]
        by_unit.setdefault(unit, []).append(DispatchItem(
            m_id, code, project, milestone, unit, people.get(official_id, ""),
            people.get(leader_id, "") if leader_id is not None else "", due, days_overdue(at, due), level,
            STATE_ZH.get(state, state) if state else NO_ESCALATION, progress.get(m_id, ""),
        ))
    for items in by_unit.values():
        items.sort(key=lambda item: (item.due_date, item.project_code, item.milestone_id))
    ordered = sorted(by_unit.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    ranks = rank_positions([len(items) for _, items in ordered])
    return [UnitBlock(rank=rank or 0, unit=unit, items=items) for rank, (unit, items) in zip(ranks, ordered, strict=True)]


HEADERS = [
    XlsxColumn("序号", "int", 6),
    XlsxColumn("项目名称", "text", 26),
    XlsxColumn("节点", "text", 10),
    XlsxColumn("责任单位", "text", 16),
    XlsxColumn("责任人", "text", 9),
    XlsxColumn("牵头领导", "text", 9),
    XlsxColumn("截止日期", "date", 11),
    XlsxColumn("逾期天数", "int", 7),
    XlsxColumn("督办级别", "text", 9),
    XlsxColumn("办理状态", "text", 9),
    XlsxColumn("最新进展", "text", 24),
    XlsxColumn("存在问题", "text", 20),
    XlsxColumn("下步措施", "text", 20),
]
RANKING_HEADERS = [
    XlsxColumn("排名", "int", 6),
    XlsxColumn("责任单位", "text", 24),
    XlsxColumn("逾期事项", "int", 10),
    XlsxColumn("二级及以上督办", "int", 14),
    XlsxColumn("最长逾期天数", "int", 12),
    XlsxColumn("平均逾期天数", "float", 12),
]


def dispatch_rows(blocks: list[UnitBlock]) -> tuple[list[tuple], dict[int, str]]:
    """The sheet's rows (items, a 小计 row after each unit, a 合计 row) and which rows are subtotals."""
    rows: list[tuple] = []
    variants: dict[int, str] = {}
    number = 0
    for block in blocks:
        for item in block.items:
            number += 1
            rows.append((number, item.project, item.milestone, item.unit, item.official, item.lead_leader,
                         item.due_date, item.days_overdue, item.level_zh, item.state, item.progress, None, None))
        variants[len(rows)] = "subtotal"
        rows.append((None, f"{block.unit} 小计: {block.count} 项 (第 {block.rank} 名)", None, None, None, None, None,
                     block.worst_days, f"二级及以上 {block.level2_or_higher} 项", None, None, None, None))
    if blocks:
        variants[len(rows)] = "total"
        rows.append((None, f"合计: {number} 项, {len(blocks)} 个单位", None, None, None, None, None,
                     max(b.worst_days for b in blocks), f"二级及以上 {sum(b.level2_or_higher for b in blocks)} 项",
                     None, None, None, None))
    return rows, variants


def ranking_rows(blocks: list[UnitBlock]) -> list[tuple]:
    return [(b.rank, b.unit, b.count, b.level2_or_higher, b.worst_days, round(b.average_days, 1)) for b in blocks]


def subtitle(at: date) -> str:
    return f"截至 {at.year}年{at.month}月{at.day}日仍逾期的节点, 按单位逾期事项多少排序; 逾期天数算至统计日"
