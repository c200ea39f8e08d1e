"""Blank rows: the quick test that lets most rows skip the cell-by-cell check."""

from __future__ import annotations

import sys

from deadline_watch.registry.cells import clean_text


def test_a_row_whose_first_cell_starts_with_a_letter_or_digit_is_never_blank():
    """`read_registry` skips the blank-row check when the first cell starts with a
    character `str.isalnum` accepts: trimming must never remove such a character."""
    starts = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isalnum()]
    assert len(starts) > 100_000
    assert [char for char in starts if not clean_text(char + " x").startswith(char)] == []
