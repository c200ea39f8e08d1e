"""The Twilio backend: sends through the official `twilio` client and classifies its errors.

Only transport lives here. Whether an error is retried, and when, is decided in dispatch
from `SmsError.permanent`; `find_sent` answers "did Twilio already accept this?" after a
crash or an ambiguous failure, because the Messages API has no idempotency key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response
from twilio.rest import Client

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError, SmsError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.sms.base import OutgoingSms, SendResult
from deadline_watch.sms.error_codes import ErrorClass
from deadline_watch.sms.error_codes import classify as classify_error
from deadline_watch.sms.twilio_http import (
    BAD_REPLY,
    CONNECT_TIMEOUT,
    CONNECTION_ERROR,
    READ_TIMEOUT,
    BaseUrlHttpClient,
    short_error,
)

__all__ = ["BAD_REPLY", "CONNECTION_ERROR", "CONNECT_TIMEOUT", "READ_TIMEOUT", "BaseUrlHttpClient", "TwilioBackend"]

# Twilio error codes this product treats specially (https://www.twilio.com/docs/api/errors).
AUTH_ERROR_CODE = "20003"  # authentication failed: stop the delivery pass, do not burn the queue
TOO_MANY_REQUESTS_CODE = "20429"


DEFAULT_TIMEOUT_SECONDS = 10.0
# Twilio's clock and ours differ a little; reconciliation looks back this much further.
RECONCILE_SLACK = timedelta(minutes=5)


def classify(http_status: int | None, code: int | str | None) -> bool:
    """True when the failure is permanent (never retry), False when a retry may succeed.

    The code tables live in `sms.error_codes`; here an answer without a known
    code is permanent for a 4xx other than 429, transient for 429, 5xx or no answer at all.
    """
    client_error = http_status is not None and 400 <= http_status < 500 and http_status != 429
    probe = SmsError("", permanent=client_error, code=None if code is None else str(code), http_status=http_status)
    return classify_error(probe) is not ErrorClass.TRANSIENT


def is_auth_error(error: SmsError) -> bool:
    return error.code == AUTH_ERROR_CODE


def require_twilio_settings(settings: Settings) -> None:
    """Refuse to start with one clear line when Twilio credentials or a sender are missing."""
    twilio = settings.twilio
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", twilio.account_sid),
            ("TWILIO_AUTH_TOKEN", twilio.auth_token),
        )
        if not value
    ]
    if not (twilio.from_number or twilio.messaging_service_sid):
        missing.append("TWILIO_FROM_NUMBER 或/or TWILIO_MESSAGING_SERVICE_SID")
    if missing:
        names = ", ".join(missing)
        raise ConfigError(
            f"sms.backend = twilio 需要环境变量: {names}",
            f"sms.backend = twilio needs these environment variables: {names}",
        )


class TwilioBackend:
    """`SmsBackend` over the real twilio client; also answers `find_sent` for reconciliation."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str | None = None,
        status_callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        pool_size: int = 32,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ConfigError(
                "Twilio 需要 TWILIO_FROM_NUMBER 或 TWILIO_MESSAGING_SERVICE_SID",
                "Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID",
            )
        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self.http_client = BaseUrlHttpClient(base_url, timeout=timeout, pool_size=pool_size)
        self.client = Client(account_sid, auth_token, http_client=self.http_client)

    def send(self, message: OutgoingSms) -> SendResult:
        """Hand one message to Twilio; raise `SmsError` classified permanent or transient."""
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number or ""}
        )
        if self.status_callback_url:
            sender["status_callback"] = self.status_callback_url
        with classified_errors():
            created = self.client.messages.create(to=message.to, body=message.body, **sender)
        return _result(created)

    def fetch_status(self, provider_message_id: str) -> dict[str, str]:
        """Twilio's current status of one message, shaped like a status callback's parameters.

        For rows whose delivery receipt never came (a callback lost, or none requested):
        feed the result to `callbacks.apply_status_callback`. Raises `SmsError`.
        """
        with classified_errors():
            fetched = self.client.messages(provider_message_id).fetch()
        params = {"MessageSid": fetched.sid or provider_message_id, "MessageStatus": str(fetched.status or "")}
        if fetched.error_code:
            params["ErrorCode"] = str(fetched.error_code)
        return params

    def find_sent(
        self, to: str, body: str, since: datetime, *, notification_id: int | None = None, until: datetime | None = None
    ) -> SendResult | None:
        """Twilio's record of `body` sent to `to` at or after `since` (earliest match), or None.

        Raises `SmsError` when Twilio cannot be asked; the caller must then neither mark the
        message sent nor send it again until a later pass can ask.
        """
        if since.tzinfo is None:
            raise ValueError("find_sent needs an aware `since`")
        # the library formats the datetime without converting it: give it UTC
        after = (since - RECONCILE_SLACK).astimezone(UTC)
        with classified_errors():
            listed = self.client.messages.list(to=to, date_sent_after=after, page_size=100, limit=1000)
            found = self._matches(listed, body, after)
            if not found:
                # A message still waiting in Twilio's queue (a throttled sender) has no
                # date_sent yet, so the DateSent filter cannot see it: look at the newest ones.
                found = self._matches(self.client.messages.list(to=to, page_size=50, limit=50), body, after)
        if not found:
            return None
        return _result(min(found, key=lambda item: item.date_created or after))

    @staticmethod
    def _matches(listed: list[Any], body: str, after: datetime) -> list[Any]:
        # DateSent precision is documented as whole days: check the instant here as well
        # a message Twilio reports failed, undelivered or canceled never reached anyone: a
        # retry after such a callback must be sent again, not taken for "already sent"
        return [
            item
            for item in listed
            if _same_body(item.body, body)
            and (item.date_created is None or item.date_created >= after)
            and str(getattr(item, "status", "") or "") not in DEAD_STATUSES
        ]


