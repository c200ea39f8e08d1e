"""每周一调度: items still overdue grouped by unit, ranked (ties share a place), with level and state."""

from __future__ import annotations

from datetime import UTC, date, datetime

import factories as f
from deadline_watch.board.dispatch_sheet import dispatch_blocks, dispatch_rows
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Escalation

AT = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_units_ranked_with_ties_and_items_carry_level_state_and_leader(sessions) -> None:
    with transaction(sessions) as s:
        leader = f.person(s, name="李牵头")
        owner = f.person(s, name="张责任")

        def overdue(unit: str, code: str, due: date, *, level: int | None = None, state: str = "open"):
            project = f.project(s, code, name=f"项目{code}", unit_name=unit, owner=owner, lead_leader=leader)
            m = f.milestone(s, due, project_=project, name="阶段成果")
            if level:
                s.add(Escalation(dedup_key=f"esc:{m.id}", milestone_id=m.id, reason="overdue", due_date=due,
                                 level=level, state=state, opened_at=NOW))

        overdue("乙局", "B-1", date(2026, 11, 1), level=2)
        overdue("乙局", "B-2", date(2026, 11, 20), level=1, state="acknowledged")
        overdue("甲局", "A-1", date(2026, 11, 10))
        overdue("甲局", "A-2", date(2026, 10, 3), level=3)
        overdue("丙局", "C-1", date(2026, 11, 22))
        f.milestone(s, date(2026, 11, 2), project_=f.project(s, "D-1", unit_name="丁局"), completed_on=date(2026, 11, 2))
    with transaction(sessions) as s:
        blocks = dispatch_blocks(s, at=AT)
    # 乙局 and 甲局 tie at 2 items: both first, by name (乙 U+4E59 before 甲 U+7532); 丙局 third
    assert [(b.rank, b.unit, b.count) for b in blocks] == [(1, "乙局", 2), (1, "甲局", 2), (3, "丙局", 1)]
    first = blocks[0].items[0]
    assert (first.project, first.lead_leader, first.days_overdue, first.level_zh, first.state) == (
        "项目B-1", "李牵头", 22, "二级督办", "待处理")
    assert blocks[0].items[1].state == "已认领"
    assert blocks[1].items[0].level_zh == "三级督办" and blocks[1].worst_days == 51
    assert blocks[2].items[0].state == "未生成督办" and blocks[2].items[0].level_zh == "—"
    rows, variants = dispatch_rows(blocks)
    assert [rows[i][1] for i in sorted(variants)] == [
        "乙局 小计: 2 项 (第 1 名)", "甲局 小计: 2 项 (第 1 名)", "丙局 小计: 1 项 (第 3 名)", "合计: 5 项, 3 个单位"]
    assert [r[0] for r in rows if r[0] is not None] == [1, 2, 3, 4, 5]
