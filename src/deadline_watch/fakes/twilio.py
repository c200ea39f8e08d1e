"""A local Twilio-compatible HTTP server for development, tests and benchmarks.

It speaks the subset of the REST API this product uses (send, list with To/DateSent
filters, fetch), checks HTTP basic auth, answers with Twilio-shaped JSON and error
bodies, records every accepted message (in memory and optionally as JSON lines, so a
killed client's sends can be counted from another process), injects failures on demand
and can post signed status callbacks. The real `twilio` client is pointed at it through
`DEADLINE_WATCH_TWILIO_BASE_URL`.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import random
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from twilio.request_validator import RequestValidator

from deadline_watch.core.clock import Clock, SystemClock
from deadline_watch.sms.segments import count_segments

DEFAULT_ACCOUNT_SID = "AC" + "f" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
DEFAULT_FROM_NUMBER = "+15005550006"  # Twilio's magic "valid sender" test number
API_VERSION = "2010-04-01"

_MESSAGES_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/.]+))?\.json$"
)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Twilio error codes the fake can produce: (HTTP status, message)
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21602: (400, "Message body is required."),
    21603: (400, "The 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
}
_DEFAULT_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


def error_status(code: int) -> int:
    """The HTTP status Twilio answers with for an error code (400 for unknown 2xxxx codes)."""
    return ERRORS.get(code, (400, ""))[0]


@dataclass(frozen=True)
class Scripted:
    """One scripted answer to the next request.

    `status` 2xx accepts the message; otherwise the reply is an error with `code` (a
    default per status when None). `delay` seconds pass before answering (after the
    message is recorded, so a client timeout leaves it ambiguous, as with Twilio).
    `drop` closes the connection without any answer. `accept` overrides whether the
    message is recorded (e.g. accepted but the reply is a 500 or is dropped).
    """

    status: int = 201
    code: int | None = None
    delay: float = 0.0
    drop: bool = False
    accept: bool | None = None

    @property
    def accepts(self) -> bool:
        return self.accept if self.accept is not None else (self.status < 400)

    @property
    def error_code(self) -> int | None:
        if self.status < 400:
            return None
        return self.code if self.code is not None else _DEFAULT_CODE_FOR_STATUS.get(self.status, self.status)


OK = Scripted()


def _as_step(step: Scripted | int) -> Scripted:
    if isinstance(step, Scripted):
        return step
    if isinstance(step, int) and step >= 10000:  # a Twilio error code
        return Scripted(status=error_status(step), code=step)
    return Scripted(status=int(step))


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


def _rfc2822(instant: datetime | None) -> str | None:
    return format_datetime(instant.astimezone(timezone.utc)) if instant else None


def _parse_filter(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value: (instant, is_date_only)."""
    text = value.strip()
    if len(text) == 10:
        day = datetime.strptime(text, "%Y-%m-%d")
        return day.replace(tzinfo=timezone.utc), True
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)), False


