"""The HTTP transport under the real twilio client: urllib3 directly, one pool per origin.

The client's stock `TwilioHttpClient` goes through a `requests.Session` (preparing, merging
and hooking every request): about half of the CPU of an SMS against a fast provider. This
`HttpClient` (the library's extension point) sends the same request with urllib3, which
`requests` itself sits on, and keeps what delivery relies on:

- never a transport-level retry and no redirects (a POST must not be sent twice);
- the outcome of a failure classified by whether the request can have reached Twilio:
  a refused connection or a connect timeout did not send it, a read timeout or a
  connection lost after the request may have (dispatch asks `find_sent` before any retry);
- proxies from the environment (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY) and the
  CA bundle (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's) read as requests reads
  them, once per origin: the process's environment does not change while it sends.
"""

from __future__ import annotations

import json
import logging
import os
import re
from threading import Lock
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies, prepend_scheme_if_needed, select_proxy
from twilio.http import HttpClient
from twilio.http.response import Response
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from deadline_watch.core.errors import SmsError
from deadline_watch.core.logs import mask_mobile

# Codes given to failures that never reached an HTTP answer.
CONNECTION_ERROR = "connection"
# A read timeout is ambiguous: Twilio may have accepted the message before the reply was
# lost. Dispatch should ask `find_sent` before sending such a message again.
READ_TIMEOUT = "read_timeout"
CONNECT_TIMEOUT = "connect_timeout"
BAD_REPLY = "bad_reply"

# what requests offers (gzip, deflate, and br / zstd when their decoders are installed)
ACCEPT_ENCODING = ", ".join(re.split(r",\s*", urllib3.util.make_headers(accept_encoding=True)["accept-encoding"]))
# The library logs every request at INFO with its query (recipient numbers included);
# keep that out of any handler a web server or operator sets to INFO.
HTTP_LOGGER = logging.getLogger("deadline_watch.sms.twilio_http")
HTTP_LOGGER.setLevel(logging.WARNING)
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


