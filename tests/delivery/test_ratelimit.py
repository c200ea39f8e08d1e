"""The send-rate cap: evenly paced, never above `rate_per_second` in any one-second window."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from deadline_watch.core.config import Settings
from deadline_watch.delivery.dispatch import batch_limit, run_delivery_pass
from deadline_watch.delivery.ratelimit import RateLimiter
from deadline_watch.fakes.twilio import FakeTwilio, max_in_window
from deadline_watch.sms.twilio_backend import twilio_backend_from_settings
from delivery_rows import queue


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def grants(limiter: RateLimiter, clock: FakeTime, count: int, latency: float = 0.0) -> list[float]:
    """Start instants of `count` requests made one after another, each answered after `latency`."""
    instants = []
    for _ in range(count):
        permit = limiter.acquire()
        assert permit is not None
        instants.append(clock.monotonic())
        clock.sleep(latency)
        limiter.done(permit)
    return instants


def most_in_one_second(instants: list[float]) -> int:
    ordered = sorted(instants)
    best, left = 0, 0
    for right, value in enumerate(ordered):
        while value - ordered[left] >= 1.0:
            left += 1
        best = max(best, right - left + 1)
    return best


@pytest.mark.parametrize("rate", [1, 5, 20, 100, 2.5, 0.5])
def test_never_more_than_the_rate_in_any_one_second_window(rate) -> None:
    clock = FakeTime()
    limiter = RateLimiter(rate, monotonic=clock.monotonic, sleep=clock.sleep)
    instants = grants(limiter, clock, 300, latency=0.01)
    assert most_in_one_second(instants) <= max(1, int(rate))


@pytest.mark.parametrize("rate", [1, 20, 100])
def test_paced_rate_stays_between_ninety_percent_and_the_cap(rate) -> None:
    clock = FakeTime()
    limiter = RateLimiter(rate, monotonic=clock.monotonic, sleep=clock.sleep)
    instants = grants(limiter, clock, 10 * rate + 1)
    achieved = (len(instants) - 1) / (instants[-1] - instants[0])
    assert 0.9 * rate <= achieved <= rate


def test_idle_time_is_not_saved_up_into_a_burst() -> None:
    clock = FakeTime()
    limiter = RateLimiter(10, monotonic=clock.monotonic, sleep=clock.sleep)
    grants(limiter, clock, 10)
    clock.sleep(60)
    later = grants(limiter, clock, 30)
    assert most_in_one_second(later) <= 10


def test_a_slow_answer_holds_back_the_request_a_window_later() -> None:
    """The provider may receive a request as late as its answer comes back: count it then."""
    clock = FakeTime()
    limiter = RateLimiter(10, monotonic=clock.monotonic, sleep=clock.sleep)
    first = limiter.acquire()
    started = clock.monotonic()
    others = grants(limiter, clock, 9)
    clock.sleep(2.0)  # the first request's answer takes 2 s
    limiter.done(first)
    answered = clock.monotonic()
    [eleventh] = grants(limiter, clock, 1)
    assert others[-1] - started < 1.0
    assert eleventh >= answered + 1.0


def test_threads_share_one_budget() -> None:
    limiter = RateLimiter(50)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            permit = limiter.acquire()
            with lock:
                slots.append(time.monotonic())
            limiter.done(permit)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slots) == 100
    assert most_in_one_second(slots) <= 50


def test_cancelled_wait_returns_false_without_sending() -> None:
    clock = FakeTime()
    limiter = RateLimiter(1, monotonic=clock.monotonic, sleep=clock.sleep)
    assert limiter.acquire() is not None
    stop = threading.Event()
    stop.set()
    assert limiter.acquire(stop) is None


def test_batches_are_small_enough_to_finish_inside_the_claim_timeout() -> None:
    slow = Settings.model_validate({"sms": {"rate_per_second": 1, "claim_timeout_seconds": 300, "batch_size": 500}})
    assert batch_limit(slow) == 150
    fast = Settings.model_validate({"sms": {"rate_per_second": 100, "batch_size": 200}})
    assert batch_limit(fast) == 200


def test_delivery_through_twilio_holds_the_cap_at_the_provider(sessions) -> None:
    """End to end: real twilio client, concurrency 8, the fake's receive times checked."""
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    rate = 10
    queue(sessions, 25, now=now, mobiles=[f"+86136{n:08d}" for n in range(1, 6)])
    with FakeTwilio(seed=1) as fake:
        settings = fake.settings(
            Settings.model_validate({"sms": {"rate_per_second": rate, "concurrency": 8}})
        )
        backend = twilio_backend_from_settings(settings)
        result = run_delivery_pass(sessions, backend, settings, now=now, limiter=RateLimiter(rate))
        received = [message.received_at for message in fake.messages]
    assert result.sent == 25
    assert max_in_window(received) <= rate  # the cap, as the provider saw it
    elapsed = (max(received) - min(received)) / timedelta(seconds=1)
    assert (len(received) - 1) / elapsed >= 0.9 * rate  # and the cap is actually used
