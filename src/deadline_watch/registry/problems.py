"""The one exception for a registry file that cannot be read as a whole."""

from __future__ import annotations


class FileProblem(Exception):
    """The file as a whole cannot be read; `line` says where, when known."""

    def __init__(self, reason_zh: str, reason_en: str, *, line: int | None = None,
                 column: str | None = None, value: str = "") -> None:
        super().__init__(reason_en)
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        self.line = line
        self.column = column
        self.value = value
