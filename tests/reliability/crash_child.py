"""The real `deadline-watch` CLI with crash points, for the kill -9 suite (run as a script).

`DEADLINE_WATCH_CRASH_AT=before_claim_commit | after_claim_commit | after_send[:N]` makes
this process SIGKILL itself at that point, the N-th time it gets there:
- before_claim_commit: the claim UPDATE ran, its transaction is still open;
- after_claim_commit: the claim committed, no SMS handed over yet;
- after_send: the provider accepted a message, its outcome is not recorded yet.

The points are installed here by wrapping `dispatch.claim_rows`, `dispatch.claim_due` and
the SMS backend from outside, so the runtime code carries no crash hook.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from typing import Any

CRASH_ENV = "DEADLINE_WATCH_CRASH_AT"


class CrashPoint:
    """Counts arrivals at one named point and SIGKILLs the process on the `nth`."""

    def __init__(self, spec: str) -> None:
        name, _, nth = spec.partition(":")
        self.name, self.nth = name, int(nth or 1)
        self._hits = 0
        self._lock = threading.Lock()

    def reached(self) -> None:
        with self._lock:
            self._hits += 1
            if self._hits >= self.nth:
                os.kill(os.getpid(), signal.SIGKILL)


class CrashAfterSend:
    """An SMS backend that dies right after the wrapped backend accepted a message."""

    def __init__(self, backend: Any, point: CrashPoint) -> None:
        self._backend, self._point = backend, point

    def send(self, message: Any) -> Any:
        result = self._backend.send(message)
        self._point.reached()
        return result

    def __getattr__(self, name: str) -> Any:  # lookups, close(), ... go to the real backend
        return getattr(self._backend, name)


def install(spec: str) -> None:
    from deadline_watch.delivery import dispatch
    from deadline_watch.sms import factory

    point = CrashPoint(spec)
    if point.name == "before_claim_commit":
        claim_rows = dispatch.claim_rows

        @functools.wraps(claim_rows)
        def claim_rows_then_crash(*args: Any, **kwargs: Any) -> Any:
            rows = claim_rows(*args, **kwargs)
            point.reached()
            return rows

        dispatch.claim_rows = claim_rows_then_crash
    elif point.name == "after_claim_commit":
        claim_due = dispatch.claim_due

        @functools.wraps(claim_due)
        def claim_due_then_crash(*args: Any, **kwargs: Any) -> Any:
            rows = claim_due(*args, **kwargs)
            point.reached()
            return rows

        dispatch.claim_due = claim_due_then_crash
    elif point.name == "after_send":
        make_backend = factory.make_backend

        @functools.wraps(make_backend)
        def make_crashing_backend(*args: Any, **kwargs: Any) -> Any:
            return CrashAfterSend(make_backend(*args, **kwargs), point)

        factory.make_backend = make_crashing_backend
    else:
        raise SystemExit(f"unknown crash point {spec!r}")


if __name__ == "__main__":
    if os.environ.get(CRASH_ENV):
        install(os.environ[CRASH_ENV])
    from deadline_watch.cli import run

    run()
