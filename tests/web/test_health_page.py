"""The project page shows its 体检 score, band and reasons."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Milestone, OfficialRequest, Project

from .conftest import NOW


def test_project_page_shows_score_band_and_reasons(board) -> None:
    client = board.login("viewer1")
    html = client.get("/projects/GX-2026-001").text
    # 组织实施 30 days overdue: 1.5 x 30 = 45; level 2 reached: 10 -> 45 (严重)
    assert "项目体检" in html
    assert "45 分" in html
    assert "严重" in html
    assert "组织实施逾期 30 天, 已达二级督办" in html


def test_project_on_track_is_healthy(board) -> None:
    client = board.login("viewer1")
    html = client.get("/projects/GX-2026-004").text
    # 3 days overdue on 组织实施 (4.5), level 1 (5): 90.5 -> 91 健康; the resolved item still counts
    assert "91 分" in html and "健康" in html


def _add_request(session, code: str, node: str, *, kind: str, state: str) -> None:
    milestone = session.scalars(
        sa.select(Milestone).join(Project, Project.id == Milestone.project_id)
        .where(Project.code == code, Milestone.name == node)).one()
    session.add(OfficialRequest(
        milestone_id=milestone.id, person_id=milestone.project.owner_id, kind=kind, state=state,
        due_date_at_request=milestone.due_date, note="", created_at=NOW - timedelta(days=2)))


def test_project_page_counts_extensions_granted_and_requests_returned(board) -> None:
    with transaction(board.sessions) as session:
        _add_request(session, "GX-2026-004", "阶段成果", kind="extension", state="approved")
        _add_request(session, "GX-2026-004", "组织实施", kind="completion", state="returned")
        _add_request(session, "GX-2026-004", "验收结项", kind="extension", state="returned")
        # not counted: still pending, a progress note, another project's extension
        _add_request(session, "GX-2026-004", "验收结项", kind="extension", state="pending")
        _add_request(session, "GX-2026-004", "组织实施", kind="progress", state="noted")
        _add_request(session, "GX-2026-002", "阶段成果", kind="extension", state="approved")
    html = board.login("viewer1").get("/projects/GX-2026-004").text
    # 组织实施 3 days overdue 1.5 x 3 = 4.5; level 1: 5; 1 extension: 4; 2 returned: 6
    # -> 100 - 19.5 = 80.5 -> 81 (关注), reasons largest deduction first
    assert "81 分" in html and "关注" in html
    assert "申请被退回 2 次, 已达一级督办, 组织实施逾期 3 天, 延期 1 次" in html
