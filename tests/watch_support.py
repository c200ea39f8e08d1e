"""Helpers for the watch tests: a recording SMS backend, fast settings, local instants."""

from __future__ import annotations

import threading
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from deadline_watch.core.config import Settings
from deadline_watch.sms.base import OutgoingSms, SendResult

TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """An instant on `day` in Asia/Shanghai."""
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


class RecordingBackend:
    """A fake SMS provider that keeps every message it was handed, with the instant."""

    def __init__(self, clock=None) -> None:
        self.sent: list[OutgoingSms] = []
        self.sent_at: list[datetime | None] = []
        self._clock = clock
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendResult:
        with self._lock:
            self.sent.append(message)
            self.sent_at.append(self._clock.now() if self._clock else None)
            return SendResult(provider_message_id=f"SMfake{len(self.sent):06d}", segments=1)

    def bodies(self) -> list[str]:
        return [message.body for message in self.sent]

    def keys(self) -> list[str]:
        return [message.dedup_key for message in self.sent]


def fast_settings(**updates) -> Settings:
    """Defaults with an SMS rate that never makes a test sleep."""
    base = Settings()
    settings = base.model_copy(update={"sms": base.sms.model_copy(update={"rate_per_second": 10000.0})})
    sections = {}
    for dotted, value in updates.items():
        section, key = dotted.split("__")
        current = sections.get(section) or getattr(settings, section)
        sections[section] = current.model_copy(update={key: value})
    return settings.model_copy(update=sections) if sections else settings


def with_levels(settings: Settings, levels: list[dict]) -> Settings:
    validated = Settings.model_validate({"escalation": {"levels": levels}}).escalation
    return settings.model_copy(update={"escalation": validated})
