"""What the fake Twilio received: one accepted message, and helpers to count recorded sends."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    received_at: datetime
    num_segments: int
    status: str = "queued"
    error_code: int | None = None
    # False while the message waits in Twilio's queue (no date_sent yet, invisible to DateSent filters)
    handed_over: bool = True

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["from"] = record.pop("from_")
        record["received_at"] = self.received_at.isoformat()
        return record


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def max_in_window(instants: Iterable[datetime], seconds: float = 1.0) -> int:
    """The most instants inside any half-open window [t, t + seconds)."""
    ordered = sorted(instants)
    width = timedelta(seconds=seconds)
    best, left = 0, 0
    for right, instant in enumerate(ordered):
        while instant - ordered[left] >= width:
            left += 1
        best = max(best, right - left + 1)
    return best


def load_recorded(path: Path) -> list[dict[str, Any]]:
    """The messages a fake recorded with `record_path` (a half-written last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
