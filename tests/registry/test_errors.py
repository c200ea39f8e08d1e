"""Every kind of error, reported with the spreadsheet line (header = line 1), the column
header as written, the value and a bilingual reason; nothing reaches the database."""

from __future__ import annotations

import codecs

import pytest
from registry_files import EN, NOW, ZH, csv_bytes, project_rows

from deadline_watch.registry import ImportOptions, import_bytes
from deadline_watch.registry.limits import quote


def errors_of(no_db, content: bytes, filename: str = "r.csv", **options):
    report = import_bytes(no_db, filename=filename, content=content, now=NOW,
                          options=ImportOptions(**options))
    assert not report.written
    return [(e.line, e.column, e.value) for e in report.errors], report


def test_each_error_names_line_column_value_and_reason_in_both_languages(no_db):
    rows = project_rows()
    rows[2]["due_date"] = "2027/3/32"
    errors, report = errors_of(no_db, csv_bytes(rows))
    assert errors == [(4, "截止日期", "2027/3/32")]
    error = report.errors[0]
    assert error.reason_zh and error.reason_en and error.reason_zh != error.reason_en
    assert report.to_dict()["errors"][0] == {
        "line": 4, "column": "截止日期", "value": "2027/3/32", "reason": error.reason,
        "reason_zh": error.reason_zh, "reason_en": error.reason_en,
    }


def test_english_headers_are_named_in_english(no_db):
    rows = project_rows()
    rows[0]["owner_mobile"] = "12345"
    errors, _ = errors_of(no_db, csv_bytes(rows, headers=EN))
    assert errors == [(2, "owner_mobile", "12345")]


@pytest.mark.parametrize("key", ["project_code", "project_name", "unit", "owner", "owner_mobile",
                                 "milestone", "due_date"])
def test_required_value_empty_is_an_error(no_db, key):
    rows = project_rows()
    rows[3][key] = "  \u3000"
    errors, report = errors_of(no_db, csv_bytes(rows))
    assert (5, ZH[EN.index(key)]) in [(line, column) for line, column, _ in errors]
    assert any("empty" in e.reason_en for e in report.errors)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("due_date", "12/27/2026", "unrecognised date"),
        ("due_date", "2026-02-30", "no such date"),
        ("completed_on", "上周", "unrecognised date"),
        ("owner_mobile", "028-85123456", "not a mobile"),
        ("owner_mobile", "14000000000", "invalid"),
        ("lead_leader_mobile", "电话", "not a phone number"),
        ("level", "国家级", "level must be"),
        ("project_code", "X" * 65, "too long"),
        ("milestone", "节" * 101, "too long"),
    ],
)
def test_bad_cell_values_are_errors_on_their_line(no_db, key, value, fragment):
    rows = project_rows() + project_rows("GX-2")
    rows[6][key] = value
    errors, report = errors_of(no_db, csv_bytes(rows))
    assert (8, ZH[EN.index(key)], quote(value)) in errors
    assert any(fragment in e.reason_en for e in report.errors)


def test_lead_leader_needs_both_name_and_mobile(no_db):
    rows = project_rows(lead_leader="郭刚", lead_leader_mobile="")
    errors, _ = errors_of(no_db, csv_bytes(rows))
    assert [(line, column) for line, column, _ in errors] == [(n, "牵头领导手机") for n in (2, 3, 4, 5)]
    rows = project_rows(lead_leader="", lead_leader_mobile="18900009807")
    errors, _ = errors_of(no_db, csv_bytes(rows))
    assert [(line, column) for line, column, _ in errors] == [(n, "牵头领导") for n in (2, 3, 4, 5)]


def test_project_rows_that_disagree_are_an_error_naming_both_rows(no_db):
    rows = project_rows()
    rows[2]["unit"] = "投资服务局"
    rows[3]["project_name"] = "另一个名字"
    errors, report = errors_of(no_db, csv_bytes(rows))
    assert errors == [(4, "责任单位", "投资服务局"), (5, "项目名称", "另一个名字")]
    assert "line 2" in report.errors[0].reason_en and "line 4" in report.errors[0].reason_en
    assert "第 2 行" in report.errors[0].reason_zh


def test_different_owner_on_one_project_is_an_error(no_db):
    rows = project_rows()
    rows[1].update(owner="王五", owner_mobile="13900139000")
    errors, _ = errors_of(no_db, csv_bytes(rows))
    assert errors == [(3, "责任人", "王五"), (3, "责任人手机", "+8613900139000")]


