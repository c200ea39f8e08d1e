"""A hypothesis fuzz of the import with generated hostile .xlsx files: whatever the
workbook holds (garbage merged references, odd row numbers, huge or broken parts, flipped
bytes), the import answers with a report, never a traceback."""

from __future__ import annotations

import io
import zipfile

import pytest
from hostile_files import SHEET_HEAD, header_row, write_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_files import NOW

from deadline_watch.registry import ImportLimits, ImportOptions, import_bytes

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<&\"]"), max_size=30)
REFERENCE = st.one_of(
    st.from_regex(r"[A-Z]{1,3}[0-9]{1,7}:[A-Z]{1,3}[0-9]{1,7}", fullmatch=True),
    st.sampled_from(["A1:XFD1048576", "A0:B2", "ZZZZ1:A1", "", ":", "A1", "1:2", "$A$1:$B$2"]),
    TEXT,
)


@st.composite
def hostile_workbooks(draw, tmp_path_factory) -> bytes:
    rows = []
    for number in draw(st.lists(st.integers(2, 2_000_000), max_size=8)):
        value = draw(st.one_of(TEXT, st.integers(-10**20, 10**20).map(str), st.sampled_from(["=1+1", "1e400", "NaN"])))
        kind = draw(st.sampled_from(["inlineStr", "n", "s", "b", "e", "d", "str"]))
        column = draw(st.sampled_from(["A", "B", "M", "XFD", "AAA", ""]))
        rows.append(f'<row r="{number}"><c r="{column}{number}" t="{kind}"><is><t>{value}</t></is><v>{value}</v></c></row>')
    merges = "".join(f'<mergeCell ref="{ref}"/>' for ref in draw(st.lists(REFERENCE, max_size=6)))
    tail = draw(st.sampled_from(["</sheetData></worksheet>", "</sheetData>", "", "<row", "</worksheet>"]))
    sheet = SHEET_HEAD + header_row() + "".join(rows) + (f"</sheetData><mergeCells>{merges}</mergeCells></worksheet>"
                                                          if merges else tail)
    strings = draw(st.one_of(st.none(), st.lists(TEXT, max_size=4).map(
        lambda items: ['<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       + "".join(f"<si><t>{item}</t></si>" for item in items) + "</sst>"])))
    path = tmp_path_factory.mktemp("fuzz") / "f.xlsx"
    write_xlsx(path, [sheet], strings)
    content = path.read_bytes()
    damage = draw(st.sampled_from(["none", "flip", "truncate", "drop_workbook"]))
    if damage == "flip" and content:
        position = draw(st.integers(0, len(content) - 1))
        content = content[:position] + bytes([content[position] ^ 0xFF]) + content[position + 1:]
    elif damage == "truncate":
        content = content[: draw(st.integers(0, len(content)))]
    elif damage == "drop_workbook":
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w") as target:
            for member in source.infolist():
                if member.filename != "xl/workbook.xml":
                    target.writestr(member, source.read(member))
        content = buffer.getvalue()
    return content


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_xlsx_files_give_a_report_never_a_traceback(sessions, tmp_path_factory, data):
    content = data.draw(hostile_workbooks(tmp_path_factory))
    report = import_bytes(sessions, filename="fuzz.xlsx", content=content, now=NOW,
                          options=ImportOptions(dry_run=True, limits=ImportLimits(max_rows=1_000_000)))
    assert not report.written
    for error in report.errors:
        assert error.reason_zh and error.reason_en and len(error.value) <= 120


def test_a_member_whose_local_header_disagrees_with_the_directory_is_a_damaged_file(sessions, tmp_path):
    # Found by the fuzz above: zipfile raises BadZipFile when the sheet is opened, not read.
    path = tmp_path / "f.xlsx"
    write_xlsx(path, [SHEET_HEAD + header_row() + "</sheetData></worksheet>"], None)
    content = path.read_bytes()
    first = content.index(b"xl/worksheets/sheet1.xml")  # the local header comes before the directory
    content = content[:first] + b"xl/worksheets/sheet9.xml" + content[first + len(b"xl/worksheets/sheet1.xml"):]
    report = import_bytes(sessions, filename="f.xlsx", content=content, now=NOW, options=ImportOptions(dry_run=True))
    assert not report.written
    assert [error.reason_zh for error in report.errors] == ["Excel 文件已损坏"]


@pytest.mark.parametrize("member", ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml"])
def test_a_member_with_a_corrupt_deflate_stream_gives_a_report(sessions, tmp_path, member):
    # Found by the fuzz above: zlib.error from the workbook part escaped the sheet lookup.
    path = tmp_path / "f.xlsx"
    write_xlsx(path, [SHEET_HEAD + header_row() + "</sheetData></worksheet>"], None)
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        info = archive.getinfo(member)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    name_length = int.from_bytes(content[info.header_offset + 26:info.header_offset + 28], "little")
    extra_length = int.from_bytes(content[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    content[start:start + info.compress_size] = b"\xff" * info.compress_size  # not a deflate stream
    report = import_bytes(sessions, filename="f.xlsx", content=bytes(content), now=NOW,
                          options=ImportOptions(dry_run=True))
    assert not report.written and report.errors
    assert all(error.reason_zh and error.reason_en for error in report.errors)
