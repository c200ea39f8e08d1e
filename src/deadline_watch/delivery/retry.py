"""Retry policy of SMS delivery: how long to wait before the next try (codes: `sms.error_codes`)."""

from __future__ import annotations

import random

from deadline_watch.sms.error_codes import ErrorClass, classify

__all__ = ["ErrorClass", "backoff_seconds", "classify"]

def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": between half and all of min(cap, base * 2^(n-1)).

    Half the delay is fixed so a 429 is never retried at once; the other half is random so
    that many rows failing together do not come back together.
    """
    rng = rng or random.Random()
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
