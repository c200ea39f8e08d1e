"""The SMS backend protocol. Backends only hand a message over; retry policy lives in dispatch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
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
    sent_at: datetime | None = None  # the dispatch instant; the file backend records it
    # the message kind (e.g. "reminder", "escalation_owner") and its variables, for
    # providers that send approved templates (Aliyun) instead of free text
    template: str | None = None
    template_params: Mapping[str, str] | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    segments: int | None = None
    price: float | None = None


class SmsBackend(Protocol):
    def send(self, message: OutgoingSms) -> SendResult:
        """Hand one message to the provider; raise `SmsError(permanent=...)` on failure."""


class SupportsFindSent(Protocol):
    """Optional extra of a backend: did the provider already accept this message?

    Used after a crash or an ambiguous error (the provider has no idempotency key) to
    decide between "mark sent" and "send again". Returns None when nothing matches.
    """

    def find_sent(
        self, to: str, body: str, since: datetime, *, notification_id: int | None = None, until: datetime | None = None
    ) -> SendResult | None:
        """The provider's record of `body` sent to `to` at or after `since`, if any.

        Providers that echo our reference (Aliyun's OutId) match `notification_id` instead of the body.
        """