DEAD_STATUSES = frozenset({"failed", "undelivered", "canceled"})


def _same_body(sent: str | None, body: str) -> bool:
    # trial accounts prefix every body with "Sent from your Twilio trial account - "
    return sent is not None and (sent == body or sent.endswith(" - " + body))


def _result(instance: Any) -> SendResult:
    price = instance.price
    return SendResult(
        provider_message_id=instance.sid,
        # through a Messaging Service num_segments is "0" at creation (no sender chosen yet):
        # unknown, not zero; the status callback or a later fetch brings the real count
        segments=_int_or_none(instance.num_segments) or None,
        # Twilio reports charges as negative strings ("-0.00750"); record the cost
        price=abs(float(price)) if price not in (None, "") else None,
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


@contextmanager
def classified_errors() -> Iterator[None]:
    """Re-raise whatever the twilio client or its HTTP layer raised as a classified SmsError.

    Recent twilio releases raise `TwilioException`s that are not `TwilioRestException`s
    (a failed list page, RFC 9457 service errors); network failures are already
    classified `SmsError`s from the transport (`twilio_http`); a 2xx reply that is not
    JSON surfaces as a ValueError.
    """
    try:
        yield
    except (TwilioException, ValueError) as exc:
        raise to_sms_error(exc) from exc


def to_sms_error(exc: BaseException) -> SmsError:
    """Turn anything the twilio client or its HTTP layer raised into a classified SmsError."""
    http_status: int | None = None
    code: int | None = None
    detail = ""
    if isinstance(exc, TwilioRestException):
        http_status = exc.status
        code = _int_or_none(exc.code)
        # without a JSON body the library repeats the HTTP status as the code
        if code == http_status:
            code = None
        detail = str(exc.msg)
    elif isinstance(exc, TwilioServiceException):
        http_status, code = exc.status, _int_or_none(exc.code)
        detail = exc.detail or exc.title
    elif isinstance(exc, TwilioException):
        # e.g. TwilioException("Unable to fetch page", response) from list()
        response = next((arg for arg in exc.args if isinstance(arg, Response)), None)
        if response is not None:
            http_status = response.status_code
            code, detail = _error_body(response.text)
        detail = detail or str(exc.args[0] if exc.args else exc)
    else:  # ValueError: a 2xx answer whose body is not the expected JSON
        return SmsError(f"twilio: unreadable reply: {short_error(exc)}", permanent=False, code=BAD_REPLY)
    if http_status == 401 and code is None:
        code = int(AUTH_ERROR_CODE)
    permanent = classify(http_status, code)
    shown_code = f" code {code}" if code is not None else ""
    message = mask_mobile(f"twilio: HTTP {http_status}{shown_code}: {detail}".strip())
    return SmsError(
        message,
        permanent=permanent,
        code=str(code) if code is not None else None,
        http_status=http_status,
    )


def _error_body(text: str) -> tuple[int | None, str]:
    try:
        payload = json.loads(text)
    except ValueError:
        return None, ""
    if not isinstance(payload, dict):
        return None, ""
    return _int_or_none(payload.get("code")), str(payload.get("message") or payload.get("detail") or "")


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio posts delivery receipts, when the board has a public URL."""
    if not settings.web.public_url:
        return None
    return settings.web.public_url.rstrip("/") + "/twilio/status"


def twilio_backend_from_settings(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> TwilioBackend:
    """The backend for `sms.backend = "twilio"`; ConfigError naming what is missing."""
    require_twilio_settings(settings)
    section = settings.twilio
    if section.base_url and urlsplit(section.base_url).scheme not in ("http", "https"):
        raise ConfigError(
            f"DEADLINE_WATCH_TWILIO_BASE_URL 必须以 http:// 或 https:// 开头: {section.base_url}",
            f"DEADLINE_WATCH_TWILIO_BASE_URL must start with http:// or https://: {section.base_url}",
        )
    return TwilioBackend(
        account_sid=section.account_sid or "",
        auth_token=section.auth_token or "",
        from_number=section.from_number,
        messaging_service_sid=section.messaging_service_sid,
        base_url=section.base_url,
        status_callback_url=status_callback_url(settings),
        timeout=timeout,
        pool_size=max(10, settings.sms.concurrency * 2),
    )
