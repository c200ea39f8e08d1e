"""A pacing rate limiter shared by every sending thread of one process.

Guarantee: never more than `rate_per_second` requests *arrive at the provider* in any
one-second window. A request's arrival lies somewhere between the moment we start it and
the moment its answer is back, so a request may start only when the request
floor(rate) places before it has finished at least one second ago. On top of that,
requests are spread evenly at a little under the cap (`headroom`) so the provider sees a
steady stream rather than bursts. With a slow provider (latency L seconds) the achieved
rate can drop to about rate / (1 + L): the cap is never traded for throughput.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Cancel(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class Permit:
    """One request's place in line; hand it back with `RateLimiter.done` when the answer is in."""

    slot: float  # earliest start by even pacing (monotonic seconds)
    done_at: float | None = None
    started: bool = False


class RateLimiter:
    def __init__(
        self,
        rate_per_second: float,
        *,
        headroom: float = 0.97,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.rate_per_second = rate_per_second
        self.interval = 1.0 / (rate_per_second * headroom)
        # the hard cap per one-second window; a rate below 1 still allows one request
        self.per_window = max(1, math.floor(rate_per_second))
        self._line: deque[Permit] = deque(maxlen=self.per_window + 1)
        self._next_slot: float | None = None
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()

    def _reserve(self) -> tuple[Permit, Permit | None]:
        with self._lock:
            now = self._monotonic()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval
            permit = Permit(slot)
            self._line.append(permit)
            before = self._line[0] if len(self._line) > self.per_window else None
            return permit, before

    def acquire(self, cancel: Cancel | None = None) -> Permit | None:
        """Wait until a request may start; None when `cancel` was set while waiting."""
        permit, before = self._reserve()
        while True:
            if cancel is not None and cancel.is_set():
                self.done(permit)
                return None
            now = self._monotonic()
            wait = permit.slot - now
            if before is not None:
                finished = before.done_at
                # the request floor(rate) places earlier is still in flight: poll for its answer
                wait = max(wait, 0.002 if finished is None else finished + 1.0 - now)
            if wait <= 0:
                permit.started = True
                return permit
            self._sleep(min(wait, 0.05))

    def done(self, permit: Permit) -> None:
        """The request's answer is in (or it was never made)."""
        # a permit never used constrains nobody: count it as finished long ago
        permit.done_at = self._monotonic() if permit.started else float("-inf")


_shared: dict[float, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(rate_per_second: float) -> RateLimiter:
    """The process-wide limiter for this rate: successive delivery passes share one budget."""
    with _shared_lock:
        limiter = _shared.get(rate_per_second)
        if limiter is None:
            limiter = _shared[rate_per_second] = RateLimiter(rate_per_second)
        return limiter
