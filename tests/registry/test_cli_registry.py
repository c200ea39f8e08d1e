"""`deadline-watch import` / `export` through `cli.main`: output, --json, exit codes."""

from __future__ import annotations

import json

from registry_files import EN, SAMPLE, csv_bytes, project_rows
from sqlalchemy import func, select

from deadline_watch.cli import main
from deadline_watch.core import db
from deadline_watch.domain.models import Milestone, Project


def test_import_prints_summary_and_exits_0(db_url, capsys):
    assert main(["--db", db_url, "import", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "新增 created 30" in out and "新增 created 120" in out and "错误 errors: 0" in out
    assert main(["--db", db_url, "import", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "未变 unchanged 30" in out and "created" not in out.split("\n")[0]


def test_import_json_is_the_report_object(db_url, capsys):
    assert main(["--db", db_url, "import", "--json", str(SAMPLE)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {key: report[key] for key in (
        "projects_created", "projects_updated", "projects_unchanged", "milestones_created",
        "milestones_updated", "milestones_unchanged", "pruned", "errors")} == {
        "projects_created": 30, "projects_updated": 0, "projects_unchanged": 0,
        "milestones_created": 120, "milestones_updated": 0, "milestones_unchanged": 0,
        "pruned": 0, "errors": []}


def test_errors_exit_1_list_each_line_and_write_nothing(db_url, tmp_path, capsys):
    rows = project_rows()
    rows[1]["due_date"] = "13/13/2026"
    rows[3]["owner_mobile"] = "110"
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows, headers=EN, encoding="gb18030"))
    assert main(["--db", db_url, "import", str(path)]) == 1
    out = capsys.readouterr().out
    assert "第 3 行 line 3 [due_date] “13/13/2026”" in out
    assert "第 5 行 line 5 [owner_mobile] “110”" in out
    assert "nothing written" in out
    assert main(["--db", db_url, "import", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(e["line"], e["column"], e["value"]) for e in report["errors"]] == [
        (3, "due_date", "13/13/2026"), (5, "owner_mobile", "110")]
    engine = db.make_engine(db_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Project)) == 0
    engine.dispose()


def test_skip_invalid_exits_1_but_writes_the_valid_rows(db_url, tmp_path, capsys):
    rows = project_rows()
    rows[3]["due_date"] = "later"
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes(rows))
    assert main(["--db", db_url, "import", "--skip-invalid", str(path)]) == 1
    out = capsys.readouterr().out
    assert "新增 created 3" in out and "跳过 skipped 1" in out
    engine = db.make_engine(db_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Milestone)) == 3
    engine.dispose()


def test_dry_run_lists_every_change_and_exits_0(db_url, tmp_path, capsys):
    assert main(["--db", db_url, "import", str(SAMPLE)]) == 0
    capsys.readouterr()
    rows = project_rows("GX-NEW")
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes(rows))
    assert main(["--db", db_url, "import", "--dry-run", "--prune", str(path)]) == 0
    out = capsys.readouterr().out
    assert "project GX-NEW: created" in out
    assert "milestone GX-NEW/验收结项: created" in out
    assert "project GX-2026-0030: pruned (status active → cancelled)" in out
    assert "dry run, nothing written" in out
    engine = db.make_engine(db_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(Project.status == "cancelled")) == 0
    engine.dispose()


def test_export_then_import_reports_zero_changes(db_url, tmp_path, capsys):
    assert main(["--db", db_url, "import", str(SAMPLE)]) == 0
    out_path = tmp_path / "导出.csv"
    assert main(["--db", db_url, "export", str(out_path)]) == 0
    assert "exported 120 rows" in capsys.readouterr().out
    assert main(["--db", db_url, "import", "--json", "--prune", str(out_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changes"] == [] and report["milestones_unchanged"] == 120


def test_missing_file_and_unmigrated_database_exit_codes(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["--db", url, "import", str(SAMPLE)]) == 3  # schema not at head
    assert "db upgrade" in capsys.readouterr().err
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert main(["--db", url, "import", str(tmp_path / "nope.csv")]) == 1
    assert "cannot read the file" in capsys.readouterr().out


def test_terminal_report_shows_errors_as_a_table(capsys, no_db):
    from registry_files import NOW

    from deadline_watch.cli.registry_cmds import _print_rich
    from deadline_watch.registry import import_bytes

    rows = project_rows()
    rows[2]["level"] = "[bold]县级"  # markup in a value is shown, not interpreted
    report = import_bytes(no_db, filename="r.csv", content=csv_bytes(rows), now=NOW)
    _print_rich(report)
    out = capsys.readouterr().out
    assert "errors (1)" in out and "[bold]县级" in out and "项目级别" in out
