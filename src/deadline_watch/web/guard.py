"""Checks every request passes before any route, login, signature or parser sees it.

- Body size: each route prefix has a limit (`body_limit_for`), and a request over its
  route's limit is answered 413 as soon as the limit is passed (or at once, from
  Content-Length), so nothing spools an unauthenticated 300 MB. Forms and JSON are read
  here whole (they are small); multipart uploads stream through to the route, counted,
  up to the limit their route registered with `register_upload_limit`.
- Control characters: a NUL or other C0/DEL character in the path, the query string, a
  form field or a JSON string is answered 400 (PostgreSQL cannot store NUL, and no field of
  the board means one); tab, CR and LF stay allowed for free text.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KB = 1024
MB = 1024 * KB
DEFAULT_BODY_LIMIT = 256 * KB  # forms and JSON
UPLOAD_LIMIT = 20 * MB  # registry files (and evidence uploads)

# prefix -> bytes; the longest matching prefix wins
_BODY_LIMITS: dict[str, int] = {
    "/login": 16 * KB,
    "/logout": 16 * KB,
    "/twilio/": 64 * KB,
}
# prefix -> bytes for multipart uploads only (other bodies there keep the limits above)
_UPLOAD_LIMITS: dict[str, int] = {}

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def register_upload_limit(prefix: str, max_bytes: int) -> None:
    """Let multipart uploads under `prefix` carry up to `max_bytes` (registry, evidence)."""
    _UPLOAD_LIMITS[prefix] = max_bytes


def body_limit_for(path: str, *, multipart: bool = False) -> int:
    best, limit = "", DEFAULT_BODY_LIMIT
    for prefix, max_bytes in [*_BODY_LIMITS.items(), *(_UPLOAD_LIMITS.items() if multipart else ())]:
        if path.startswith(prefix) and len(prefix) > len(best):
            best, limit = prefix, max_bytes
    return limit


class _TooLarge(Exception):
    pass


def has_control_characters(value: object) -> bool:
    """True when any string in `value` (nested lists and dicts too) holds a control character."""
    if isinstance(value, str):
        return CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(has_control_characters(key) or has_control_characters(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_control_characters(item) for item in value)
    return False


class RequestGuard:
    """Pure ASGI middleware: the outermost layer of the board."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        query = scope.get("query_string", b"").decode("latin-1")
        if CONTROL.search(path) or CONTROL.search(unquote_plus(query, encoding="utf-8", errors="replace")):
            await _refuse(scope, send, 400, CONTROL_MESSAGE)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        multipart = content_type.startswith("multipart/")
        limit = body_limit_for(path, multipart=multipart)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, limit)
            return
        if multipart:
            await self._stream(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(scope, send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = _body_problem(content_type, body) if body else None
        if problem:
            await _refuse(scope, send, 400, problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """An upload streams to its route, counted; past the limit the route's own answer is
        dropped and 413 sent instead."""
        size = 0
        exceeded = started = False

        async def counted() -> Message:
            nonlocal size, exceeded
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _too_large(scope, send, limit)


CONTROL_MESSAGE = "请求含有控制字符 / the request contains a control character"


def _body_problem(content_type: str, body: bytes) -> str | None:
    """Why a form or JSON body is refused, or None."""
    if content_type == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", errors="replace")
        fields = parse_qsl(text, keep_blank_values=True)
        if any(has_control_characters(key) or has_control_characters(value) for key, value in fields):
            return CONTROL_MESSAGE
        return None
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            # the framework's own error page would try to echo the bytes and fail
            return "请求内容不是 UTF-8 / the request body is not UTF-8"
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return None  # not JSON: the route's own validation answers
        return CONTROL_MESSAGE if has_control_characters(document) else None
    return None  # multipart uploads: files are bytes; their text fields are checked by the routes


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    shown = f"{limit // MB} MB" if limit >= MB else f"{limit // KB} KB"
    await _refuse(scope, send, 413, f"请求过大(此处最多 {shown})/ request body too large ({shown} at most here)")


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps({"detail": message}, ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        body = message.encode()
        content_type = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
