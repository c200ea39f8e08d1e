"""The SMS backend protocol. Backends only hand a message over; retry policy lives in dispatch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    """One message to hand to a provider, with the outbox facts a backend may record."""

    to: str  # E.164
    body: str
    dedup_key: str
    kind: str  # "reminder" | "escalation"
    project_code: str
    milestone: str
    due_date: date
    notification_id: int | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    segments: int | None = None
    price: float | None = None


class SmsBackend(Protocol):
    def send(self, message: OutgoingSms) -> SendResult:
        """Hand one message to the provider; raise `SmsError(permanent=...)` on failure."""
