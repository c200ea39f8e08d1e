"""What a registry reader hands on: the opened source and its rows, and the file-wide
limits both readers (CSV, .xlsx) share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from deadline_watch.registry.limits import Budget, ImportLimits
from deadline_watch.registry.problems import FileProblem

CHUNK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls / .et format

Opener = Callable[[], BinaryIO]
Row = tuple[int, list[object]]


@dataclass
class RegistrySource:
    """An opened registry: its kind, the encoding used (CSV), and its rows."""

    kind: str  # "csv" | "xlsx"
    rows: Iterator[Row]
    encoding: str | None = None
    sheet: str | None = None
    total: int | None = None  # bytes (CSV) or rows (XLSX), for a progress bar
    position: Callable[[], int] = field(default=lambda: 0)
    release: Callable[[], None] = field(default=lambda: None)
    lines: int | None = None  # spreadsheet lines in the file, when known: "rows not checked"

    def close(self) -> None:
        """Stop reading and release the file, whether or not every row was read."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
        self.release()


def too_many_rows(limits: ImportLimits) -> None:
    raise FileProblem(
        f"文件超过 {limits.max_rows} 行,请拆分后导入",
        f"the file has more than {limits.max_rows} rows; split it",
        line=limits.max_rows + 1,
    )


def count_line(line: int, limits: ImportLimits, budget: Budget) -> None:
    """Every reader calls this for each spreadsheet line it yields: the row cap and, every
    thousand lines, the time budget."""
    if line > limits.max_rows:
        too_many_rows(limits)
    if line % 1000 == 0:
        budget.check(line)
