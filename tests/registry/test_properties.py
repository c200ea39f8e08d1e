"""Property-based: whatever bytes or cell values arrive, the import answers with a report
(errors with line numbers, or a write), never a traceback; valid data round-trips."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_files import EN, NOW, ZH

from deadline_watch.registry import ImportOptions, ImportReport, export_path, import_bytes
from deadline_watch.registry.columns import COLUMNS

# The database is shared by the examples of one test: dry runs never write, and the
# writing tests only need "no traceback", not a fresh database each time.
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_is_a_report(report: ImportReport) -> None:
    assert isinstance(report, ImportReport)
    payload = report.to_dict()
    for error in payload["errors"]:
        assert error["line"] is None or error["line"] >= 1
        assert error["reason_zh"] and error["reason_en"]
    if report.errors:
        assert report.written is False or report.rows_skipped >= 0
    else:
        assert report.written or report.dry_run


@PROPERTY_SETTINGS
@given(content=st.binary(max_size=2000), name=st.sampled_from(["r.csv", "r.xlsx", "r.txt", "r.xls"]))
def test_arbitrary_bytes_give_a_report(sessions, content, name):
    report = import_bytes(sessions, filename=name, content=content, now=NOW,
                          options=ImportOptions(dry_run=True))
    assert_is_a_report(report)
    assert report.errors  # no header row can come out of noise


@PROPERTY_SETTINGS
@given(content=st.binary(max_size=400), encoding=st.sampled_from([None, "utf-8", "gb18030", "utf-16"]))
def test_arbitrary_bytes_after_a_valid_header_give_a_report(sessions, content, encoding):
    header = ("\ufeff" + ",".join(ZH) + "\r\n").encode("utf-8")
    report = import_bytes(sessions, filename="r.csv", content=header + content, now=NOW,
                          options=ImportOptions(dry_run=True, encoding=encoding))
    assert_is_a_report(report)


cell_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\u3000", "2026-12-01", "2026/2/30", "１３８００１３８０００", "13800138000",
                     "+86 139-0013-9000", "028-85123456", "省级", "市级", "区级", "国家级", "GX-1", "谋划立项",
                     "a、b，c", "\x00", "\n", '"', "2026年12月1日"]),
)


@PROPERTY_SETTINGS
@given(rows=st.lists(st.lists(cell_text, min_size=0, max_size=len(COLUMNS) + 2), max_size=8),
       english=st.booleans(), skip_invalid=st.booleans())
def test_arbitrary_csv_cell_values_give_a_report(sessions, rows, english, skip_invalid):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(EN if english else ZH)
    writer.writerows(rows)
    report = import_bytes(sessions, filename="r.csv", content=buffer.getvalue().encode("utf-8"),
                          now=NOW, options=ImportOptions(skip_invalid=skip_invalid))
    assert_is_a_report(report)


xlsx_cell = st.one_of(
    cell_text.filter(lambda text: not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)),
    st.none(),
    st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.booleans(),
)


@settings(PROPERTY_SETTINGS, max_examples=15)
@given(rows=st.lists(st.lists(xlsx_cell, max_size=len(COLUMNS)), min_size=1, max_size=5))
def test_arbitrary_xlsx_cell_values_give_a_report(sessions, rows):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ZH)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = import_bytes(sessions, filename="r.xlsx", content=buffer.getvalue(), now=NOW,
                          options=ImportOptions(skip_invalid=True))
    assert_is_a_report(report)


name_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                           blacklist_characters="、，,;；*＊\ufeff\u200b\u200c\u200d\u2060"),
    min_size=1, max_size=8,
)


# project codes keep to the documented set: letters, digits, CJK, - _ . (not leading)
code_text = st.from_regex(r"[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff._\-]{0,7}", fullmatch=True)


@st.composite
def registries(draw):
    projects = draw(st.lists(st.tuples(code_text, name_text), min_size=1, max_size=4,
                             unique_by=lambda item: item[0]))
    rows = []
    for index, (code, name) in enumerate(projects):
        owner_mobile = f"1390013{index:04d}"
        milestones = draw(st.lists(name_text, min_size=1, max_size=4, unique=True))
        level = draw(st.sampled_from(["", "省级", "市级", "区级"]))
        co_units = draw(st.lists(name_text, max_size=3))
        for milestone in milestones:
            due = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
            done = draw(st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
            style = draw(st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]))
            rows.append([code, name, f"单位{index % 2}", "", "", f"责任人{index}", owner_mobile, milestone,
                         due.strftime(style), done.strftime(style) if done else "",
                         "、".join(co_units), level, name])
    return rows


@settings(PROPERTY_SETTINGS, max_examples=20)
@given(rows=registries())
def test_any_valid_registry_round_trips_through_export(sessions, tmp_path_factory, rows):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(ZH)
    writer.writerows(rows)
    report = import_bytes(sessions, filename="r.csv", content=buffer.getvalue().encode("gb18030"),
                          now=NOW, options=ImportOptions(prune=True))
    assert report.errors == []
    path = tmp_path_factory.mktemp("export") / "export.csv"
    with sessions() as session:
        export_path(session, path)
    again = import_bytes(sessions, filename="e.csv", content=path.read_bytes(), now=NOW,
                         options=ImportOptions(prune=True))
    assert again.errors == [] and again.changed == 0, again.changes
