"""The HTTP side of the fake Twilio: routing, basic auth, validation and Twilio-shaped error bodies."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from deadline_watch.fakes.local_server import FakeServer
from deadline_watch.fakes.twilio.records import FakeMessage
from deadline_watch.fakes.twilio.scripted import ERRORS, Scripted, error_status

_MESSAGES_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/.]+))?\.json$"
)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# as Twilio's OpenAPI description has them (MessagingServiceSid pattern, StatusCallback a URL)
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def _valid_callback_url(url: str) -> bool:
    """Twilio's rule for StatusCallback (error 21609): an absolute http(s) URL with a host
    (no underscores), at most 4000 characters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and bool(host) and "_" not in host and len(url) <= 4000


class ServedFake(Protocol):
    """What the handler asks of the fake (`FakeTwilio` in server.py)."""

    account_sid: str
    auth_token: str
    latency_ms: float
    number_errors: dict[str, int]

    def next_step(self, on: str) -> Scripted: ...

    def accept(self, form: dict[str, str]) -> FakeMessage: ...

    def message(self, sid: str) -> FakeMessage | None: ...

    def resource(self, message: FakeMessage, *, just_created: bool = False) -> dict[str, Any]: ...

    def list_page(self, query: dict[str, str]) -> dict[str, Any]: ...


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client's connection pool reuses sockets
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped after this
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: the fake is used under load

    @property
    def fake(self) -> ServedFake:
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
        step = self.fake.next_step("send")
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
            message = self.fake.accept(form)
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
        step = self.fake.next_step("list")
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
        service = form.get("MessagingServiceSid")
        if service is not None and service != "" and not _SERVICE_SID.match(service):
            return 21705
        callback = form.get("StatusCallback")
        if callback is not None and callback != "" and not _valid_callback_url(callback):
            return 21609
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