class BaseUrlHttpClient(HttpClient):
    """Sends the client's `https://*.twilio.com/...` requests, optionally to another base URL.

    A base URL with a path (a proxy such as `https://proxy.example/twilio`) keeps it as a
    prefix; the client's `edge`/`region` only choose among Twilio hosts. Thread-safe: the
    delivery workers share one client, each taking a kept-alive connection from the pool.
    """

    def __init__(self, base_url: str | None, *, timeout: float, pool_size: int = 32,
                 logger: logging.Logger | None = None) -> None:
        super().__init__(logger or HTTP_LOGGER, False, timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.pool_size = pool_size
        self._origins: dict[tuple[str, str], _Origin] = {}
        self._origins_lock = Lock()
        self._authorization: dict[tuple[str, str], str] = {}
        self._timeouts: dict[float | None, urllib3.Timeout] = {}

    def rewrite(self, url: str) -> str:
        if not self.base_url:
            return url
        target = urlsplit(url)
        host = (target.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        base = urlsplit(self.base_url)
        path = base.path.rstrip("/") + target.path
        return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """One HTTP request, never retried or redirected here (the twilio client never asks
        for redirects); failures raise a classified `SmsError`."""
        if timeout is None:
            timeout = self.timeout
        elif timeout <= 0:
            raise ValueError(timeout)
        method = method.upper()
        url = self.rewrite(url)
        if self.logger.isEnabledFor(logging.INFO):  # before the query joins the URL, as the library logs it
            self.log_request({"method": method, "url": url, "params": params, "headers": headers})
        if params:
            url += ("&" if urlsplit(url).query else "?") + form_encoded(params)
        sent_headers = {"Accept-Encoding": ACCEPT_ENCODING, "Connection": "keep-alive", **(headers or {})}
        content_type = sent_headers.get("Content-Type")
        body: str | None = None
        if content_type in ("application/json", "application/scim+json"):
            body = None if data is None else json.dumps(data, allow_nan=False)
        elif data:
            body = form_encoded(data)
        if auth is not None:
            sent_headers["Authorization"] = self._basic(auth)
        self._test_only_last_response = None
        origin = self._origin(url)
        try:
            answer = origin.urlopen(
                method, url, body=body.encode("utf-8") if body is not None else None, headers=sent_headers,
                retries=False, redirect=False, timeout=self._timeout(timeout),
            )
        except HTTPError as exc:
            raise transport_error(exc) from exc
        except OSError as exc:  # a failure urllib3 let through unwrapped
            raise SmsError(f"twilio: connection failed: {short_error(exc)}", permanent=False, code=CONNECTION_ERROR) from exc
        if self.logger.isEnabledFor(logging.INFO):
            self.log_response(answer.status, answer)
        self._test_only_last_response = Response(answer.status, _text(answer), answer.headers)
        return self._test_only_last_response

    def _origin(self, url: str) -> _Origin:
        target = urlsplit(url)
        key = (target.scheme.lower(), target.netloc.lower())
        found = self._origins.get(key)
        if found is None:
            with self._origins_lock:
                found = self._origins.get(key)
                if found is None:
                    found = self._origins[key] = _Origin(url, self.pool_size)
        return found

    def _basic(self, auth: tuple[str, str]) -> str:
        found = self._authorization.get(auth)
        if found is None:
            # latin-1, as requests encodes Basic credentials
            found = urllib3.util.make_headers(basic_auth=f"{auth[0]}:{auth[1]}")["authorization"]
            self._authorization[auth] = found
        return found

    def _timeout(self, seconds: float | None) -> urllib3.Timeout:
        found = self._timeouts.get(seconds)
        if found is None:
            found = self._timeouts[seconds] = urllib3.Timeout(connect=seconds, read=seconds)
        return found


class _Origin:
    """How one scheme://host:port is reached: directly or through the environment's proxy."""

    def __init__(self, url: str, pool_size: int) -> None:
        tls = ca_bundle_options() if url.lower().startswith("https:") else {}
        proxy = select_proxy(url, get_environ_proxies(url))
        self.proxied = proxy is not None
        if proxy is None:
            self.manager: urllib3.PoolManager = urllib3.PoolManager(num_pools=2, maxsize=pool_size, **tls)
        else:
            proxy = prepend_scheme_if_needed(proxy, "http")
            if proxy.lower().startswith("socks"):
                from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as requests does

                self.manager = SOCKSProxyManager(proxy, num_pools=2, maxsize=pool_size, **tls)
            else:
                self.manager = urllib3.ProxyManager(proxy, proxy_headers=_proxy_authorization(proxy),
                                                    num_pools=2, maxsize=pool_size, **tls)
        # direct: the pool itself, skipping the manager's per-request lookup
        self.pool = None if self.proxied else self.manager.connection_from_url(url)

    def urlopen(self, method: str, url: str, **options: Any) -> urllib3.BaseHTTPResponse:
        if self.pool is None:
            return self.manager.urlopen(method, url, **options)
        target = urlsplit(url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        return self.pool.urlopen(method, path, assert_same_host=False, **options)


def ca_bundle_options() -> dict[str, str]:
    """The CA bundle requests would verify against: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else certifi's."""
    location = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    if os.path.isdir(location):
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": location}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": location}


def _proxy_authorization(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    if not parts.username:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Proxy-Authorization": urllib3.util.make_headers(basic_auth=credentials)["authorization"]}


def form_encoded(fields: dict[str, object]) -> str:
    """`fields` as requests encodes a form or query (`urlencode`, UTF-8, space as +): lists
    repeat the key, None is left out."""
    return "&".join(
        f"{_quoted(key)}={_quoted(item)}"
        for key, value in fields.items()
        for item in (value if isinstance(value, (list, tuple)) else (value,))
        if item is not None
    )


# what quote_plus leaves alone, for one byte at a time: its own loop over the bytes of a
# Chinese body was a tenth of the transport's CPU
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_QUOTED_BYTE = [chr(byte) if byte in _UNRESERVED else "+" if byte == 0x20 else f"%{byte:02X}" for byte in range(256)]


def _quoted(value: object) -> str:
    text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return "".join(map(_QUOTED_BYTE.__getitem__, text.encode("utf-8")))


def transport_error(exc: HTTPError) -> SmsError:
    """An SmsError for a request that got no HTTP answer, coded by whether Twilio may have it.

    urllib3 (with retries off) raises: NewConnectionError for a refused or unresolvable
    connection (it subclasses ConnectTimeoutError, so it is tested first), ConnectTimeoutError,
    ReadTimeoutError (the request was sent: ambiguous), and ProtocolError / ProxyError /
    SSLError for a connection lost or refused along the way. All are transient.
    """
    if isinstance(exc, NewConnectionError):
        return SmsError(f"twilio: connection failed: {short_error(exc)}", permanent=False, code=CONNECTION_ERROR)
    if isinstance(exc, ConnectTimeoutError):
        return SmsError(f"twilio: connect timeout: {short_error(exc)}", permanent=False, code=CONNECT_TIMEOUT)
    if isinstance(exc, ReadTimeoutError):
        return SmsError(f"twilio: read timeout: {short_error(exc)}", permanent=False, code=READ_TIMEOUT)
    return SmsError(f"twilio: connection failed: {short_error(exc)}", permanent=False, code=CONNECTION_ERROR)


def _text(answer: urllib3.BaseHTTPResponse) -> str:
    found = _CHARSET.search(answer.headers.get("Content-Type", ""))
    encoding = found.group(1) if found else "utf-8"
    try:
        return answer.data.decode(encoding, errors="replace")
    except LookupError:  # an unknown charset
        return answer.data.decode("utf-8", errors="replace")


def short_error(exc: BaseException) -> str:
    """The first line of an exception's text (mobiles masked), for an error message."""
    text = str(exc).strip()
    return mask_mobile(text.splitlines()[0][:200]) if text else type(exc).__name__
