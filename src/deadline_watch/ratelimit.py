"""A pacing token bucket shared by every sending thread of one process.

Guarantee: never more than `rate_per_second` requests start in any one-second window
(half-open, measured on this process's monotonic clock). Requests are spread evenly at a
little under the cap (`headroom`), so that network jitter between us and the provider
cannot bunch them into a window above the cap at the provider's end either.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Hands out send slots: evenly spaced, and at most floor(rate) in any one second."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        headroom: float = 0.95,
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
        self._recent: deque[float] = deque(maxlen=self.per_window)
        self._next_slot: float | None = None
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next free slot and return its monotonic instant (maybe in the past)."""
        with self._lock:
            now = self._monotonic()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            if len(self._recent) == self.per_window:
                slot = max(slot, self._recent[0] + 1.0)
            self._recent.append(slot)
            self._next_slot = slot + self.interval
            return slot

    def acquire(self, cancel: threading.Event | None = None) -> bool:
        """Wait for a slot; False when `cancel` was set while waiting (the slot is not reused)."""
        slot = self.reserve()
        while True:
            if cancel is not None and cancel.is_set():
                return False
            remaining = slot - self._monotonic()
            if remaining <= 0:
                return True
            self._sleep(min(remaining, 0.05) if cancel is not None else remaining)


_shared: dict[float, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(rate_per_second: float) -> RateLimiter:
    """The process-wide limiter for this rate: successive delivery passes share one budget."""
    with _shared_lock:
        limiter = _shared.get(rate_per_second)
        if limiter is None:
            limiter = _shared[rate_per_second] = RateLimiter(rate_per_second)
        return limiter
