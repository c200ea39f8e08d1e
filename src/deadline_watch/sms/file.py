"""The file backend: appends one JSON object per message to a file, fsynced line by line.

Used for acceptance tests and dry runs: the file is a durable record of what would have
been sent, so it also answers `find_sent` after a crash.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime
from pathlib import Path

from deadline_watch.core.clock import utc
from deadline_watch.core.errors import SmsError
from deadline_watch.sms.base import OutgoingSms, SendResult


class FileBackend:
    """One line per message: to, body, kind, project_code, milestone, due_date, sent_at, id ..."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendResult:
        message_id = f"file-{uuid.uuid4().hex}"
        line = {
            "id": message_id,
            "to": message.to,
            "body": message.body,
            "kind": message.kind,
            "project_code": message.project_code,
            "milestone": message.milestone,
            "due_date": message.due_date.isoformat(),
            "sent_at": message.sent_at.isoformat() if message.sent_at else None,
            "dedup_key": message.dedup_key,
            "notification_id": message.notification_id,
        }
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # O_APPEND + one write per line: lines from several processes never interleave.
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            # a full disk or a missing directory is the operator's to fix; keep the message queued
            raise SmsError(f"cannot append to {self.path}: {exc.strerror}", permanent=False) from None
        return SendResult(provider_message_id=message_id)

    def read(self) -> list[dict]:
        """Every recorded message, oldest first (a torn last line after a crash is skipped)."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        lines = []
        for text in raw.splitlines():
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                continue
        return lines

    def find_sent(
        self, to: str, body: str, since: datetime, *, notification_id: int | None = None, until: datetime | None = None
    ) -> SendResult | None:
        since_utc = utc(since)
        for line in reversed(self.read()):
            if line.get("to") != to or line.get("body") != body:
                continue
            sent_at = line.get("sent_at")
            if sent_at and utc(datetime.fromisoformat(sent_at)) < since_utc:
                continue
            return SendResult(provider_message_id=line["id"])
        return None
