"""The adaptive limiter on a fake clock: no real sleeps, no timing thresholds, exact fake timelines.
Also Retry-After jitter and up-front admission (pure arithmetic)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import ATTEMPT_OUTCOMES, Outcome
from scrapers.core.request import Request
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import FIRST_TURN_SHARE, PATIENT_SHARE, JobBudget, SourcePolicy
from scrapers.http.ratelimit import (
    HOLD_AFTER_CUT,
    RETRY_AFTER_JITTER,
    AdaptiveLimiter,
    LocalLimiter,
    RateChange,
    RateLimitWaitExceeded,
    RateSettings,
    Ticket,
    jittered,
    least_seconds,
)
from scrapers.sources.bdl.players import CATALOGUE_PAGES, BdlPlayers, PlayersOptions


@dataclass
class FakeTime:
    """A monotonic clock that moves only when the limiter sleeps.

    Exact because a limiter has at most one sleeper (the head of its queue). The sleep yields first
    and advances afterwards, so whatever runs while the head sleeps still sees the old time.
    """

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)
        self.now += seconds


def settings(
    rate: float = 1.0,
    burst: int = 1,
    ceiling: float | None = None,
    floor: float | None = None,
    increase_step: float = 1.0,
    successes_to_increase: int = 10,
) -> RateSettings:
    return RateSettings(
        rate=rate,
        burst=burst,
        ceiling=rate if ceiling is None else ceiling,
        floor=rate / 8 if floor is None else floor,
        increase_step=increase_step,
        successes_to_increase=successes_to_increase,
    )


def make(fake: FakeTime, config: RateSettings, **kwargs: Any) -> AdaptiveLimiter:
    return AdaptiveLimiter("api.example.com", config, clock=fake.monotonic, sleep=fake.sleep, **kwargs)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


async def finish(*aws: Awaitable[Any]) -> list[Any]:
    """Gather, but fail instead of hanging if the limiter deadlocks.

    The fake clock never blocks the loop, so a healthy run completes within a bounded number of
    loop iterations; counting iterations keeps the guard deterministic (no wall-clock timeout).
    """
    gathered = asyncio.gather(*aws, return_exceptions=True)
    for _ in range(100_000):
        if gathered.done():
            return gathered.result()
        await asyncio.sleep(0)
    gathered.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await gathered  # tear the stuck acquirers down here, not in a later test's loop
    raise AssertionError("acquirers stopped making progress: deadlock")


async def settle() -> None:
    """Let every ready task run until it blocks on the limiter (the fake sleep yields once)."""
    for _ in range(5):
        await asyncio.sleep(0)


# ----------------------------------------------------------------------------------------- pacing


def test_burst_then_configured_rate() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=2.0, burst=3))
    grants: list[float] = []

    async def main() -> None:
        for _ in range(9):
            await limiter.acquire()
            grants.append(fake.now)

    run(main())
    assert grants[:3] == [0.0, 0.0, 0.0]  # the burst goes at once
    assert fake.now == pytest.approx((9 - 3) / 2.0)
    assert grants[3:] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])


def test_fractional_rate_bdl_free_tier() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=5 / 60, burst=1))

    async def main() -> None:
        for _ in range(4):
            await limiter.acquire()

    run(main())
    assert fake.now == pytest.approx(3 * 12.0)


def test_concurrent_acquirers_are_served_in_arrival_order() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=4.0, burst=2))
    order: list[int] = []

    async def one(index: int) -> None:
        await limiter.acquire()
        order.append(index)

    async def main() -> None:
        assert await finish(*(one(i) for i in range(10))) == [None] * 10

    run(main())
    assert order == list(range(10))
    assert fake.now == pytest.approx((10 - 2) / 4.0)


# ------------------------------------------------------------------------------ decrease on 429


def test_burst_of_concurrent_429s_is_one_event() -> None:
    fake = FakeTime()
    changes: list[RateChange] = []
    limiter = make(fake, settings(rate=10.0, burst=10), on_change=changes.append)

    async def main() -> None:
        tickets = await asyncio.gather(*(limiter.acquire() for _ in range(10)))
        cuts = [limiter.on_rate_limited(ticket) for ticket in tickets]
        assert cuts.count(True) == 1
        assert limiter.rate == 5.0
        # A request sent after the cut carries the new generation, so its 429 is a new event.
        fresh = await limiter.acquire()
        assert limiter.on_rate_limited(fresh) is True
        assert limiter.rate == 2.5
        # Stragglers of the first burst still do not cut.
        assert limiter.on_rate_limited(tickets[0]) is False
        assert limiter.rate == 2.5

    run(main())
    assert [(c.old_rate, c.new_rate, c.reason) for c in changes] == [
        (10.0, 5.0, "decrease"),
        (5.0, 2.5, "decrease"),
    ]


def test_cut_does_not_leave_a_stored_burst() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=4.0, burst=8))

    async def main() -> None:
        ticket = await limiter.acquire()  # 7 tokens left
        limiter.on_rate_limited(ticket)  # rate 2/s, at most one token kept
        for _ in range(3):
            await limiter.acquire()

    run(main())
    assert fake.now == pytest.approx(2 / 2.0)  # one probe at once, then the new rate


def test_floor_respected_on_repeated_cuts() -> None:
    fake = FakeTime()
    changes: list[RateChange] = []
    limiter = make(fake, settings(rate=8.0, burst=1, floor=1.0), on_change=changes.append)

    async def main() -> None:
        for _ in range(6):
            limiter.on_rate_limited(await limiter.acquire())

    run(main())
    assert limiter.rate == 1.0
    assert [c.new_rate for c in changes] == [4.0, 2.0, 1.0]  # cuts at the floor change nothing


# --------------------------------------------------------------------------------- Retry-After


def test_retry_after_pauses_every_acquirer_whatever_the_generation() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=5))
    grants: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        grants.append(fake.now)

    async def main() -> None:
        stale = await limiter.acquire()
        limiter.on_rate_limited(await limiter.acquire())  # the cut: rate 0.5, generation 1
        limiter.on_rate_limited(stale, retry_after=30.0)  # stale ticket: no second cut, still a pause
        assert limiter.rate == 0.5
        assert await finish(*(one() for _ in range(3))) == [None] * 3

    run(main())
    # One token survives the pause; the rest follow at the (cut) rate, none before the pause ends.
    assert grants == pytest.approx([30.0, 32.0, 34.0])


def test_retry_after_past_the_deadline_raises_without_sleeping() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=10.0, burst=10))

    async def main() -> None:
        ticket = await limiter.acquire()
        limiter.on_rate_limited(ticket, retry_after=60.0)
        with pytest.raises(RateLimitWaitExceeded) as caught:
            await limiter.acquire(deadline=fake.now + 20.0)
        assert caught.value.needed == pytest.approx(60.0)
        assert caught.value.paused is True
        assert caught.value.outcome is Outcome.RATE_LIMITED

    run(main())
    assert fake.slept == []
    assert fake.now == 0.0


def test_token_wait_past_the_deadline_raises_without_sleeping() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=0.1, burst=1))

    async def main() -> None:
        await limiter.acquire()
        with pytest.raises(RateLimitWaitExceeded) as caught:
            await limiter.acquire(deadline=5.0)
        assert caught.value.needed == pytest.approx(10.0)
        assert caught.value.paused is False
        # Within the deadline it waits as usual.
        await limiter.acquire(deadline=10.0)

    run(main())
    assert fake.slept == pytest.approx([10.0])


def test_queued_waiter_fails_at_once_when_a_pause_puts_its_deadline_out_of_reach() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=1))
    grants: list[float] = []
    failed_at: list[float] = []
    needed: list[float] = []

    async def patient() -> None:
        await limiter.acquire()
        grants.append(fake.now)

    async def hurried() -> None:
        try:
            await limiter.acquire(deadline=5.0)
        except RateLimitWaitExceeded as exc:
            failed_at.append(fake.now)
            needed.append(exc.needed)

    async def main() -> None:
        first = await limiter.acquire()
        tasks = [asyncio.create_task(patient()), asyncio.create_task(hurried())]
        await asyncio.sleep(0)  # both queued; the head is in its one-second sleep
        limiter.on_rate_limited(first, retry_after=60.0)
        assert await finish(*tasks) == [None, None]

    run(main())
    assert needed == pytest.approx([62.0])  # pause to 60, then 2 s per token at the cut 0.5/s
    assert failed_at[0] < 60.0  # failed while the pause was still on, not when it ended
    assert fake.slept == pytest.approx([1.0, 59.0])  # only the head ever slept
    assert grants == pytest.approx([60.0])


def test_a_cut_halves_the_burst_so_an_idle_bucket_does_not_resend_what_was_refused() -> None:
    # The Odds API in the chaos benchmark: configured burst 5, a host that takes 2 at once. After
    # a 429 and an idle spell, the bucket refills only to the learned burst.
    fake = FakeTime()
    changes: list[RateChange] = []
    limiter = make(fake, settings(rate=10.0, burst=5, floor=1.0), on_change=changes.append)

    async def burst_after_idle() -> list[float]:
        fake.now += 60.0  # idle: the bucket is as full as it may be
        grants = []
        for _ in range(5):
            await limiter.acquire()
            grants.append(fake.now)
        return [round(at - grants[0], 6) for at in grants]

    async def main() -> None:
        assert await burst_after_idle() == [0.0] * 5
        limiter.on_rate_limited(await limiter.acquire())
        assert (limiter.rate, limiter.burst) == (5.0, 2)
        assert await burst_after_idle() == pytest.approx([0.0, 0.0, 0.2, 0.4, 0.6])
        limiter.on_rate_limited(await limiter.acquire())
        assert (limiter.rate, limiter.burst) == (2.5, 1)
        assert await burst_after_idle() == pytest.approx([0.0, 0.4, 0.8, 1.2, 1.6])
        limiter.on_rate_limited(await limiter.acquire())
        assert limiter.burst == 1  # never below one

    run(main())
    assert [(c.new_rate, c.burst) for c in changes] == [(5.0, 2), (2.5, 1), (1.25, 1)]


def test_each_raise_gives_the_burst_one_token_back_up_to_the_configured_one() -> None:
    fake = FakeTime()
    changes: list[RateChange] = []
    config = settings(rate=8.0, burst=4, ceiling=8.0, floor=1.0, increase_step=4.0, successes_to_increase=1)
    limiter = make(fake, config, on_change=changes.append)
    limiter.on_rate_limited(Ticket(limiter.generation))
    limiter.on_rate_limited(Ticket(limiter.generation))
    assert (limiter.rate, limiter.burst) == (2.0, 1)
    ticket = Ticket(limiter.generation)
    assert [limiter.on_success(ticket) for _ in range(HOLD_AFTER_CUT)][-1] is True
    assert (limiter.rate, limiter.burst) == (6.0, 2)
    assert limiter.on_success(ticket) is True
    assert (limiter.rate, limiter.burst) == (8.0, 3)  # the rate is at its ceiling ...
    assert limiter.on_success(ticket) is True
    assert (limiter.rate, limiter.burst) == (8.0, 4)  # ... the burst still comes back
    assert limiter.on_success(ticket) is False
    assert [(c.new_rate, c.burst, c.reason) for c in changes][-3:] == [
        (6.0, 2, "increase"),
        (8.0, 3, "increase"),
        (8.0, 4, "increase"),
    ]


# -------------------------------------------------------------------------- additive increase


def test_additive_increase_after_a_run_of_successes_capped_at_ceiling() -> None:
    fake = FakeTime()
    changes: list[RateChange] = []
    config = settings(rate=1.0, ceiling=2.5, floor=0.25, increase_step=1.0, successes_to_increase=3)
    limiter = make(fake, config, on_change=changes.append)
    ticket = Ticket(limiter.generation)

    assert [limiter.on_success(ticket) for _ in range(3)] == [False, False, True]
    assert limiter.rate == 2.0
    limiter.on_success(ticket)
    limiter.on_success(ticket)
    limiter.on_rate_limited(Ticket(-1))  # a stale 429 does not cut, but it breaks the run
    assert limiter.rate == 2.0
    assert [limiter.on_success(ticket) for _ in range(3)] == [False, False, True]
    assert limiter.rate == 2.5  # capped
    assert [limiter.on_success(ticket) for _ in range(3)] == [False, False, False]
    assert [(c.new_rate, c.reason) for c in changes] == [(2.0, "increase"), (2.5, "increase")]


def test_successes_sent_before_a_cut_do_not_count() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=4.0, ceiling=8.0, successes_to_increase=2))
    before = Ticket(limiter.generation)
    limiter.on_rate_limited(before)
    assert limiter.rate == 2.0
    assert [limiter.on_success(before) for _ in range(4)] == [False] * 4
    assert limiter.rate == 2.0
    after = Ticket(limiter.generation)
    held = 2 * HOLD_AFTER_CUT  # after a cut, a run is HOLD_AFTER_CUT times longer
    assert [limiter.on_success(after) for _ in range(held)] == [False] * (held - 1) + [True]
    assert limiter.rate == 3.0
    assert [limiter.on_success(after) for _ in range(2)] == [False, True]  # then the usual run
    assert limiter.rate == 4.0


# ---------------------------------------------------------------------- on_change and persistence


def test_on_change_fires_only_on_real_changes() -> None:
    fake = FakeTime()
    changes: list[RateChange] = []
    config = settings(rate=2.0, ceiling=2.0, floor=2.0, successes_to_increase=1)
    limiter = make(fake, config, on_change=changes.append)
    ticket = Ticket(limiter.generation)
    limiter.on_success(ticket)  # already at the ceiling
    limiter.on_rate_limited(ticket)  # already at the floor: an event, but no change
    limiter.on_rate_limited(Ticket(limiter.generation), retry_after=5.0)  # a pause is not a rate change
    assert changes == []
    assert limiter.generation == 2


def test_persisted_start_rate_is_clamped() -> None:
    fake = FakeTime()
    config = settings(rate=1.0, ceiling=10.0, floor=0.5)
    changes: list[RateChange] = []
    assert make(fake, config, initial_rate=100.0, on_change=changes.append).rate == 10.0
    assert make(fake, config, initial_rate=0.001, on_change=changes.append).rate == 0.5
    assert make(fake, config, initial_rate=3.0, on_change=changes.append).rate == 3.0
    assert make(fake, config, initial_rate=math.nan, on_change=changes.append).rate == 1.0
    assert changes == []  # starting is not a change


def test_a_persisted_burst_is_clamped_to_one_and_the_configured_burst() -> None:
    fake = FakeTime()
    config = settings(rate=1.0, burst=5)
    assert make(fake, config, initial_burst=2).burst == 2
    assert make(fake, config, initial_burst=50).burst == 5  # the configuration was lowered since
    assert make(fake, config, initial_burst=0).burst == 1
    assert make(fake, config).burst == 5


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="floor"):
        RateSettings(rate=1.0, burst=1, ceiling=2.0, floor=1.5, increase_step=0.5)
    with pytest.raises(ValueError, match="decrease_factor"):
        RateSettings(rate=1.0, burst=1, ceiling=2.0, floor=0.5, increase_step=0.5, decrease_factor=1.0)
    with pytest.raises(ValueError, match="burst"):
        RateSettings(rate=1.0, burst=0, ceiling=2.0, floor=0.5, increase_step=0.5)


# ----------------------------------------------------------------------- concurrency and safety


def test_hundred_concurrent_acquirers_never_exceed_the_ceiling() -> None:
    fake = FakeTime()
    # Binary-exact rates (4 then 8 per second) keep the fake timeline free of float drift.
    config = settings(rate=4.0, burst=1, ceiling=8.0, floor=1.0, increase_step=4.0, successes_to_increase=10)
    limiter = make(fake, config)
    grants: list[float] = []

    async def one() -> None:
        ticket = await limiter.acquire()
        grants.append(fake.now)
        limiter.on_success(ticket)

    async def main() -> None:
        assert await finish(*(one() for _ in range(100))) == [None] * 100

    run(main())
    assert len(grants) == 100
    assert limiter.rate == 8.0
    assert grants == sorted(grants)
    for second in range(math.ceil(grants[-1]) + 1):  # fixed fake-second windows
        assert sum(second <= t < second + 1 for t in grants) <= config.ceiling
    for start in grants:  # and every sliding window that starts at a grant
        assert sum(start <= t < start + 1 for t in grants) <= config.ceiling


def test_cancelled_follower_neither_loses_nor_duplicates_a_token() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=1))
    grants: dict[str, float] = {}

    async def one(name: str) -> None:
        await limiter.acquire()
        grants[name] = fake.now

    async def main() -> None:
        await limiter.acquire()  # the burst token, at 0
        tasks = {name: asyncio.create_task(one(name)) for name in "bcd"}
        await asyncio.sleep(0)  # b sleeps at the head, c and d queue behind it
        tasks["c"].cancel()
        await finish(*tasks.values())
        assert tasks["c"].cancelled()

    run(main())
    # d takes the slot c gave up: not at 1 (duplicated) and not at 3 (lost).
    assert grants == pytest.approx({"b": 1.0, "d": 2.0})
    assert limiter.waiting == 0


def test_cancelled_head_hands_over_without_consuming() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=1))
    grants: dict[str, float] = {}

    async def one(name: str) -> None:
        await limiter.acquire()
        grants[name] = fake.now

    async def main() -> None:
        await limiter.acquire()
        tasks = {name: asyncio.create_task(one(name)) for name in "bcd"}
        await asyncio.sleep(0)  # b is at the head, inside its sleep
        tasks["b"].cancel()
        await finish(*tasks.values())

    run(main())
    # b's sleep was cut short before the clock moved; c inherits the head and its full wait.
    assert grants == pytest.approx({"c": 1.0, "d": 2.0})
    assert limiter.waiting == 0


def test_cancellation_storm_keeps_the_rest_flowing() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=2.0, burst=2))
    done: list[int] = []

    async def one(index: int) -> None:
        await limiter.acquire()
        done.append(index)

    async def main() -> None:
        tasks = [asyncio.create_task(one(i)) for i in range(20)]
        await settle()
        for index in range(0, 20, 3):
            tasks[index].cancel()
        await finish(*tasks)

    run(main())
    survivors = [i for i in range(20) if i % 3 != 0 or i in done]
    assert sorted(done) == survivors
    # Every survivor got exactly one token: the burst plus one per half second, nothing skipped.
    assert fake.now == pytest.approx((len(done) - 2) / 2.0)
    assert limiter.waiting == 0


# ----------------------------------------------------------------------------------------- refunds


def test_refunded_token_is_granted_again_without_waiting() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=0.2, burst=1))

    async def main() -> None:
        ticket = await limiter.acquire()
        limiter.refund(ticket)  # the request never reached the host
        await limiter.acquire()

    run(main())
    assert fake.now == 0.0  # at 0.2/s a lost token would have cost 5 s


def test_a_turn_whose_proxy_failed_is_kept_unless_the_host_was_paused_or_slowed_meanwhile() -> None:
    # Issue 20: a request whose proxy hung for a whole timeout keeps its turn for its next route
    # instead of queueing again behind everyone, but never past a pause or a cut that came since.
    async def scenario() -> None:
        fake = FakeTime()
        limiter = make(fake, settings(rate=1.0, burst=5))
        first = await limiter.acquire()
        kept = limiter.keep(first)
        assert kept is not None  # nothing happened to the host since it was granted
        limiter.pause(3.0)  # another request's 503 with Retry-After, while ours hung
        assert limiter.keep(kept) is None  # given back: the request queues behind the pause
        second = await limiter.acquire()
        assert fake.now == pytest.approx(3.0)
        kept = limiter.keep(second)
        assert kept is not None  # granted after the pause
        limiter.on_rate_limited(await limiter.acquire())  # a 429 cut the rate
        assert limiter.keep(kept) is None  # granted at the rate that drew the 429

    run(scenario())


def test_a_turn_is_kept_only_when_the_host_would_grant_one_now() -> None:
    # A turn kept while others queue would be sent on top of the turns granted meanwhile: two
    # requests within one interval at a host held at its limit (a 429 at BettingPros, bench/).
    async def scenario() -> None:
        fake = FakeTime()
        limiter = make(fake, settings(rate=1.0, burst=1))
        hung = await limiter.acquire()
        grants: dict[str, float] = {}

        async def one(name: str, due: float) -> None:
            await limiter.acquire(due=due)
            grants[name] = fake.now

        waiting = asyncio.create_task(one("waiting", 50.0))
        await asyncio.sleep(0)  # queued, at the head, asleep for the next token
        assert limiter.keep(hung) is None  # someone waits: the turn goes back ...
        again = asyncio.create_task(one("again", 10.0))  # ... and the request queues in its job's place
        assert await finish(waiting, again) == [None, None]
        assert grants == {"waiting": 1.0, "again": 2.0}  # behind the head, one interval apart
        fake.now += 5.0
        assert limiter.keep(await limiter.acquire()) is not None  # idle host: a token at hand anyway
        assert limiter.waiting == 0

    run(scenario())


def test_the_earliest_due_goes_first_behind_the_head() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=1))
    order: list[str] = []

    async def one(name: str, due: float | None) -> None:
        await limiter.acquire(due=due)
        order.append(name)

    async def main() -> None:
        await limiter.acquire()  # the bucket is empty: everyone below queues, in this order
        waiters = [
            ("head", 100.0),  # first to queue: it holds the next turn whatever comes after
            ("late", 90.0),
            ("undated", None),
            ("urgent", 10.0),
            ("late too", 90.0),
        ]
        assert await finish(*(one(name, due) for name, due in waiters)) == [None] * 5

    run(main())
    assert order == ["head", "urgent", "late", "late too", "undated"]
    assert fake.now == pytest.approx(5.0)  # one interval each: the order changed, not the pace


def test_a_waiter_pushed_back_past_its_deadline_fails_at_once() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=1))
    failed: list[tuple[float, float]] = []

    async def one(due: float, deadline: float | None = None) -> None:
        try:
            await limiter.acquire(due=due, deadline=deadline)
        except RateLimitWaitExceeded as exc:
            failed.append((fake.now, exc.needed))

    async def main() -> None:
        await limiter.acquire()
        # The second is one turn behind the head: its deadline of 2 s is met, until the third, due
        # earlier, goes ahead of it: 3 s.
        assert await finish(one(50.0), one(60.0, deadline=2.0), one(10.0)) == [None] * 3

    run(main())
    [(when, needed)] = failed
    assert needed == pytest.approx(3.0)
    assert when < 2.0  # told before its deadline, not when its turn came too late


def test_only_successes_the_rate_paced_count_towards_an_increase() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=1, ceiling=4.0, successes_to_increase=3))

    async def main() -> None:
        for _ in range(6):  # one request every 5 s at 1/s: never waits, so never the rate's test
            fake.now += 5.0
            ticket = await limiter.acquire()
            assert ticket.idle
            assert limiter.on_success(ticket) is False
        tickets = [await limiter.acquire() for _ in range(3)]  # back to back: paced by the rate
        assert [t.idle for t in tickets] == [False, False, False]
        assert [limiter.on_success(t) for t in tickets] == [False, False, True]

    run(main())
    assert limiter.rate == 2.0


def test_a_job_s_first_request_to_a_host_is_due_early_and_the_rest_at_its_deadline() -> None:
    budget = JobBudget(deadline=1300.0, retries_left=3, started=1000.0)
    dues = [budget.due("a.example"), budget.due("a.example"), budget.due("b.example")]
    assert dues == [1000.0 + 300.0 * FIRST_TURN_SHARE, 1300.0, 1000.0 + 300.0 * FIRST_TURN_SHARE]
    assert budget.patient_until == 1000.0 + 300.0 * PATIENT_SHARE
    undated = JobBudget(deadline=1300.0, retries_left=3)  # no start: every turn at the deadline
    assert [undated.due("a.example"), undated.patient_until] == [1300.0, None]


def test_only_the_last_turn_granted_comes_back() -> None:
    # A request whose proxy hung gives its turn back just after the host's next turn went to
    # another request: crediting it would put two sends within one interval (a 429 in bench/).
    fake = FakeTime()
    limiter = make(fake, settings(rate=0.2, burst=1))
    grants: list[float] = []

    async def main() -> None:
        hung = await limiter.acquire()
        await limiter.acquire()  # 5 s later, another request's turn
        fake.now += 0.1  # the hung attempt is cut 5.1 s after its turn
        assert limiter.keep(hung) is None  # nothing credited: no token at hand, it queues again
        await limiter.acquire()
        grants.append(fake.now)
        last = await limiter.acquire()
        limiter.refund(last)  # the last turn granted: it comes back, once
        limiter.refund(last)
        await limiter.acquire()
        grants.append(fake.now)
        await limiter.acquire()
        grants.append(fake.now)

    run(main())
    assert grants == pytest.approx([10.0, 15.0, 20.0])


def test_refunds_never_grow_the_bucket_past_its_burst() -> None:
    fake = FakeTime()
    limiter = make(fake, settings(rate=1.0, burst=2))

    async def main() -> None:
        ticket = await limiter.acquire()
        for _ in range(5):
            limiter.refund(ticket)
        for _ in range(3):
            await limiter.acquire()

    run(main())
    assert fake.now == pytest.approx(1.0)  # two from the burst, the third after one interval


# --- Retry-After jitter and up-front admission -----------------------------------------------------


def test_retry_after_jitter_only_lengthens_and_by_at_most_a_fifth() -> None:
    rng = random.Random(17)
    pauses = [jittered(10.0, rng) for _ in range(500)]

    assert all(p is not None and 10.0 <= p <= 10.0 * (1 + RETRY_AFTER_JITTER) for p in pauses)
    assert len({round(p or 0.0, 6) for p in pauses}) > 400, "refused processes come back at different times"
    assert [jittered(value, rng) for value in (None, 0.0, -1.0)] == [None, 0.0, -1.0]


def test_a_local_limiter_pauses_for_the_jittered_retry_after() -> None:
    async def scenario() -> None:
        fake = FakeTime()
        local = LocalLimiter(make(fake, settings(rate=10.0)), random.Random(3))
        ticket = await local.acquire()

        await local.on_rate_limited(ticket, retry_after=5.0)

        assert 5.0 < local.limiter.paused_until <= 5.0 * (1 + RETRY_AFTER_JITTER)

    run(scenario())


def test_jitter_never_takes_a_pause_past_the_time_left_but_never_shortens_it() -> None:
    rng = random.Random(5)

    capped = [jittered(10.0, rng, within=10.5) for _ in range(200)]
    assert all(p is not None and 10.0 <= p <= 10.5 for p in capped)
    # The server's own ask is kept even when it does not fit: the caller fails the job on it.
    assert jittered(10.0, rng, within=4.0) == 10.0


def test_a_503_pause_holds_every_grant_and_keeps_the_rate() -> None:
    async def scenario() -> None:
        fake = FakeTime()
        limiter = make(fake, settings(rate=10.0, burst=5))
        ticket = await limiter.acquire()

        limiter.pause(3.0)
        second = await limiter.acquire()

        assert fake.now == pytest.approx(3.0)  # no grant before the pause ended
        assert limiter.rate == 10.0  # a pause is not a cut
        assert second.generation == ticket.generation
        await limiter.acquire()  # the burst was not kept through the pause: one interval more
        assert fake.now == pytest.approx(3.1)

    run(scenario())


class WidestJitter(random.Random):
    """Draws the top of every range: the longest pause the jitter can make."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_local_limiter_caps_the_jitter_at_the_asking_jobs_deadline() -> None:
    async def scenario() -> None:
        fake = FakeTime()
        local = LocalLimiter(make(fake, settings(rate=10.0)), WidestJitter())  # 5 s would become 6 s

        await local.pause(5.0, deadline=5.2)

        assert 5.0 <= local.limiter.paused_until <= 5.2
        await local.acquire(deadline=5.2)  # the pause fits the deadline that asked for it

    run(scenario())