def test_one_mobile_under_two_names_is_an_error_naming_both_rows(no_db):
    rows = project_rows("GX-1") + project_rows("GX-2", owner="杜平明")
    errors, report = errors_of(no_db, csv_bytes(rows))
    assert errors[0] == (6, "责任人手机", "+8619800006866")
    assert "line 2" in report.errors[0].reason_en and "line 6" in report.errors[0].reason_en


def test_same_milestone_twice_identical_is_merged_different_is_an_error(no_db, tmp_path):
    rows = project_rows()
    rows.append(dict(rows[1]))
    rows.append(dict(rows[1], due_date="2027-01-15"))
    errors, report = errors_of(no_db, csv_bytes(rows))
    assert errors == [(7, "截止日期", "2027-01-15")]
    assert "line 3" in report.errors[0].reason_en


def test_missing_required_columns_are_reported_on_the_header_line(no_db):
    headers = [h for h in ZH if h not in ("责任人手机", "截止日期")]
    content = "\ufeff" + ",".join(headers) + "\r\n" + ",".join(["x"] * len(headers)) + "\r\n"
    errors, report = errors_of(no_db, content.encode("utf-8"))
    assert [(line, column) for line, column, _ in errors] == [
        (1, "责任人手机 / owner_mobile"), (1, "截止日期 / due_date")]
    assert all("missing" in e.reason_en for e in report.errors)


def test_duplicate_column_is_an_error(no_db):
    content = csv_bytes(project_rows(), headers=ZH[:-1] + ["project_code"])
    errors, report = errors_of(no_db, content)
    assert errors == [(1, "project_code", "")]
    assert "duplicate column" in report.errors[0].reason_en


def test_no_header_row_is_one_error(no_db):
    errors, report = errors_of(no_db, b"a,b,c\r\n1,2,3\r\n")
    assert errors == [(1, None, "")]
    assert "no header row" in report.errors[0].reason_en
    errors, _ = errors_of(no_db, b"")
    assert errors == [(1, None, "")]


def test_header_only_file_is_an_error_not_an_empty_registry(no_db):
    errors, report = errors_of(no_db, csv_bytes([]))
    assert errors == [(2, None, "")]
    assert "no data rows" in report.errors[0].reason_en


def test_undecodable_bytes_are_reported_with_their_line(no_db):
    content = csv_bytes(project_rows(), encoding="utf-8-sig")
    lines = content.split(b"\r\n")
    lines[3] = lines[3].replace("阶段".encode(), b"\xff\xfe")
    errors, report = errors_of(no_db, b"\r\n".join(lines))
    assert errors == [(4, None, errors[0][2])]
    assert "ff fe" in errors[0][2]
    assert "--encoding" in report.errors[0].reason_en


def test_forced_wrong_encoding_is_a_report_not_a_crash(no_db):
    content = csv_bytes(project_rows(), encoding="gb18030")
    errors, report = errors_of(no_db, content, encoding="utf-8")
    assert errors[0][0] == 1 and "not valid utf-8" in report.errors[0].reason_en
    errors, report = errors_of(no_db, content, encoding="klingon")
    assert "unknown encoding" in report.errors[0].reason_en


def test_old_xls_and_damaged_xlsx_are_reports(no_db):
    errors, report = errors_of(no_db, b"\xd0\xcf\x11\xe0" + b"\0" * 100, filename="r.xls")
    assert "old .xls" in report.errors[0].reason_en
    errors, report = errors_of(no_db, b"PK\x03\x04garbage", filename="r.xlsx")
    assert "cannot open the Excel file" in report.errors[0].reason_en


def test_unreadable_path_is_a_report(no_db, tmp_path):
    from deadline_watch.registry import import_path

    report = import_path(no_db, tmp_path / "missing.csv", now=NOW)
    assert report.errors and report.errors[0].line is None
    assert "cannot read the file" in report.errors[0].reason_en


def test_all_errors_of_a_messy_file_are_listed_not_just_the_first(no_db):
    rows = project_rows() + project_rows("GX-2")
    rows[0]["due_date"] = "明天"
    rows[4]["owner_mobile"] = "123"
    rows[7]["level"] = "县级"
    errors, _ = errors_of(no_db, csv_bytes(rows))
    assert [line for line, _, _ in errors] == [2, 6, 9]


