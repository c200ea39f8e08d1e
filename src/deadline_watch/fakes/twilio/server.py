"""The fake Twilio server and its knobs: lifecycle, scripted failures, what it received, webhooks.

It speaks the subset of the REST API this product uses (send, list with To/DateSent
filters, fetch), checks HTTP basic auth, answers with Twilio-shaped JSON and error
bodies, records every accepted message (in memory and optionally as JSON lines, so a
killed client's sends can be counted from another process), injects failures on demand
and can post signed status callbacks. The real `twilio` client is pointed at it through
`DEADLINE_WATCH_TWILIO_BASE_URL`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from deadline_watch.core.clock import Clock, SystemClock
from deadline_watch.fakes.local_server import LocalFake
from deadline_watch.fakes.twilio.callbacks import CallbackTimer, post_signed, signature_for
from deadline_watch.fakes.twilio.handler import FakeHandler
from deadline_watch.fakes.twilio.records import FakeMessage, max_in_window, new_sid
from deadline_watch.fakes.twilio.resources import API_VERSION, list_page, message_resource
from deadline_watch.fakes.twilio.scripted import OK, Scripted, as_step
from deadline_watch.sms.segments import count_segments

DEFAULT_ACCOUNT_SID = "AC" + "f" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
DEFAULT_FROM_NUMBER = "+15005550006"  # Twilio's magic "valid sender" test number


class FakeTwilio(LocalFake):
    """The server and its knobs. Use as a context manager or call `start()` / `stop()`."""

    handler = FakeHandler
    thread_name = "fake-twilio"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        fail_rate: float = 0.0,
        latency_ms: float = 0.0,
        error_code: int | None = None,
        record_path: Path | None = None,
        callback_statuses: Iterable[str] = (),
        callback_delay: float = 1.0,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            host=host, port=port, fail_rate=fail_rate, latency_ms=latency_ms, record_path=record_path, seed=seed
        )
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = DEFAULT_FROM_NUMBER
        self.error_code = error_code
        # statuses posted to each message's StatusCallback, e.g. ("sent", "delivered")
        self.callback_statuses: tuple[str, ...] = tuple(callback_statuses)
        self.callback_delay = callback_delay
        # True: accepted messages stay "queued" (as behind a throttled sender) until `release_queue()`
        self.hold_in_queue = False
        self.clock: Clock = clock or SystemClock(ZoneInfo("UTC"))
        self.number_errors: dict[str, int] = {}  # To -> Twilio error code on send
        self.requests_seen = 0
        self.callback_results: list[tuple[str, str, int]] = []  # (sid, status, HTTP status)
        self._messages: list[FakeMessage] = []
        self._by_sid: dict[str, FakeMessage] = {}
        self._send_script: deque[Scripted] = deque()
        self._list_script: deque[Scripted] = deque()
        self._callbacks = CallbackTimer(self._post_statuses)

    # -- lifecycle: the server's (local_server.py), and the callback timer -------------

    def start(self) -> FakeTwilio:
        super().start()
        self._callbacks.start()
        return self

    def stop(self) -> None:
        self._callbacks.signal_stop()
        super().stop()
        self._callbacks.stop()

    def env(self) -> dict[str, str]:
        """The environment that points deadline-watch at this server."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": self.from_number,
            "DEADLINE_WATCH_TWILIO_BASE_URL": self.base_url,
            "DEADLINE_WATCH_SMS_BACKEND": "twilio",
        }

    def settings(self, base: Any) -> Any:
        """`base` (a Settings) with sms.backend = "twilio" and the twilio section aimed here."""
        twilio = base.twilio.model_copy(
            update={
                "account_sid": self.account_sid,
                "auth_token": self.auth_token,
                "from_number": self.from_number,
                "base_url": self.base_url,
            }
        )
        sms = base.sms.model_copy(update={"backend": "twilio"})
        return base.model_copy(update={"twilio": twilio, "sms": sms})

    # -- knobs -----------------------------------------------------------------------

    def script(self, *steps: Scripted | int, on: str = "send") -> None:
        """Queue answers for the next requests: `script(503, 503)` then normal service.

        An int below 10000 is an HTTP status (with Twilio's usual code), an int of five
        digits a Twilio error code (with its usual status). `on` is "send" or "list".
        """
        queue = self._send_script if on == "send" else self._list_script
        with self._lock:
            queue.extend(as_step(step) for step in steps)

    def fail_number(self, to: str, code: int) -> None:
        """Every send to `to` fails with Twilio error `code` (e.g. 21614, 21408)."""
        self.number_errors[to] = code

    def opt_out(self, to: str) -> None:
        """`to` replied STOP: sends to it fail with 21610 as on Twilio."""
        self.fail_number(to, 21610)

    # -- what was received -----------------------------------------------------------

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages)

    def message(self, sid: str) -> FakeMessage | None:
        with self._lock:
            return self._by_sid.get(sid)

    def release_queue(self) -> None:
        """Hand every held message to the "carrier": it gets its date_sent and status sent."""
        with self._lock:
            for message in self._messages:
                message.handed_over = True

    def count_to(self, to: str) -> int:
        return sum(1 for message in self.messages if message.to == to)

    def max_in_window(self, seconds: float = 1.0) -> int:
        """Most messages accepted within any window of `seconds` (rate-cap checks)."""
        return max_in_window([m.received_at for m in self.messages], seconds)

    # -- status callbacks and inbound messages -----------------------------------------

    def post_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        url: str | None = None,
        signature: str | None = None,
        sign: bool = True,
    ) -> int:
        """Post a status callback for message `sid` (signed unless told otherwise).

        Returns the HTTP status the receiving application answered.
        """
        message = self.message(sid)
        target = url or (message.status_callback if message else None)
        if not target:
            raise ValueError(f"no StatusCallback URL for {sid}")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.to if message else "",
            "From": (message.from_ or "") if message else self.from_number,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        if message is not None:
            with self._lock:
                message.status = status
                message.error_code = error_code
        answer = self.post_signed(target, params, signature=signature, sign=sign)
        with self._lock:
            self.callback_results.append((sid, status, answer))
        return answer

    def post_inbound(self, url: str, *, from_: str, body: str, to: str | None = None, sign: bool = True) -> int:
        """Post an incoming SMS (a reply such as STOP) the way Twilio's webhook does."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": new_sid(),
            "SmsSid": "",
            "From": from_,
            "To": to or self.from_number,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(max(1, count_segments(body))),
        }
        params["SmsSid"] = params["MessageSid"]
        return self.post_signed(url, params, sign=sign)

    def signature_for(self, url: str, params: dict[str, str]) -> str:
        return signature_for(self.auth_token, url, params)

    def post_signed(
        self, url: str, params: dict[str, str], *, signature: str | None = None, sign: bool = True
    ) -> int:
        return post_signed(self.auth_token, url, params, signature=signature, sign=sign)

    def _schedule_callbacks(self, message: FakeMessage) -> None:
        if not (self.callback_statuses and message.status_callback):
            return
        self._callbacks.schedule(message.sid, self.callback_delay)

    def _post_statuses(self, sid: str) -> None:
        for status in self.callback_statuses:
            if self._callbacks.stopping:
                return
            self.post_status(sid, status)

    # -- request handling (called from the handler threads) -----------------------------

    def next_step(self, on: str) -> Scripted:
        queue = self._send_script if on == "send" else self._list_script
        with self._lock:
            self.requests_seen += 1
            if queue:
                return queue.popleft()
            if on != "send":
                return OK
            if self.error_code is not None:
                return as_step(self.error_code)
            status = self.injected_failure((500, 503))
        return OK if status is None else Scripted(status=status)

    def accept(self, form: dict[str, str]) -> FakeMessage:
        message = FakeMessage(
            sid=new_sid(),
            to=form["To"],
            from_=form.get("From") or None,
            messaging_service_sid=form.get("MessagingServiceSid") or None,
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback") or None,
            received_at=self.clock.now().astimezone(UTC),
            handed_over=not self.hold_in_queue,
            num_segments=max(1, count_segments(form.get("Body", ""))),
        )
        with self._lock:
            self._messages.append(message)
            self._by_sid[message.sid] = message
            self.write_record(message.as_record())
        self._schedule_callbacks(message)
        return message

    def resource(self, message: FakeMessage, *, just_created: bool = False) -> dict[str, Any]:
        """The Message resource as Twilio's JSON shows it."""
        return message_resource(self.account_sid, message, just_created=just_created)

    def list_page(self, query: dict[str, str]) -> dict[str, Any]:
        """GET Messages.json: filters To, From, DateSent, DateSent<, DateSent>; newest first."""
        return list_page(self.account_sid, self.messages, query)
