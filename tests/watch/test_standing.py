"""长期 tasks and the watch: no deadline, so never reminded or escalated — also when a dated
task is re-imported as 长期 (its open milestones are cancelled) (issue 18)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.models import Escalation, Notification, Project
from deadline_watch.registry import ImportOptions, import_path
from watch_support import RecordingBackend, at, fast_settings

pytestmark = pytest.mark.slow

TITLE = ["2027年重点工作责任分解表"]
HEADER = ["序号", "重点任务", "主办单位", "责任人", "责任人手机", "完成时限"]


def _write(tmp_path, rows, name="分解表.csv"):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return path


def test_a_task_that_becomes_standing_is_no_longer_reminded_or_escalated(sessions, tmp_path):
    dated = [TITLE, HEADER, ["1", "优化营商环境", "行政审批局", "陈晨", "13800003333", "1月10日前"]]
    options = ImportOptions(today=date(2026, 12, 1))
    report = import_path(sessions, _write(tmp_path, dated), now=at(date(2026, 12, 1)), options=options)
    assert report.errors == []
    settings, backend = fast_settings(), RecordingBackend()
    for day in (date(2027, 1, 5), date(2027, 1, 20)):  # reminded, then overdue and on the board
        run_tick(sessions, settings, now=at(day), backend=backend)
    with sessions() as session:
        escalation = session.scalar(sa.select(Escalation))
        assert escalation is not None and escalation.state != "resolved"
        sent_before = session.scalar(sa.select(sa.func.count(Notification.id)))

    standing = [TITLE, HEADER, ["1", "优化营商环境", "行政审批局", "陈晨", "13800003333", "长期坚持"]]
    report = import_path(sessions, _write(tmp_path, standing), now=at(date(2027, 1, 21)),
                         options=ImportOptions(today=date(2027, 1, 21)))
    assert report.errors == [] and report.milestones_pruned == 1  # its deadline is gone, without --prune
    day = date(2027, 1, 21)
    while day <= date(2027, 3, 31):
        run_tick(sessions, settings, now=at(day), backend=backend)
        day += timedelta(days=7)
    with sessions() as session:
        project = session.scalar(sa.select(Project).where(Project.name == "优化营商环境"))
        assert project.schedule == "standing"
        assert [m.status for m in project.milestones] == ["cancelled"]
        assert session.scalar(sa.select(Escalation.state)) == "resolved"
        assert session.scalar(sa.select(sa.func.count(Notification.id))) == sent_before


def test_a_standing_row_with_a_dated_node_is_an_error(sessions, tmp_path):
    rows = [["项目编号", "项目名称", "责任单位", "责任人", "责任人手机", "节点", "截止日期", "周期"],
            ["P-1", "优化营商环境", "行政审批局", "陈晨", "13800003333", "完成", "2027-01-10", "长期"],
            ["P-2", "清理拖欠账款", "行政审批局", "陈晨", "13800003333", "", "", "长期"]]
    report = import_path(sessions, _write(tmp_path, rows, "registry.csv"), now=at(date(2026, 12, 1)),
                         options=ImportOptions(today=date(2026, 12, 1)))
    assert [(error.line, error.column) for error in report.errors] == [(2, "周期")]
    assert "长期任务没有截止日期" in report.errors[0].reason_zh
    with sessions() as session:
        assert session.scalar(sa.select(Project.id)) is None
