"""Adaptive per-host rate limiting: a token bucket whose rate moves (AIMD) and that honours Retry-After.

Wrap or replace aiolimiter? Replaced, deliberately (DESIGN.md prefers the library, so here is why not):

* Its rate is fixed at construction (`_rate_per_sec` is computed once in `__init__`). Changing it means
  writing private slots, which a minor release may rename, and a cut would still leave the stored
  level untouched, so the old burst survives.
* It ties burst to rate (`max_rate` acquisitions per `time_period`): BDL's 5/minute cannot be
  "burst 1" without rewriting the period, and every AIMD step would have to re-derive both numbers.
* It reads `loop.time()` and waits with `wait_for` on the event loop, so neither the clock nor the
  sleep can be injected; deterministic tests would need a virtual-time event loop.
* It has no deadline, no host-wide pause for Retry-After, and its waiters live in a dict that wakes
  "some" waiter, not the oldest one.

What remains is about a hundred lines of bucket arithmetic plus a FIFO hand-off, cheaper to own than
to bend a library into. aiolimiter is therefore not a dependency.

Shape: waiters queue earliest due first, then first come first served (`acquire`'s `due`: the
fetcher gives each request its job's deadline), and only the head of the queue ever sleeps (for its
token or the pause); a waiter due earlier joins behind the head, never ahead of it. That keeps grants
in a known order, makes cancellation trivial (a token is taken and returned in one synchronous step,
never across an await) and means a fake clock that advances when the limiter sleeps is exact, since
there is never more than one sleeper per limiter.

The rate learns from 429s (AIMD): a 429 halves it once per burst, and a run of successes the rate
paced (not idle grants) raises it one step, the first run after a cut `HOLD_AFTER_CUT` times longer.
The burst learns with it: a 429 does not say whether the pace or the burst was too much, so a cut
halves both (the burst never below 1), and each raise of the rate gives the burst one token back, up
to the configured burst. Without that, a bucket refilled to the configured burst after an idle spell
sends at once what the host already refused (the chaos benchmark's The Odds API, configured burst 5,
refused the 4th of 4 requests sent within 0.4 simulated s at a rate it otherwise took).

Where the budget lives: this module's `AdaptiveLimiter` is one process's bucket (memory and SQLite
state; only the learned rate and burst are persisted). With Redis state the fetcher uses
`fleet_budget.SharedLimiter` instead, one budget for every process of the fleet. Both are used
through `HostLimiter`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome

MonotonicClock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Slack for float arithmetic: a head that slept exactly (1 - tokens) / rate must find a whole token
# even when the sum lands a hair below 1.0, or it would spin on ever-smaller sleeps.
_EPSILON = 1e-9
# A Retry-After pause is lengthened by up to this share at random (never shortened): processes
# refused together must not all come back in the same instant, draw 429s together again, and send
# less than the host allows.
RETRY_AFTER_JITTER = 0.2
# After a cut, the rate climbs again only after this many times `successes_to_increase` successes
# that the rate limited: a climb back toward the rate the host just refused is a probe that costs a
# 429, and the ordinary cadence (one step per ten) re-drew one about every twenty requests at a host
# held at its limit (BettingPros), where the rate after the cut is already what the host allows.
HOLD_AFTER_CUT = 10


@dataclass(frozen=True)
class RateSettings:
    """Configured limits of one host. Rates are requests per second and may be fractional."""

    rate: float  # where to start, e.g. BDL free tier 5 / 60
    burst: int  # tokens the bucket can hold; 1 for hosts that block after bursts (cdn.nba.com)
    ceiling: float  # additive increase never goes above this
    floor: float  # multiplicative decrease never goes below this
    increase_step: float  # requests per second added after a run of successes
    decrease_factor: float = 0.5
    successes_to_increase: int = 10

    def __post_init__(self) -> None:
        numbers = (self.rate, self.ceiling, self.floor, self.increase_step, self.decrease_factor)
        if not all(math.isfinite(n) for n in numbers):
            raise ValueError(f"rate settings must be finite numbers: {self}")
        if not 0 < self.floor <= self.rate <= self.ceiling:
            raise ValueError(f"need 0 < floor <= rate <= ceiling: {self}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1: {self}")
        if not 0 < self.decrease_factor < 1:
            raise ValueError(f"decrease_factor must be between 0 and 1: {self}")
        if self.increase_step < 0:
            raise ValueError(f"increase_step must not be negative: {self}")
        if self.successes_to_increase < 1:
            raise ValueError(f"successes_to_increase must be at least 1: {self}")

    def clamp(self, rate: float) -> float:
        return min(self.ceiling, max(self.floor, rate))


@dataclass(frozen=True, slots=True)
class Ticket:
    """Proof of one grant. The generation says which rate the request was sent under.

    A fleet-wide grant (scrapers/http/fleet_budget.py) also names its slot: the schedule's epoch
    and the slot's time on the shared clock, so the slot can be given back. A process-local grant
    (`AdaptiveLimiter`) numbers its slot: only the last grant can be given back.
    """

    generation: int
    epoch: int = 0
    slot: int = 0
    # Granted at once, with nobody waiting: the request's own demand, not the rate, set its pace,
    # so its success says nothing about whether the host would take more (no increase counts it).
    idle: bool = False


@dataclass(frozen=True)
class RateChange:
    """Passed to `on_change` so the caller can persist the rate and update metrics."""

    host: str
    old_rate: float
    new_rate: float
    reason: Literal["decrease", "increase"]
    burst: int  # the learned burst after the change (persisted with the rate)


# Sync on purpose: the callback runs inside a state transition, and an await there would let other
# 429s interleave with a half-applied cut. A caller whose store is async hands off (a task, a queue).
OnChange = Callable[[RateChange], None]


class RateLimitWaitExceeded(ScrapeError):
    """Waiting for a token or for a Retry-After pause would pass the caller's deadline.

    It is a `rate_limited` failure: the run ends honestly instead of overshooting its deadline.
    """

    def __init__(self, host: str, needed: float, *, paused: bool) -> None:
        self.host = host
        self.needed = needed  # seconds from the moment of refusal until a grant was possible
        self.paused = paused  # True when a Retry-After pause was (part of) the wait
        cause = "Retry-After pause" if paused else "rate limit"
        super().__init__(
            Outcome.RATE_LIMITED, f"{cause} for {host} needs {needed:.2f}s more, past the deadline"
        )


@dataclass(eq=False)  # identity equality: the queue removes this waiter, not an equal-looking one
class _Waiter:
    turn: asyncio.Future[None]  # resolved when this waiter reaches the head of the queue
    deadline: float | None
    due: float = math.inf  # the queue's order: earliest due first, then first come (see `acquire`)


def queue_position(dues: Sequence[float], due: float | None) -> int:
    """Where a waiter that is `due` joins a queue whose waiters are `dues`, head first: behind the
    head (which holds the next turn and may be asleep for it), behind every waiter due no later,
    ahead of the rest. `due` None: at the back, first come first served."""
    if due is None or not dues:
        return len(dues)
    position = 1
    while position < len(dues) and dues[position] <= due:
        position += 1
    return position


class AdaptiveLimiter:
    """A token bucket for one host whose rate is cut on 429 events and raised after success runs."""

    def __init__(
        self,
        host: str,
        settings: RateSettings,
        *,
        initial_rate: float | None = None,
        initial_burst: int | None = None,
        on_change: OnChange | None = None,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.host = host
        self.settings = settings
        # A persisted rate may come from an older config or a corrupt store: clamp it, and ignore
        # non-numbers rather than let NaN poison every later comparison.
        if initial_rate is None or not math.isfinite(initial_rate):
            self._rate = settings.rate
        else:
            self._rate = settings.clamp(initial_rate)
        self._burst = settings.burst if initial_burst is None else min(settings.burst, max(1, initial_burst))
        self._on_change = on_change
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self._burst)
        self._updated = clock()
        self._paused_until = -math.inf
        self._generation = 0
        self._grants = 0  # grants so far: the number in each ticket's slot
        self._successes = 0
        self._increase_after = settings.successes_to_increase  # successes before the next increase
        self._queue: deque[_Waiter] = deque()

    @property
    def rate(self) -> float:
        """Current requests per second (a gauge for metrics)."""
        return self._rate

    @property
    def burst(self) -> int:
        """Tokens the bucket holds at most now: the configured burst, halved by cuts."""
        return self._burst

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def clock(self) -> MonotonicClock:
        """The clock deadlines given to this limiter are read on."""
        return self._clock

    @property
    def paused_until(self) -> float:
        """Monotonic time before which nothing is granted (-inf when never paused)."""
        return self._paused_until

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def acquire(self, *, deadline: float | None = None, due: float | None = None) -> Ticket:
        """Wait for a token, earliest `due` first, then first come first served.

        `deadline` is a time on this limiter's monotonic clock. When the wait would pass it, raise
        `RateLimitWaitExceeded` at once instead of sleeping into the overshoot. `due` (same clock)
        orders the waiters: the fetcher gives a request its job's deadline, so the job nearest its
        deadline goes first (one job's fan-out of ten requests no longer queues ahead of another
        job's last page), and a job's first request to the host a due date soon after it starts, so
        a one-request job is not stuck behind a long job's backlog. Without `due`: at the back.
        """
        now = self._clock()
        if not self._queue:
            # The common case, a token at hand: what _wait_for(1) and the deadline check below
            # would conclude, without computing a wait.
            self._refill(now)
            if (
                self._tokens >= 1.0 - _EPSILON
                and self._paused_until <= now
                and (deadline is None or now <= deadline)
            ):
                return self._take(idle=True)
        position = queue_position([w.due for w in self._queue], due)
        wait = self._wait_for(position + 1, now)
        self._check_deadline(wait, now, deadline)
        if not self._queue and wait <= 0:
            return self._take(idle=True)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), deadline, math.inf if due is None else due)
        self._queue.insert(position, waiter)
        if position < len(self._queue) - 1:
            # Waiters now behind this one wait a turn longer: fail the ones that cannot make it.
            self._expire_unreachable(now)
        try:
            if self._queue[0] is not waiter:
                await waiter.turn
            # Only the head gets here. It re-reads the state after every sleep because a cut, a rise
            # or a pause may have happened meanwhile.
            while True:
                now = self._clock()
                wait = self._wait_for(1, now)
                if wait <= 0:
                    return self._take()
                self._check_deadline(wait, now, deadline)
                await self._sleep(wait)
        finally:
            self._leave(waiter)

    def refund(self, ticket: Ticket) -> None:
        """Give back the token of a request that never reached the host (its proxy failed or its
        circuit opened while it waited): at a slow host a lost token costs a whole interval.

        Only the last grant comes back, once (as the fleet-wide budget's refund): a turn given back
        after others were granted, say after its proxy hung for seconds, would be a token on top of
        the ones granted meanwhile, two sends within one interval at a host held at its rate.
        """
        if ticket.slot != self._grants:
            return
        self._grants += 1  # given back: no longer the last grant
        self._refill(self._clock())
        self._tokens = min(float(self._burst), self._tokens + 1.0)

    def keep(self, ticket: Ticket) -> Ticket | None:
        """A turn for the next route of a request that never reached the host (its proxy failed),
        or None: it queues again, in its job's place (`acquire`'s `due`). The turn goes back
        (`refund`), and the request gets one at once only when the host would grant one now anyway:
        nobody waiting, no pause, no cut since, a token at hand. A turn kept across a long failure
        (a proxy that hung for seconds) would be sent on top of every turn granted meanwhile: two
        requests at the host within one interval, a 429 at a host held at its limit.
        """
        now = self._clock()
        self.refund(ticket)
        self._refill(now)
        if (
            ticket.generation == self._generation
            and self._paused_until <= now
            and not self._queue
            and self._tokens >= 1.0 - _EPSILON
        ):
            return self._take()
        return None

    def on_rate_limited(self, ticket: Ticket, retry_after: float | None = None) -> bool:
        """Record a 429 for a request sent under `ticket`. Returns True when this event cut the rate.

        Only a ticket of the current generation cuts: the concurrent 429s of one burst were all sent
        before the first of them was seen, so they are one event. A positive Retry-After pauses the
        whole host whatever the generation, because the server said so.
        """
        now = self._clock()
        self._refill(now)
        self._successes = 0
        old, old_burst = self._rate, self._burst
        cut = ticket.generation == self._generation
        if cut:
            self._generation += 1
            self._rate = max(self.settings.floor, self._rate * self.settings.decrease_factor)
            self._burst = cut_burst(self._burst, self.settings.decrease_factor)
            self._increase_after = self.settings.successes_to_increase * HOLD_AFTER_CUT
            # The stored burst was earned at the rate the server just refused; keep one probe only.
            self._tokens = min(self._tokens, 1.0)
        self._hold(now, retry_after)
        self._expire_unreachable(now)
        if (self._rate, self._burst) != (old, old_burst):
            self._notify(old, "decrease")
        return cut

    def pause(self, retry_after: float) -> None:
        """Hold every grant for `retry_after` seconds from now, leaving the rate as it is: a 503 with
        Retry-After says when the host will serve again, not that we sent too fast."""
        now = self._clock()
        self._refill(now)
        self._hold(now, retry_after)
        self._expire_unreachable(now)

    def _hold(self, now: float, retry_after: float | None) -> None:
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            self._paused_until = max(self._paused_until, now + retry_after)
            self._tokens = min(self._tokens, 1.0)

    def on_success(self, ticket: Ticket) -> bool:
        """Record a success. Returns True when it completed a run and raised the rate (or the burst).

        Only successes the rate limited count (`Ticket.idle`), and after a cut a run is
        `HOLD_AFTER_CUT` times longer: a rate is raised on evidence that it binds, not by a host's
        idle hours, and not straight back into the 429 that cut it.
        """
        if ticket.generation != self._generation or ticket.idle:
            return False  # sent before the last cut, or not paced by the rate: no evidence
        self._successes += 1
        if self._successes < self._increase_after:
            return False
        self._successes = 0
        self._increase_after = self.settings.successes_to_increase
        new = min(self.settings.ceiling, self._rate + self.settings.increase_step)
        burst = min(self.settings.burst, self._burst + 1)
        if (new, burst) == (self._rate, self._burst):
            return False
        self._refill(self._clock())  # tokens earned so far were earned at the old rate
        old, self._rate, self._burst = self._rate, new, burst
        self._notify(old, "increase")
        return True

    def _refill(self, now: float) -> None:
        """Credit tokens earned since the last update. During a pause at most one is earned, so the
        host does not restart with a full burst the moment Retry-After ends."""
        if now <= self._updated:
            return
        if self._paused_until > self._updated:
            until = min(now, self._paused_until)
            self._tokens = min(1.0, self._tokens + (until - self._updated) * self._rate)
            self._updated = until
        self._tokens = min(float(self._burst), self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _wait_for(self, k: int, now: float) -> float:
        """Seconds from `now` until the k-th next grant, if nothing changes meanwhile."""
        self._refill(now)
        start = max(now, self._paused_until)
        tokens = self._tokens
        if start > now:
            tokens = min(1.0, tokens + (start - now) * self._rate)
        missing = k - tokens
        if missing <= _EPSILON:
            return start - now
        return start - now + missing / self._rate

    def _check_deadline(self, wait: float, now: float, deadline: float | None) -> None:
        if deadline is not None and now + wait > deadline:
            raise RateLimitWaitExceeded(self.host, wait, paused=self._paused_until > now)

    def _take(self, *, idle: bool = False) -> Ticket:
        self._tokens = max(0.0, self._tokens - 1.0)
        self._grants += 1
        return Ticket(self._generation, slot=self._grants, idle=idle)

    def _leave(self, waiter: _Waiter) -> None:
        was_head = bool(self._queue) and self._queue[0] is waiter
        if waiter in self._queue:  # an expired waiter was already removed
            self._queue.remove(waiter)
        if was_head:
            self._wake_head()
        if waiter.turn.done() and not waiter.turn.cancelled():
            waiter.turn.exception()  # mark retrieved: a waiter cancelled after expiry must not warn

    def _wake_head(self) -> None:
        if self._queue and not self._queue[0].turn.done():
            self._queue[0].turn.set_result(None)

    def _expire_unreachable(self, now: float) -> None:
        """After a cut or a pause, fail the queued waiters whose deadline can no longer be met.

        The head re-checks its own deadline when its sleep ends (that sleep was already checked
        against it); followers are not running, so without this they would overshoot.
        """
        ahead = 0
        for index, waiter in enumerate(list(self._queue)):
            wait = self._wait_for(ahead + 1, now)
            reachable = waiter.deadline is None or now + wait <= waiter.deadline
            if reachable:
                ahead += 1
            elif index > 0:
                self._queue.remove(waiter)
                if not waiter.turn.done():
                    waiter.turn.set_exception(
                        RateLimitWaitExceeded(self.host, wait, paused=self._paused_until > now)
                    )

    def _notify(self, old: float, reason: Literal["decrease", "increase"]) -> None:
        if self._on_change is not None:
            self._on_change(RateChange(self.host, old, self._rate, reason, self._burst))


def cut_burst(burst: int, factor: float) -> int:
    """The burst after a 429: cut as the rate is (rounded down), never below 1."""
    return max(1, math.floor(burst * factor))


def jittered(retry_after: float | None, rng: random.Random, *, within: float | None = None) -> float | None:
    """A positive Retry-After lengthened by up to RETRY_AFTER_JITTER of itself, at random.

    `within` is the asking job's time left: the jitter never takes the pause past it (the
    Retry-After itself may, and the job then fails at once; a wait the server's ask fits in must not
    fail the job because of a spread added here). It is never shortened.
    """
    if retry_after is None or not math.isfinite(retry_after) or retry_after <= 0:
        return retry_after
    lengthened = retry_after * (1.0 + rng.uniform(0.0, RETRY_AFTER_JITTER))
    if within is not None:
        lengthened = min(lengthened, max(retry_after, within))
    return lengthened


def least_seconds(settings: RateSettings, requests: int) -> float:
    """The shortest time `requests` requests to one host can take: a full bucket spent at once, the
    rest at the highest rate the host is configured to allow (its ceiling). Up-front admission
    refuses a job only when even this is longer than its deadline, so it never refuses one that
    could have fit."""
    return max(0, requests - settings.burst) / settings.ceiling


class HostLimiter(Protocol):
    """One host's budget as the fetcher uses it, wherever it lives: this process (`LocalLimiter`)
    or the fleet's Redis (`fleet_budget.SharedLimiter`)."""

    host: str
    settings: RateSettings

    @property
    def rate(self) -> float: ...

    async def acquire(self, *, deadline: float | None = None, due: float | None = None) -> Ticket:
        """The host's next turn, earliest `due` first (`AdaptiveLimiter.acquire`), never past
        `deadline`."""
        ...

    async def refund(self, ticket: Ticket) -> None: ...

    async def keep(self, ticket: Ticket) -> Ticket | None:
        """A turn whose request never reached the host: a turn its next route may use at once, or
        None: it was given back, and the request queues again."""
        ...

    async def on_success(self, ticket: Ticket) -> bool: ...

    async def on_rate_limited(
        self, ticket: Ticket, retry_after: float | None = None, *, deadline: float | None = None
    ) -> bool:
        """A 429: cut the rate once per event; a positive Retry-After pauses the host (jittered,
        the jitter never past `deadline`, the asking job's, on this limiter's clock)."""
        ...

    async def pause(self, retry_after: float, *, deadline: float | None = None) -> None:
        """A Retry-After on anything but a 429 (a 503): pause the host, jittered as above, rate
        unchanged."""
        ...


