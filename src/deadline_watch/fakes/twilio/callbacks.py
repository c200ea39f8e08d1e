"""Webhooks the fake Twilio posts: signed form POSTs, and a timer that posts status callbacks later."""

from __future__ import annotations

import heapq
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator


def signature_for(auth_token: str, url: str, params: dict[str, str]) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


def post_signed(
    auth_token: str, url: str, params: dict[str, str], *, signature: str | None = None, sign: bool = True
) -> int:
    """POST `params` as Twilio's webhooks do; the HTTP status answered (0 when nobody listens)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1"}
    if sign:
        headers["X-Twilio-Signature"] = signature or signature_for(auth_token, url, params)
    request = urllib.request.Request(url, data=urlencode(params).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0  # nobody listening: Twilio would log a failed callback


class CallbackTimer:
    """Calls `post(sid)` `delay` seconds after `schedule(sid, delay)`, on a few pool threads.

    A few posters keep up under load; one task posts one message's statuses in order.
    """

    def __init__(self, post: Callable[[str], None]) -> None:
        self._post = post
        self._due: list[tuple[float, int, str]] = []
        self._wakeup = threading.Condition()
        self._seq = 0
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self.stopping = False

    def start(self) -> None:
        self.stopping = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-twilio-callback")
        self._thread = threading.Thread(target=self._run, name="fake-twilio-callbacks", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        """Stop picking due callbacks (the pool is shut down by `stop`)."""
        self.stopping = True
        with self._wakeup:
            self._wakeup.notify_all()

    def stop(self) -> None:
        self.signal_stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def schedule(self, sid: str, delay: float) -> None:
        due = time.monotonic() + delay
        with self._wakeup:
            self._seq += 1
            heapq.heappush(self._due, (due, self._seq, sid))
            self._wakeup.notify()

    def _run(self) -> None:
        while not self.stopping:
            with self._wakeup:
                while not self.stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._wakeup.wait(wait)
                if self.stopping:
                    return
                _due, _seq, sid = heapq.heappop(self._due)
            pool = self._pool
            if pool is None:
                return
            try:
                pool.submit(self._post, sid)
            except RuntimeError:  # stopped meanwhile
                return
