"""Twilio-shaped JSON: the Message resource and a page of the Messages list with its filters."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from deadline_watch.fakes.twilio.records import FakeMessage

API_VERSION = "2010-04-01"


def message_resource(account_sid: str, message: FakeMessage, *, just_created: bool = False) -> dict[str, Any]:
    """The Message resource as Twilio's JSON shows it."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message.sid}.json"
    # once accepted the fake hands the message to the "carrier" at once: sent at receipt
    status = "accepted" if just_created and message.messaging_service_sid else message.status
    if not just_created and status == "queued" and message.handed_over:
        status = "sent"
    sent_at = message.received_at if message.handed_over and not just_created else None
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": _rfc2822(message.received_at),
        "date_sent": _rfc2822(sent_at),
        "date_updated": _rfc2822(message.received_at),
        "direction": "outbound-api",
        "error_code": message.error_code,
        "error_message": None,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": "0",
        # through a Messaging Service no sender is chosen at creation: Twilio says "0"
        "num_segments": "0" if just_created and message.messaging_service_sid else str(message.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": status,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": message.to,
        "uri": uri,
    }


def list_page(account_sid: str, messages: list[FakeMessage], query: dict[str, str]) -> dict[str, Any]:
    """GET Messages.json: filters To, From, DateSent, DateSent<, DateSent>; newest first."""
    selected = list(messages)
    if "To" in query:
        selected = [m for m in selected if m.to == query["To"]]
    if "From" in query:
        selected = [m for m in selected if m.from_ == query["From"]]
    for key in ("DateSent", "DateSent<", "DateSent>"):
        if key in query:
            selected = [m for m in selected if m.handed_over and _date_matches(m.received_at, key, query[key])]
    selected.sort(key=lambda m: m.received_at, reverse=True)
    page_size = max(1, min(1000, int(query.get("PageSize", "50"))))
    page = int(query.get("Page", "0"))
    start = page * page_size
    chunk = selected[start : start + page_size]
    base = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
    kept = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def page_uri(number: int) -> str:
        return base + "?" + urlencode({**kept, "PageSize": page_size, "Page": number, "PageToken": f"PA{number}"})

    has_next = start + page_size < len(selected)
    return {
        "end": start + len(chunk) - 1 if chunk else start,
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "messages": [message_resource(account_sid, m) for m in chunk],
        "start": start,
        "uri": page_uri(page),
    }


def _rfc2822(instant: datetime | None) -> str | None:
    return format_datetime(instant.astimezone(UTC)) if instant else None


def _parse_filter(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value: (instant, is_date_only)."""
    text = value.strip()
    if len(text) == 10:
        day = datetime.strptime(text, "%Y-%m-%d")
        return day.replace(tzinfo=UTC), True
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), False


def _date_matches(sent: datetime, key: str, value: str) -> bool:
    bound, date_only = _parse_filter(value)
    if date_only:
        day, target = sent.astimezone(UTC).date(), bound.date()
        return {"DateSent": day == target, "DateSent<": day <= target, "DateSent>": day >= target}[key]
    return {"DateSent": sent == bound, "DateSent<": sent <= bound, "DateSent>": sent >= bound}[key]