def test_line_numbers_count_title_rows_blank_rows_and_multiline_cells(no_db):
    rows = project_rows(note="第一行\n第二行")  # one spreadsheet row, two physical lines each
    rows[2]["due_date"] = "bad"
    body = csv_bytes(rows, preamble=[["2026年重点项目清单"], []])
    errors, _ = errors_of(no_db, body)
    # row 1 title, row 2 blank, row 3 header, rows 4.. data: the third data row is row 6
    assert errors == [(6, "截止日期", "bad")]


def test_error_on_the_last_row_of_a_big_file_is_found(no_db):
    rows = [r for n in range(200) for r in project_rows(f"GX-{n:03d}")]
    rows[-1]["owner_mobile"] = "1380013800"
    errors, _ = errors_of(no_db, csv_bytes(rows, encoding="gb18030"))
    assert errors == [(801, "责任人手机", "1380013800")]


def test_gb18030_error_value_is_shown_decoded(no_db):
    rows = project_rows()
    rows[1]["level"] = "乡级"
    errors, _ = errors_of(no_db, csv_bytes(rows, encoding="gb18030"))
    assert errors == [(3, "项目级别", "乡级")]


def test_utf16_tab_separated_unicode_text_from_excel_is_read(no_db):
    rows = project_rows()
    rows[1]["level"] = "乡级"
    content = codecs.BOM_UTF16_LE + csv_bytes(rows, delimiter="\t", encoding="utf-16-le")
    errors, report = errors_of(no_db, content)
    assert errors == [(3, "项目级别", "乡级")]
    assert report.encoding == "utf-16"


@pytest.mark.parametrize("milestone_cells", [
    {"due_date": "2027/3/32"}, {"due_date": ""}, {"milestone": ""}, {"milestone": "节" * 300},
    {"completed_on": "昨天"}, {"milestone": "", "due_date": "", "completed_on": "昨天"},
    {"due_date": "2026-13-01", "completed_on": "2026/2/30"},
])
@pytest.mark.parametrize("schedule", ["", "长期", "每月25日"])
def test_a_row_after_a_valid_row_of_its_project_gets_the_errors_it_gets_alone(no_db, milestone_cells, schedule):
    """Validation rechecks only the milestone cells of a row whose project cells equal the
    previous valid row's; its errors must be exactly those of the full check."""
    valid = project_rows(schedule=schedule)[0]
    if schedule == "长期":
        valid.update(milestone="", due_date="")
    bad = {**valid, "milestone": "组织实施", "due_date": "2026-12-27", **milestone_cells}

    def errors(rows):
        return [(e.line, e.column, e.value, e.reason_zh, e.reason_en) for e in errors_of(no_db, csv_bytes(rows))[1].errors]

    after_valid, alone = errors([valid, bad]), errors([bad, valid])
    assert alone  # every case is an error: the test can fail
    assert after_valid == [(3, *error[1:]) for error in alone if error[0] == 2]


def test_a_repeated_cell_text_gets_the_same_result_on_every_row(no_db):
    """Validation remembers date and mobile texts that parsed (issue 17): a text that failed
    is reported again on every row, and one that parsed is accepted on every row."""
    rows = [*project_rows("GX-1"), *project_rows("GX-2", owner_mobile="19800006867")]
    for index in (0, 2, 5):
        rows[index]["due_date"] = "2027/3/32"
    rows[4]["owner_mobile"] = rows[5]["owner_mobile"] = "1980000686"  # one digit short
    rows[6]["completed_on"] = rows[7]["completed_on"] = "2026/12/1"
    errors, _ = errors_of(no_db, csv_bytes(rows))
    assert errors == [(2, "截止日期", "2027/3/32"), (4, "截止日期", "2027/3/32"), (6, "责任人手机", "1980000686"),
                      (7, "责任人手机", "1980000686"), (7, "截止日期", "2027/3/32")]


@pytest.mark.parametrize("headers", ["all", "without the optional columns", "reordered"])
def test_the_columns_present_and_their_order_do_not_change_the_result(no_db, headers):
    rows = [*project_rows("GX-1"), *project_rows("GX-2", owner_mobile="19800006867")]
    rows[1]["due_date"] = "2026-02-30"
    rows[6]["owner_mobile"] = "12345"
    columns = {"all": EN, "reordered": EN[::-1],
               "without the optional columns": [key for key in EN if key not in ("co_units", "level", "note",
                                                                                  "schedule", "deadline_phrase")]}[headers]
    content = "\r\n".join([",".join(columns)] + [",".join(row[key] for key in columns) for row in rows]).encode()
    errors, report = errors_of(no_db, content)
    assert [(line, column) for line, column, _ in errors] == [(3, "due_date"), (8, "owner_mobile")]
    assert report.rows_read == 8
