"""`deadline-watch report weekly|monthly`: output paths, formats, default date, exit codes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook

import factories as f
from deadline_watch.cli import main
from deadline_watch.core.db import transaction


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, so no config file is picked up and reports/ lands here."""
    monkeypatch.chdir(tmp_path)
    for variable in ("DEADLINE_WATCH_CONFIG", "DEADLINE_WATCH_REPORTS_DIR", "DEADLINE_WATCH_DB_URL"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.fixture
def filled(sessions):
    with transaction(sessions) as s:
        p = f.project(s, "CLI-1", unit_name="住建局")
        f.milestone(s, date(2026, 11, 18), project_=p, name="组织实施")
        f.milestone(s, date(2026, 11, 5), project_=p, name="谋划立项", completed_on=date(2026, 11, 4))
    return sessions


def test_weekly_xlsx_to_explicit_path(filled, db_url, workdir, capsys) -> None:
    out = workdir / "out" / "weekly.xlsx"
    code = main(["--db", db_url, "report", "weekly", "--at", "2026-11-23", "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    rows = list(load_workbook(out)["本周新增逾期"].values)
    assert rows[3][0] == "CLI-1" and rows[3][3] == "组织实施"  # under the title, subtitle and header rows


def test_default_path_is_reports_dir_with_report_name(filled, db_url, workdir, capsys) -> None:
    assert main(["--db", db_url, "report", "monthly", "--at", "2026-12-01", "--format", "csv"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == Path("reports") / "monthly-2026-11.csv"
    text = (workdir / path).read_bytes().decode("utf-8-sig")
    assert "住建局" in text and "合计" in text


@freeze_time("2026-11-22 17:30:00")  # UTC; already Monday 23 November 01:30 in Shanghai
def test_default_date_is_today_in_configured_timezone(filled, db_url, workdir, capsys) -> None:
    assert main(["--db", db_url, "report", "weekly", "--format", "html"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "weekly-2026-W47.html"
    assert "组织实施" in (workdir / path).read_text(encoding="utf-8")


@pytest.mark.parametrize("bad", ["2026-13-01", "23/11/2026", "tomorrow", ""])
def test_bad_date_is_one_bilingual_line_and_exit_2(db_url, workdir, capsys, bad) -> None:
    # a usage error, like an out-of-range date
    assert main(["--db", db_url, "report", "weekly", "--at", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "日期格式错误" in err and "expected YYYY-MM-DD" in err and "Traceback" not in err


def test_unknown_kind_or_format_is_a_usage_error(db_url, workdir) -> None:
    assert main(["--db", db_url, "report", "daily"]) == 2
    assert main(["--db", db_url, "report", "weekly", "--format", "pdf"]) == 2


def test_unmigrated_database_is_refused_with_schema_exit_code(workdir, capsys) -> None:
    assert main(["--db", f"sqlite:///{workdir / 'empty.db'}", "report", "weekly", "--at", "2026-11-23"]) == 3
    assert "Traceback" not in capsys.readouterr().err
    assert not (workdir / "reports").exists()


def test_unwritable_output_is_exit_1(filled, db_url, workdir, capsys) -> None:
    (workdir / "blocker").write_text("x")
    assert main(["--db", db_url, "report", "weekly", "--at", "2026-11-23", "--out", str(workdir / "blocker" / "r.csv")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_bulletin_docx_by_default_for_the_month_before(filled, db_url, workdir, capsys) -> None:
    from docx import Document

    assert main(["--db", db_url, "report", "bulletin", "--at", "2026-12-01"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == Path("reports") / "bulletin-2026-11.docx"
    text = "\n".join(p.text for p in Document(workdir / path).paragraphs)
    # November: 组织实施 (still overdue) and 谋划立项 (on time) are due
    assert "本月到期节点 2 个,按期完成 1 个,按期完成率 50.0%" in text


def test_bulletin_html_to_a_file_and_wrong_format_is_usage(filled, db_url, workdir, capsys) -> None:
    out = workdir / "notice.html"
    assert main(["--db", db_url, "report", "bulletin", "--at", "2026-12-05", "--format", "html", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "<style>" in html and "关于2026年11月重点项目节点推进情况的通报" in html
    assert main(["--db", db_url, "report", "bulletin", "--format", "xlsx"]) == 2
    assert main(["--db", db_url, "report", "weekly", "--format", "docx"]) == 2


@pytest.mark.parametrize("argv", [
    ["report", "weekly", "--at", "9999-12-31"],
    ["report", "monthly", "--at", "0001-01-01"],
    ["tick", "--now", "9999-12-31T10:00+08:00"],
    ["deliver", "--now", "9999-12-31T10:00+08:00"],
])
def test_dates_beyond_2000_2100_exit_2_with_a_clear_message(db_url, capsys, argv):
    from deadline_watch.cli import main

    assert main(["--db", db_url, *argv]) == 2
    captured = capsys.readouterr()
    assert "2000-2100" in captured.err and "Traceback" not in captured.err + captured.out