@pytest.mark.parametrize(
    ("requests", "burst", "per_minute", "seconds"),
    [(1, 1, 5, 0.0), (5, 5, 5, 0.0), (26, 1, 5, 300.0), (40, 1, 5, 468.0), (40, 10, 60, 30.0)],
)
def test_least_seconds_is_a_full_bucket_then_the_ceiling(
    requests: int, burst: int, per_minute: float, seconds: float
) -> None:
    config = settings(rate=per_minute / 60, burst=burst)
    assert least_seconds(config, requests) == pytest.approx(seconds)


BDL_FREE = settings(rate=5 / 60, burst=1)


def test_admission_refuses_a_job_that_cannot_fit_its_deadline_before_anything_is_sent() -> None:
    fetcher = Fetcher()
    policy = SourcePolicy(name="bdl", rate=BDL_FREE, deadline_seconds=300.0)
    first = [Request("https://api.balldontlie.io/v1/players")]

    with pytest.raises(ScrapeError) as refused:
        fetcher.admit(first, 40, policy)

    assert refused.value.outcome is Outcome.INFEASIBLE
    assert not refused.value.outcome.is_false_positive_class
    assert "40 requests to api.balldontlie.io need at least 468s" in str(refused.value)
    fetcher.admit(first, 26, policy)  # 25 intervals of 12 s: exactly the deadline, admitted
    fetcher.admit(first, 40, dataclasses.replace(policy, deadline_seconds=600.0))
    Fetcher(throttle=False).admit(first, 40, policy)  # replay sends nothing anywhere


