"""Weekly dispatch and monthly summary: periods, table contents, and the xlsx/csv/html writers."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

import factories as f
from deadline_watch.board import report_files, report_tables
from deadline_watch.board.report_files import render
from deadline_watch.board.report_tables import monthly_period, monthly_report, weekly_period, weekly_report
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import DeadlineWatchError

MONDAY = date(2026, 11, 23)  # the weekly job's day; the report covers 16..22 November


def d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (d(23), (d(16), d(22))),  # Monday: the week just ended
        (d(22), (d(16), d(22))),  # Sunday: the week ending today
        (d(25), (d(16), d(22))),  # mid-week: the last full week
        (d(29), (d(23), d(29))),
    ],
)
def test_weekly_period_is_last_full_week_ending_on_or_before_at(at: date, expected) -> None:
    assert weekly_period(at) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (d(1, 12), (d(1), d(30))),
        (d(31, 12), (d(1), d(30))),
        (date(2027, 1, 1), (d(1, 12), d(31, 12))),
        (date(2027, 3, 1), (date(2027, 2, 1), date(2027, 2, 28))),
    ],
)
def test_monthly_period_is_previous_full_month(at: date, expected) -> None:
    assert monthly_period(at) == expected


@pytest.fixture
def week_registry(sessions):
    with transaction(sessions) as s:
        owner = f.person(s, name="周杰")
        p = f.project(s, "W-1", name="智慧园区", unit_name="住建局", owner=owner)
        m = lambda due, name, completed_on=None: f.milestone(  # noqa: E731
            s, due, project_=p, name=name, completed_on=completed_on)
        m(d(14), "早已逾期")  # overdue since the 15th: before the week
        m(d(15), "周一起逾期")  # first overdue day 16th
        m(d(21), "周日起逾期")  # first overdue day 22nd
        m(d(22), "周日到期")  # overdue from Monday the 23rd: not this week
        m(d(18), "逾期后完成", d(20))  # became overdue, then completed late
        m(d(17), "按期完成", d(17))
        m(d(10), "周一完成", d(16))
        m(d(30), "周日完成", d(22))
        m(d(5), "上周完成", d(15))
        m(d(30, 10), "周二才完成", d(24))  # done after the report date
        m(d(23), "下周一到期")
        m(d(29), "下周日到期")
        m(d(30), "下下周到期")
        m(d(24), "提前完成", d(20))
        stopped = f.project(s, "W-2", unit_name="住建局", status="suspended")
        f.milestone(s, d(18), project_=stopped, name="暂停")
    return sessions


def _names(report, sheet: str) -> list[str]:
    return [row[3] for row in report.sheet(sheet).rows]


def test_weekly_report_tables(week_registry, settings) -> None:
    with transaction(week_registry) as s:
        report = weekly_report(s, at=MONDAY, settings=settings)
    assert report.slug == "weekly-2026-W47" and (report.start, report.end) == (d(16), d(22))
    assert report.title == "每周一调度 2026年第47周"
    assert _names(report, "本周新增逾期") == ["周一起逾期", "逾期后完成", "周日起逾期"]
    assert _names(report, "本周完成") == ["周一完成", "按期完成", "逾期后完成", "提前完成", "周日完成"]
    assert _names(report, "下周到期") == ["下周一到期", "下周日到期"]
    dispatch = report.sheet("调度清单").rows
    items = [r for r in dispatch if r[0] is not None]
    assert [r[2] for r in items] == ["周二才完成", "早已逾期", "周一起逾期", "周日起逾期", "周日到期"]
    assert items[1][:10] == (2, "智慧园区", "早已逾期", "住建局", "周杰", "", d(14), 9, "—", "未生成督办")
    assert dispatch[5][1] == "住建局 小计: 5 项 (第 1 名)" and report.sheet("调度清单").row_variants[5] == "subtotal"
    assert dispatch[6][1] == "合计: 5 项, 1 个单位"
    # days overdue on the 23rd: 24, 9, 8, 2, 1 -> worst 24, average 44 / 5 = 8.8
    assert report.sheet("单位排名").rows == [(1, "住建局", 5, 0, 24, 8.8)]
    row = report.sheet("本周新增逾期").rows[0]
    assert row == ("W-1", "智慧园区", "住建局", "周一起逾期", "周杰", d(15), None, 8, "")
    completed = {r[3]: r[7] for r in report.sheet("本周完成").rows}
    assert completed["周一完成"] == 6 and completed["按期完成"] == 0 and completed["逾期后完成"] == 2


def test_monthly_report_has_unit_total_official_sheets_and_chart(sessions, settings) -> None:
    with transaction(sessions) as s:
        owner = f.person(s, name="吴芳", mobile="+8613800138000")
        p = f.project(s, "M-1", unit_name="教育局", owner=owner)
        f.milestone(s, d(3), project_=p, name="a", completed_on=d(3))
        f.milestone(s, d(10), project_=p, name="b", completed_on=d(12))
        f.milestone(s, d(20), project_=p, name="c")
        f.milestone(s, d(2, 12), project_=p, name="not this month")
    with transaction(sessions) as s:
        report = monthly_report(s, at=d(1, 12), settings=settings)
    assert report.slug == "monthly-2026-11" and (report.start, report.end) == (d(1), d(30))
    units = report.sheet("按单位").rows
    assert units[0][:6] == (1, "教育局", 3, 1, 1, 1) and units[-1][1] == "合计"
    assert units[0][7] == pytest.approx(1 / 3)
    official = report.sheet("按责任人").rows[0]
    assert official[:4] == (1, "吴芳", "+86138****8000", "教育局")  # the unit of their projects
    assert report.chart_svg and "<svg" in report.chart_svg and "教育局" in report.chart_svg


@pytest.fixture
def weekly(week_registry, settings):
    with transaction(week_registry) as s:
        return weekly_report(s, at=MONDAY, settings=settings)


def test_xlsx_has_bold_frozen_headers_and_real_dates(weekly) -> None:
    workbook = load_workbook(io.BytesIO(render(weekly, "xlsx")))
    assert workbook.sheetnames == ["调度清单", "单位排名", "本周新增逾期", "本周完成", "下周到期"]
    ws = workbook["本周新增逾期"]
    assert ws["A1"].value == "本周新增逾期 2026-11-16 至 2026-11-22" and ws["A2"].value == "统计周 2026-11-16 至 2026-11-22"
    assert [c.value for c in ws[3]] == [c.header for c in report_tables.MILESTONE_COLUMNS]
    assert all(c.font.bold for c in ws[3])
    assert ws.freeze_panes == "A4"
    due = ws.cell(row=4, column=6)
    assert due.is_date and due.value.date() == d(15) and due.number_format == "yyyy-mm-dd"
    assert ws.cell(row=4, column=8).value == 8
    assert ws.column_dimensions["B"].width >= 10  # two Chinese characters per cell width unit


def test_weekly_dispatch_sheet_is_print_ready_with_meeting_columns(weekly) -> None:
    ws = load_workbook(io.BytesIO(render(weekly, "xlsx")))["调度清单"]
    assert ws["A1"].value == "每周一调度 2026年第47周 调度清单"
    assert [c.value for c in ws[3]] == [
        "序号", "项目名称", "节点", "责任单位", "责任人", "牵头领导", "截止日期", "逾期天数", "督办级别", "办理状态",
        "最新进展", "存在问题", "下步措施"]
    first = [c.value for c in ws[4]]
    assert first[:3] == [1, "智慧园区", "周二才完成"] and first[7] == 24 and first[11:] == [None, None]
    assert ws.cell(row=4, column=12).border.left.style == "thin"  # blank columns still ruled for writing in
    subtotal = ws.cell(row=9, column=2)
    assert subtotal.value == "住建局 小计: 5 项 (第 1 名)" and subtotal.font.bold
    # A4 landscape, fitted to the page width, title rows repeated, page numbers in the footer
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$1:$3"
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:M1", "A2:M2"}
    titles = [ws_.title for ws_ in load_workbook(io.BytesIO(render(weekly, "xlsx"))).worksheets]
    assert all(not any(ch.isascii() and ch.isalpha() for ch in t) for t in titles)  # Chinese titles only


def test_monthly_xlsx_percent_cells_are_numbers(sessions, settings) -> None:
    with transaction(sessions) as s:
        p = f.project(s, "M-2")
        f.milestone(s, d(3), project_=p, name="a", completed_on=d(3))
        f.milestone(s, d(4), project_=p, name="b")
    with transaction(sessions) as s:
        report = monthly_report(s, at=d(1, 12), settings=settings)
    ws = load_workbook(io.BytesIO(render(report, "xlsx")))["按单位"]
    header = [c.value for c in ws[1]]
    rate = ws.cell(row=2, column=header.index("按时完成率") + 1)
    assert rate.value == pytest.approx(0.5) and rate.number_format == "0.0%"
    assert ws._charts, "the unit sheet carries a bar chart of on-time rate"


def test_csv_has_bom_and_titled_tables_separated_by_blank_lines(weekly) -> None:
    content = render(weekly, "csv")
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == [weekly.title]
    blank = [i for i, row in enumerate(rows) if row == []]
    assert len(blank) == 5
    first = blank[2]
    assert rows[first + 1][0].startswith("本周新增逾期")
    assert rows[first + 2][:3] == ["项目编号", "项目名称", "责任单位"]
    assert rows[first + 3] == ["W-1", "智慧园区", "住建局", "周一起逾期", "周杰", "2026-11-15", "", "8", ""]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)


def test_html_is_a_standalone_page_with_escaped_cells(sessions, settings) -> None:
    with transaction(sessions) as s:
        f.milestone(s, d(18), project_=f.project(s, "H-1", name="<script>alert(1)</script>"), name="x")
    with transaction(sessions) as s:
        weekly_html = render(weekly_report(s, at=MONDAY, settings=settings), "html").decode()
        monthly_html = render(monthly_report(s, at=d(1, 12), settings=settings), "html").decode()
    assert weekly_html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in weekly_html
    assert "<script>" not in weekly_html and "&lt;script&gt;" in weekly_html
    parser = _Tables()
    parser.feed(weekly_html)
    assert parser.tags.count("table") == 3  # dispatch, its ranking, became overdue; empty tables say 无
    assert "<svg" in monthly_html and "合计" in monthly_html


def test_unknown_format_is_a_user_error(weekly) -> None:
    with pytest.raises(DeadlineWatchError):
        render(weekly, "pdf")


def test_scheduled_weekly_report_writes_xlsx_and_csv(week_registry, settings, tmp_path) -> None:
    settings = settings.model_copy(update={"reports": settings.reports.model_copy(update={"dir": tmp_path / "out"})})
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    paths = report_files.write_scheduled_report(week_registry, settings, "weekly", now=now)
    assert [p.name for p in paths] == ["weekly-2026-W47.xlsx", "weekly-2026-W47.csv"]
    assert load_workbook(paths[0])["本周新增逾期"].max_row == 3 + 3  # title, subtitle, header, three rows
    assert paths[1].read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_scheduled_monthly_report_uses_local_date(sessions, settings, tmp_path) -> None:
    settings = settings.model_copy(update={"reports": settings.reports.model_copy(update={"dir": tmp_path})})
    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 December 01:00 in Shanghai
    paths = report_files.write_scheduled_report(sessions, settings, "monthly", now=now)
    assert [p.name for p in paths] == ["monthly-2026-11.xlsx", "monthly-2026-11.csv"]


def test_rewrite_replaces_atomically_and_failure_keeps_old_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "weekly-2026-W47.csv"
    report_files.write_atomic(target, b"old")
    report_files.write_atomic(target, b"new")
    assert target.read_bytes() == b"new"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(DeadlineWatchError) as caught:
        report_files.write_atomic(target, b"half")
    assert "No space left" in caught.value.message
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temp file left behind


def test_write_into_missing_directory_creates_it(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "r.html"
    report_files.write_atomic(target, b"<html></html>")
    assert target.read_bytes() == b"<html></html>"
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_unwritable_directory_is_a_user_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DeadlineWatchError):
        report_files.write_atomic(blocker / "r.csv", b"x")


def test_weekly_name_uses_iso_year_of_the_reported_week(sessions, settings) -> None:
    with transaction(sessions) as s:
        report = weekly_report(s, at=date(2027, 1, 4), settings=settings)  # Monday after 28 Dec - 3 Jan
    assert report.slug == "weekly-2026-W53" and (report.start, report.end) == (d(28, 12), date(2027, 1, 3))


def test_report_owner_is_the_milestone_override_when_set(sessions, settings) -> None:
    with transaction(sessions) as s:
        p = f.project(s, "O-1", owner=f.person(s, name="项目负责人"))
        special = f.milestone(s, d(18), project_=p, name="专项节点")
        special.owner_id = f.person(s, name="节点负责人").id
        f.milestone(s, d(19), project_=p, name="普通节点")
    with transaction(sessions) as s:
        report = weekly_report(s, at=MONDAY, settings=settings)
    owners = {row[3]: row[4] for row in report.sheet("本周新增逾期").rows}
    assert owners == {"专项节点": "节点负责人", "普通节点": "项目负责人"}