class FakeTwilio:
    """The server and its knobs. Use as a context manager or call `start()` / `stop()`."""

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
        self.host = host
        self.requested_port = port
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = DEFAULT_FROM_NUMBER
        self.fail_rate = fail_rate
        self.latency_ms = latency_ms
        self.error_code = error_code
        self.record_path = Path(record_path) if record_path else None
        # statuses posted to each message's StatusCallback, e.g. ("sent", "delivered")
        self.callback_statuses: tuple[str, ...] = tuple(callback_statuses)
        self.callback_delay = callback_delay
        # True: accepted messages stay "queued" (as behind a throttled sender) until `release_queue()`
        self.hold_in_queue = False
        self.clock: Clock = clock or SystemClock(ZoneInfo("UTC"))
        self.number_errors: dict[str, int] = {}  # To -> Twilio error code on send
        self.requests_seen = 0
        self.callback_results: list[tuple[str, str, int]] = []  # (sid, status, HTTP status)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._messages: list[FakeMessage] = []
        self._by_sid: dict[str, FakeMessage] = {}
        self._send_script: deque[Scripted] = deque()
        self._list_script: deque[Scripted] = deque()
        self._record_file: Any = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._callbacks: list[tuple[float, int, str]] = []
        # a few posters so callbacks keep up under load; one task posts one message's statuses in order
        self._callback_pool: ThreadPoolExecutor | None = None
        self._callback_wakeup = threading.Condition()
        self._callback_thread: threading.Thread | None = None
        self._callback_seq = 0
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._stopping = False
        if self.record_path:
            self.record_path.parent.mkdir(parents=True, exist_ok=True)
            self._record_file = self.record_path.open("a", encoding="utf-8")
        self._server = _Server((self.host, self.requested_port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        self._callback_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-twilio-callback")
        self._callback_thread = threading.Thread(target=self._run_callbacks, name="fake-twilio-callbacks", daemon=True)
        self._callback_thread.start()
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI); `start()` must have been called."""
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopping = True
        with self._callback_wakeup:
            self._callback_wakeup.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._callback_pool is not None:
            self._callback_pool.shutdown(wait=False, cancel_futures=True)
            self._callback_pool = None
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
            queue.extend(_as_step(step) for step in steps)

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
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def post_signed(
        self, url: str, params: dict[str, str], *, signature: str | None = None, sign: bool = True
    ) -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1"}
        if sign:
            headers["X-Twilio-Signature"] = signature or self.signature_for(url, params)
        request = urllib.request.Request(url, data=urlencode(params).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return 0  # nobody listening: Twilio would log a failed callback

    def _schedule_callbacks(self, message: FakeMessage) -> None:
        if not (self.callback_statuses and message.status_callback):
            return
        due = time.monotonic() + self.callback_delay
        with self._callback_wakeup:
            self._callback_seq += 1
            heapq.heappush(self._callbacks, (due, self._callback_seq, message.sid))
            self._callback_wakeup.notify()

    def _run_callbacks(self) -> None:
        while not self._stopping:
            with self._callback_wakeup:
                while not self._stopping and (not self._callbacks or self._callbacks[0][0] > time.monotonic()):
                    wait = self._callbacks[0][0] - time.monotonic() if self._callbacks else None
                    self._callback_wakeup.wait(wait)
                if self._stopping:
                    return
                _due, _seq, sid = heapq.heappop(self._callbacks)
            pool = self._callback_pool
            if pool is None:
                return
            try:
                pool.submit(self._post_statuses, sid, self.callback_statuses)
            except RuntimeError:  # stopped meanwhile
                return

    def _post_statuses(self, sid: str, statuses: tuple[str, ...]) -> None:
        for status in statuses:
            if self._stopping:
                return
            self.post_status(sid, status)

    # -- request handling (called from the handler threads) -----------------------------

    def _next_step(self, on: str) -> Scripted:
        queue = self._send_script if on == "send" else self._list_script
        with self._lock:
            self.requests_seen += 1
            if queue:
                return queue.popleft()
            if on != "send":
                return OK
            if self.error_code is not None:
                return _as_step(self.error_code)
            if self.fail_rate and self._random.random() < self.fail_rate:
                return Scripted(status=self._random.choice((500, 503)))
        return OK

    def _accept(self, form: dict[str, str]) -> FakeMessage:
        message = FakeMessage(
            sid=new_sid(),
            to=form["To"],
            from_=form.get("From") or None,
            messaging_service_sid=form.get("MessagingServiceSid") or None,
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback") or None,
            received_at=self.clock.now().astimezone(timezone.utc),
            handed_over=not self.hold_in_queue,
            num_segments=max(1, count_segments(form.get("Body", ""))),
        )
        with self._lock:
            self._messages.append(message)
            self._by_sid[message.sid] = message
            if self._record_file is not None:
                self._record_file.write(json.dumps(message.as_record(), ensure_ascii=False) + "\n")
                self._record_file.flush()
        self._schedule_callbacks(message)
        return message

    def resource(self, message: FakeMessage, *, just_created: bool = False) -> dict[str, Any]:
        """The Message resource as Twilio's JSON shows it."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}.json"
        # once accepted the fake hands the message to the "carrier" at once: sent at receipt
        status = "accepted" if just_created and message.messaging_service_sid else message.status
        if not just_created and status == "queued" and message.handed_over:
            status = "sent"
        sent_at = message.received_at if message.handed_over and not just_created else None
        return {
            "account_sid": self.account_sid,
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
            "num_segments": str(message.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": message.to,
            "uri": uri,
        }

    def list_page(self, query: dict[str, str]) -> dict[str, Any]:
        """GET Messages.json: filters To, From, DateSent, DateSent<, DateSent>; newest first."""
        selected = self.messages
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
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
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
            "messages": [self.resource(m) for m in chunk],
            "start": start,
            "uri": page_uri(page),
        }


def _date_matches(sent: datetime, key: str, value: str) -> bool:
    bound, date_only = _parse_filter(value)
    if date_only:
        day, target = sent.astimezone(timezone.utc).date(), bound.date()
        return {"DateSent": day == target, "DateSent<": day <= target, "DateSent>": day >= target}[key]
    return {"DateSent": sent == bound, "DateSent<": sent <= bound, "DateSent>": sent >= bound}[key]


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    fake: FakeTwilio

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out and hung up is an expected event here, not a crash
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client's connection pool reuses sockets
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: the fake is used under load

    @property
    def fake(self) -> FakeTwilio:
        return self.server.fake

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        route = self._route()
        if route is None:
            return
        if route[1] is not None:
            self._error(20404, 405)
            return
        form = {key: values[-1] for key, values in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        step = self.fake._next_step("send")
        message = None
        if step.status < 400 and not step.drop:
            problem = self._validate(form)
            if problem is not None:
                self._pause(step)
                # like Twilio, the 21211 message quotes the number
                quoted = f"The 'To' number {form.get('To')} is not a valid phone number." if problem == 21211 else None
                self._error(problem, message=quoted)
                return
        if step.accepts and "To" in form:
            message = self.fake._accept(form)
        self._pause(step)
        if self._scripted_failure(step):
            return
        assert message is not None
        self._json(201, self.fake.resource(message, just_created=True))

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        route = self._route()
        if route is None:
            return
        _account, sid = route
        if sid is not None:
            found = self.fake.message(sid)
            if found is None:
                self._error(20404)
            else:
                self._json(200, self.fake.resource(found))
            return
        step = self.fake._next_step("list")
        self._pause(step)
        if self._scripted_failure(step):
            return
        query = {key: values[-1] for key, values in parse_qs(urlsplit(self.path).query).items()}
        try:
            page = self.fake.list_page(query)
        except ValueError:
            self._error(20001, 400, "Invalid filter value")
            return
        self._json(200, page)

    def _scripted_failure(self, step: Scripted) -> bool:
        """Answer a scripted dropped connection or error; False when the step succeeds."""
        if step.drop:
            self.close_connection = True
            return True
        if step.error_code is not None:
            self._error(step.error_code, step.status)
            return True
        return False

    def _pause(self, step: Scripted) -> None:
        delay = step.delay + self.fake.latency_ms / 1000.0
        if delay > 0:
            time.sleep(delay)

    def _route(self) -> tuple[str, str | None] | None:
        match = _MESSAGES_PATH.match(urlsplit(self.path).path)
        if match is None:
            self._error(20404)
            return None
        if not self._authorized():
            self._error(20003)
            return None
        if match["account"] != self.fake.account_sid:
            self._error(20404)
            return None
        return match["account"], match["sid"]

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.fake.account_sid) and secrets.compare_digest(
            password, self.fake.auth_token
        )

    def _validate(self, form: dict[str, str]) -> int | None:
        to = form.get("To", "")
        if not to:
            return 21604
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 21603
        if not form.get("Body"):
            return 21602
        if to in self.fake.number_errors:
            return self.fake.number_errors[to]
        if not _E164.match(to):
            return 21211
        return None

    def _error(self, code: int, status: int | None = None, message: str | None = None) -> None:
        status = status or error_status(code)
        text = message or ERRORS.get(code, (status, "Error"))[1]
        self._json(
            status,
            {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        )

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(body)