def test_admission_counts_each_host_of_the_first_requests() -> None:
    policy = SourcePolicy(name="odds", rate=settings(rate=1.0, burst=2), deadline_seconds=10.0)
    spread = [Request(f"https://h{i % 3}.example.com/e/{i}") for i in range(30)]  # 10 per host
    Fetcher().admit(spread, len(spread), policy)  # 8 s per host

    one_host = [Request(f"https://h0.example.com/e/{i}") for i in range(13)]
    with pytest.raises(ScrapeError) as refused:
        Fetcher().admit(one_host, len(one_host), policy)
    assert refused.value.outcome is Outcome.INFEASIBLE


def test_the_unfiltered_players_catalogue_declares_its_least_pages() -> None:
    scraper = BdlPlayers()
    assert scraper.minimum_requests(PlayersOptions(team_id=None, search=None)) == CATALOGUE_PAGES
    assert scraper.minimum_requests(PlayersOptions(team_id=23, search=None)) == 1
    assert scraper.minimum_requests(PlayersOptions(team_id=None, search="embiid")) == 1


def test_infeasible_has_its_own_exit_code_and_a_terminal_http_status() -> None:
    assert Outcome.INFEASIBLE.exit_code == 19
    assert Outcome.INFEASIBLE.http_status == 422
    assert Outcome.INFEASIBLE not in ATTEMPT_OUTCOMES
