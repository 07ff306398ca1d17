"""acclient's in-process limiter with an injected clock: spacing, no burst after idling, thread safety."""

from __future__ import annotations

import threading

import pytest

from acclient import IntervalRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_are_spaced_by_the_interval_with_its_margin():
    clock = Clock()
    limiter = IntervalRateLimiter(5.0, clock=clock, sleep=clock.sleep)
    assert limiter.interval == pytest.approx(0.21)
    for _ in range(6):
        limiter.acquire()
    # the first goes at once, every next one 210 ms after the one before: six requests span 1.05 s
    assert clock.slept == pytest.approx([0.21] * 5)
    assert clock.now == pytest.approx(101.05)


def test_an_idle_limiter_saves_no_burst():
    clock = Clock()
    limiter = IntervalRateLimiter(5.0, margin=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 10.0  # idle for ten seconds
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == pytest.approx([0.2])  # the idle time bought one immediate request, not fifty


def test_time_already_spent_counts_towards_the_wait():
    clock = Clock()
    limiter = IntervalRateLimiter(4.0, margin=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 0.15  # the caller spent 150 ms between requests
    limiter.acquire()
    assert clock.slept == pytest.approx([0.10])


def test_threads_book_distinct_slots():
    now = 50.0
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    limiter = IntervalRateLimiter(10.0, margin=0.0, clock=lambda: now, sleep=record)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # one caller went at once; the others waited 0.1, 0.2, ... 1.9 s: no two share a slot
    assert sorted(round(w, 6) for w in waits) == [round(0.1 * n, 6) for n in range(1, 20)]


@pytest.mark.parametrize(("rate", "margin"), [(0, 0.05), (-1, 0.05), (5, 1.0), (5, -0.1)])
def test_bad_parameters_are_refused(rate, margin):
    with pytest.raises(ValueError):
        IntervalRateLimiter(rate, margin=margin)
