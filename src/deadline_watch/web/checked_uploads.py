"""Registry files that passed a dry run at /admin/import, kept in memory for a short time so
the admin can 正式导入 without picking the file again.

Each entry is bound to the user who checked it and to a random token; it lives at most
`TTL`, is taken (removed) when imported, and the store holds few entries (one per user,
`MAX_ENTRIES` in all), so memory stays bounded by a few uploads.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

TTL = timedelta(minutes=15)
MAX_ENTRIES = 8


@dataclass(frozen=True)
class CheckedFile:
    user_id: int
    filename: str
    content: bytes
    checked_at: datetime


class CheckedUploads:
    def __init__(self) -> None:
        self._entries: dict[str, CheckedFile] = {}
        self._lock = threading.Lock()

    def _expire(self, now: datetime) -> None:
        for token in [t for t, entry in self._entries.items() if now - entry.checked_at > TTL]:
            del self._entries[token]

    def put(self, user_id: int, filename: str, content: bytes, *, now: datetime) -> str:
        """Keep a checked file for `user_id`; replaces that user's previous one."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire(now)
            for old in [t for t, entry in self._entries.items() if entry.user_id == user_id]:
                del self._entries[old]
            while len(self._entries) >= MAX_ENTRIES:
                oldest = min(self._entries, key=lambda t: self._entries[t].checked_at)
                del self._entries[oldest]
            self._entries[token] = CheckedFile(user_id, filename, content, now)
        return token

    def take(self, user_id: int, token: str, *, now: datetime) -> CheckedFile | None:
        """The file behind `token` if this user checked it within TTL (then it is gone)."""
        with self._lock:
            self._expire(now)
            entry = self._entries.get(token)
            if entry is None or entry.user_id != user_id:
                return None
            del self._entries[token]
            return entry