class LocalLimiter:
    """A `HostLimiter` kept in this process (memory and SQLite state): an `AdaptiveLimiter`, with
    jitter on Retry-After. Its transitions stay synchronous; only the protocol is async."""

    def __init__(self, limiter: AdaptiveLimiter, rng: random.Random | None = None) -> None:
        self.limiter = limiter
        self.host = limiter.host
        self.settings = limiter.settings
        self._rng = rng or random.Random()

    @property
    def rate(self) -> float:
        return self.limiter.rate

    async def acquire(self, *, deadline: float | None = None, due: float | None = None) -> Ticket:
        return await self.limiter.acquire(deadline=deadline, due=due)

    async def refund(self, ticket: Ticket) -> None:
        self.limiter.refund(ticket)

    async def keep(self, ticket: Ticket) -> Ticket | None:
        return self.limiter.keep(ticket)

    async def on_success(self, ticket: Ticket) -> bool:
        return self.limiter.on_success(ticket)

    async def on_rate_limited(
        self, ticket: Ticket, retry_after: float | None = None, *, deadline: float | None = None
    ) -> bool:
        return self.limiter.on_rate_limited(ticket, self._jittered(retry_after, deadline))

    async def pause(self, retry_after: float, *, deadline: float | None = None) -> None:
        pause = self._jittered(retry_after, deadline)
        if pause is not None:
            self.limiter.pause(pause)

    def _jittered(self, retry_after: float | None, deadline: float | None) -> float | None:
        within = None if deadline is None else deadline - self.limiter.clock()
        return jittered(retry_after, self._rng, within=within)
