"""The watch commands through the real CLI entry point."""

import json
from datetime import date

import sqlalchemy as sa

import factories as f
from deadline_watch.cli import main
from deadline_watch.core import db
from deadline_watch.domain import co_units
from deadline_watch.domain.models import Escalation, Milestone, Project

DUE = date(2026, 12, 8)


def seed(sessions):
    with db.transaction(sessions) as session:
        leader = f.person(session, name="李领导", roles="lead_leader")
        project = f.project(session, "GX-2026-0001", lead_leader=leader)
        f.milestone(session, DUE, project_=project, name="组织实施")
        f.milestone(session, date(2026, 12, 30), project_=project, name="阶段成果")


def run(capsys, db_url, *args):
    code = main(["--db", db_url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_tick_json_counts_and_console_sms_kept_off_stdout(sessions, db_url, capsys):
    seed(sessions)
    code, out, err = run(capsys, db_url, "tick", "--now", "2026-12-09T09:00:00+08:00", "--json")
    assert code == 0
    counts = json.loads(out)
    for key in ("reminders_enqueued", "escalations_opened", "escalations_raised", "notifications_cancelled",
                "sent", "failed", "deferred"):
        assert key in counts
    assert counts["escalations_opened"] == 1 and counts["sent"] == 2
    assert "逾期1天" in err  # the console backend printed the SMS on stderr


def test_tick_dry_run_lists_what_it_would_do_and_writes_nothing(sessions, db_url, capsys):
    seed(sessions)
    code, out, _ = run(capsys, db_url, "tick", "--now", "2026-12-09T07:00", "--dry-run")
    assert code == 0 and "[dry run]" in out and "escalation:" in out and "would send 0" in out
    with db.transaction(sessions) as session:
        assert session.scalar(sa.select(sa.func.count(Escalation.id))) == 0


def test_tick_rejects_a_bad_now(db_url, capsys):
    code, _, err = run(capsys, db_url, "tick", "--now", "yesterday")
    assert code == 2 and "ISO 8601" in err


def test_escalations_list_json_has_the_documented_keys(sessions, db_url, capsys):
    seed(sessions)
    run(capsys, db_url, "tick", "--now", "2026-12-10T07:00:00+08:00", "--json")
    code, out, _ = run(capsys, db_url, "escalations", "list", "--json", "--state", "all")
    assert code == 0
    (item,) = json.loads(out)
    for key in ("id", "project_code", "project_name", "milestone", "due_date", "days_overdue", "level",
                "state", "unit", "owner"):
        assert key in item
    assert item["project_code"] == "GX-2026-0001" and item["due_date"] == "2026-12-08"
    code, out, _ = run(capsys, db_url, "escalations", "list", "--level", "2")
    assert code == 0 and "没有督办事项" in out


def test_escalations_list_filters_by_co_unit(sessions, db_url, capsys):
    seed(sessions)
    with db.transaction(sessions) as session:
        project_id = session.scalar(sa.select(Project.id).where(Project.code == "GX-2026-0001"))
        co_units.sync(session, {project_id: [f.unit(session, "规划局").id]})
        f.unit(session, "教育局")
    run(capsys, db_url, "tick", "--now", "2026-12-10T07:00:00+08:00", "--json")
    code, out, _ = run(capsys, db_url, "escalations", "list", "--json", "--co-unit", "规划局")
    assert code == 0 and [item["project_code"] for item in json.loads(out)] == ["GX-2026-0001"]
    code, out, _ = run(capsys, db_url, "escalations", "list", "--json", "--co-unit", "教育局")
    assert code == 0 and json.loads(out) == []


def test_milestones_complete_resolves_and_reports(sessions, db_url, capsys):
    seed(sessions)
    run(capsys, db_url, "tick", "--now", "2026-12-10T07:00:00+08:00", "--json")
    code, out, _ = run(capsys, db_url, "milestones", "complete", "GX-2026-0001", "组织实施", "--on", "2026-12-10",
                       "--evidence", "验收报告.pdf")
    assert code == 0 and "逾期完成" in out and "resolved 1" in out
    with db.transaction(sessions) as session:
        milestone = session.scalars(sa.select(Milestone).where(Milestone.name == "组织实施")).one()
        assert milestone.completed_on == date(2026, 12, 10) and milestone.evidence == "验收报告.pdf"


def test_milestones_reopen_puts_the_item_back_at_the_next_tick(sessions, db_url, capsys):
    seed(sessions)
    run(capsys, db_url, "tick", "--now", "2026-12-10T07:00:00+08:00", "--json")
    run(capsys, db_url, "milestones", "complete", "GX-2026-0001", "组织实施", "--on", "2026-12-10")
    code, out, _ = run(capsys, db_url, "milestones", "reopen", "GX-2026-0001", "组织实施")
    assert code == 0 and "重新打开" in out
    code, out, _ = run(capsys, db_url, "tick", "--now", "2026-12-16T07:00:00+08:00", "--json")
    assert code == 0 and json.loads(out)["escalations_reopened"] == 1
    with db.transaction(sessions) as session:
        escalation = session.scalars(sa.select(Escalation)).one()
        assert (escalation.state, escalation.level) == ("open", 2)
    code, _, err = run(capsys, db_url, "milestones", "reopen", "GX-2026-0001", "阶段成果")
    assert code == 1 and "未登记完成" in err


def test_milestones_complete_unknown_is_a_clear_error(sessions, db_url, capsys):
    seed(sessions)
    code, _, err = run(capsys, db_url, "milestones", "complete", "GX-NOPE", "组织实施")
    assert code == 1 and "GX-NOPE" in err and "Traceback" not in err


def test_outbox_list_json_masks_numbers(sessions, db_url, capsys):
    seed(sessions)
    run(capsys, db_url, "tick", "--now", "2026-12-09T07:00:00+08:00", "--json")
    code, out, _ = run(capsys, db_url, "outbox", "list", "--state", "pending", "--json")
    items = json.loads(out)
    assert code == 0 and len(items) == 2 and all("****" in item["to"] for item in items)


def test_commands_refuse_a_database_without_schema(tmp_path, capsys):
    code, _, err = run(capsys, f"sqlite:///{tmp_path / 'empty.db'}", "tick")
    assert code == 3 and "db upgrade" in err


def test_demo_replays_the_sample_registry_without_serving(tmp_path, capsys):
    code = main(["demo", "--days", "5", "--dir", str(tmp_path / "demo"), "--no-serve"])
    out = capsys.readouterr().out
    assert code == 0
    assert "── SMS" in out and "新增督办 opened" in out and "督办台 escalation board" in out
    assert "demo-supervisor" in out and (tmp_path / "demo" / "deadline-watch.db").exists()
    # the officials' loop: links in SMS, a completion with a photo, approved by the supervisor
    assert "http://127.0.0.1:8000/m/" in out and "责任人链接 official's link: http://127.0.0.1:8000/m/" in out
    assert "手机申报完成" in out and "审核通过 approved" in out
