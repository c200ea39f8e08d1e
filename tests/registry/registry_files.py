"""Building registry files for tests: rows in either header set, encoding and delimiter."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from deadline_watch.registry.columns import COLUMNS

ZH = [column.zh for column in COLUMNS]
EN = [column.key for column in COLUMNS]
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "deadline_watch" / "data" / "registry_sample.csv"
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def row(**values: object) -> dict:
    """One milestone row with sensible defaults; keys are the English column keys."""
    base = {
        "project_code": "GX-1",
        "project_name": "天府软件园三期",
        "unit": "新经济发展局",
        "lead_leader": "郭刚",
        "lead_leader_mobile": "18900009807",
        "owner": "杜萍明",
        "owner_mobile": "19800006866",
        "milestone": "谋划立项",
        "due_date": "2026-10-21",
        "completed_on": "",
        "co_units": "",
        "level": "市级",
        "note": "",
        "schedule": "",
        "deadline_phrase": "",
    }
    base.update(values)
    return base


def project_rows(code: str = "GX-1", **values: object) -> list[dict]:
    """The four canonical milestones of one project."""
    dates = ["2026-10-21", "2026-12-27", "2027-03-04", "2027-05-06"]
    stages = ["谋划立项", "组织实施", "阶段成果", "验收结项"]
    return [row(project_code=code, milestone=stage, due_date=due, **values) for stage, due in zip(stages, dates, strict=True)]


def csv_bytes(rows: list[dict], *, headers: list[str] = ZH, encoding: str = "utf-8-sig",
              delimiter: str = ",", preamble: list[list[str]] | None = None) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for line in preamble or []:
        writer.writerow(line)
    writer.writerow(headers)
    for values in rows:
        writer.writerow([values.get(key, "") for key in EN])
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, rows: list[dict], **kwargs) -> Path:
    path.write_bytes(csv_bytes(rows, **kwargs))
    return path



class UntouchableSessions:
    """A session factory that fails if called: validation errors must not reach the database."""

    def __call__(self, *args, **kwargs):
        raise AssertionError("the database was touched")
