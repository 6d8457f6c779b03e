"""Every Retry-After is honoured, on a 429 and on a 503, as delta-seconds or as an HTTP date; one
that cannot fit the job's deadline fails the job at once with the attempt's class; an absent or
unusable one gets jittered exponential backoff (full jitter; after a 429 never less than half of
`backoff_initial`, so never an immediate retry).

A real Fetcher against a loopback Upstream. Every wait the core takes goes through its injectable
`sleep`, recorded here and then really slept, so the tests read the waits the core asked for and,
independently, when the upstream saw each request. Timing is only asserted as a lower bound the
server's ask guarantees (the retry cannot arrive before it), never as an upper bound.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import SourcePolicy
from tests.harness import Behaviour, Upstream, respond, respond_json, sequence
from tests.harness._server import LoopbackServer
from tests.integration.test_core_scenarios import BASE, FAST, HOST, OK_BODY, PATH

pytestmark = pytest.mark.integration

OTHER_PATH = "/v1/teams"
HANG_GUARD_SECONDS = 60.0


def policy(**overrides: Any) -> SourcePolicy:
    settings: dict[str, Any] = {
        "name": "test",
        "default_timeout": 5.0,
        # A backoff far shorter than any Retry-After here: a retry paced by it instead of by the
        # server's ask arrives long before the ask is over.
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "rate": FAST,
    }
    return SourcePolicy(**{**settings, **overrides})


@dataclass
class Waits:
    """The core's sleep: records what it was asked, then sleeps it for real."""

    asked: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(seconds)


@dataclass
class World:
    upstream: Upstream
    fetcher: Fetcher
    waits: Waits
    log: AttemptLog = field(default_factory=AttemptLog)

    async def fetch(self, pol: SourcePolicy, path: str = PATH) -> Page:
        request = Request(BASE + path)
        return await asyncio.wait_for(
            self.fetcher.fetch(request, pol, self.log, self.fetcher.budget(pol)), HANG_GUARD_SECONDS
        )

    async def fail(self, pol: SourcePolicy) -> ScrapeError:
        with pytest.raises(ScrapeError) as caught:
            await self.fetch(pol)
        return caught.value

    def outcomes(self) -> list[Outcome]:
        return [attempt.outcome for attempt in self.log.attempts]

    def gap(self, path: str = PATH) -> float:
        """Seconds between the upstream's first two arrivals on `path`."""
        first, second = [r.at for r in self.upstream.requests if r.path == path][:2]
        return second - first


@asynccontextmanager
async def world(routes: dict[str, Behaviour]) -> AsyncIterator[World]:
    waits = Waits()
    async with Upstream(routes) as upstream:
        fetcher = Fetcher(upstream_overrides={BASE: upstream.url}, sleep=waits.sleep)
        try:
            yield World(upstream, fetcher, waits)
        finally:
            await fetcher.aclose()


def ok() -> Behaviour:
    return respond_json(OK_BODY)


class DatedRefusal(Behaviour):
    """`status` with Retry-After as an HTTP date `ahead` seconds from when it answers (whole seconds,
    as the format has them), then OK; keeps each request's wall-clock arrival and the date sent."""

    def __init__(self, status: int, ahead: float) -> None:
        self.status = status
        self.ahead = ahead
        self.arrivals: list[float] = []
        self.date: float | None = None

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        self.arrivals.append(time.time())
        if len(self.arrivals) > 1:
            return await ok().handle(request, server)
        self.date = math.floor(time.time() + self.ahead)
        header = email.utils.formatdate(self.date, usegmt=True)
        return web.Response(status=self.status, text="come back later", headers={"Retry-After": header})


def _run(scenario: Any) -> None:
    asyncio.run(scenario())


# --- honoured: both statuses, both forms ---------------------------------------------------------------


@pytest.mark.parametrize(("status", "outcome"), [(503, Outcome.TRANSIENT), (429, Outcome.RATE_LIMITED)])
def test_a_retry_after_in_seconds_holds_the_retry_that_long(status: int, outcome: Outcome) -> None:
    async def scenario() -> None:
        route = sequence([respond(status, "come back later", {"Retry-After": "1"}), ok()])
        async with world({PATH: route}) as w:
            pol = policy()
            page = await w.fetch(pol)

            assert page.data == OK_BODY
            assert w.outcomes() == [outcome, Outcome.OK]
            assert w.gap() >= 1.0  # the retry never reached the host before the second was over
            # The wait came from the server's ask, not from the backoff (at most 0.05 s here).
            assert max(w.waits.asked) > pol.backoff_max

    _run(scenario)


@pytest.mark.parametrize("status", [503, 429])
def test_a_retry_after_as_an_http_date_holds_the_retry_until_that_moment(status: int) -> None:
    async def scenario() -> None:
        dated = DatedRefusal(status, ahead=1.5)
        async with world({PATH: dated}) as w:
            page = await w.fetch(policy())

            assert page.data == OK_BODY
            assert dated.date is not None
            assert len(dated.arrivals) == 2
            assert dated.arrivals[1] >= dated.date  # not before the date the server named

    _run(scenario)


def test_a_503_retry_after_pauses_every_request_to_the_host() -> None:
    """The host said when it serves again: another request to it, started during the pause, waits
    for the same moment instead of drawing its own 503."""

    async def scenario() -> None:
        route = sequence([respond(503, "", {"Retry-After": "1"}), ok()])
        async with world({PATH: route, OTHER_PATH: ok()}) as w:
            pol = policy()
            first = asyncio.create_task(w.fetch(pol))
            deadline = time.monotonic() + HANG_GUARD_SECONDS
            # The 503 came back: it is logged, and (this process's limiter, no await in between)
            # the pause is set before this task runs again.
            while not w.log.attempts:
                assert time.monotonic() < deadline, "the first request never got its 503"
                await asyncio.sleep(0.005)
            await w.fetch(pol, OTHER_PATH)
            await first

            refused = next(r.at for r in w.upstream.requests if r.path == PATH)
            other = next(r.at for r in w.upstream.requests if r.path == OTHER_PATH)
            assert other - refused >= 1.0
            assert w.fetcher.rates() == {HOST: FAST.rate}  # a pause, not a cut: the host was down

    _run(scenario)


# --- asked waits that cannot fit the deadline --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "header", "outcome"),
    [
        (503, "120", Outcome.TRANSIENT),
        (503, "date", Outcome.TRANSIENT),
        (429, "date", Outcome.RATE_LIMITED),
    ],
)
def test_a_retry_after_past_the_deadline_fails_at_once_with_the_attempts_class(
    status: int, header: str, outcome: Outcome
) -> None:
    async def scenario() -> None:
        value = email.utils.formatdate(time.time() + 600, usegmt=True) if header == "date" else header
        async with world({PATH: respond(status, "", {"Retry-After": value})}) as w:
            error = await w.fail(policy(deadline_seconds=30.0))

            assert error.outcome is outcome
            assert "exceeds" in str(error)
            assert w.upstream.count() == 1
            assert w.waits.asked == []  # nothing was waited for: the job ended at once

    _run(scenario)


# --- no usable Retry-After: jittered exponential backoff ---------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "soon", "0", "-5", "Mon, 01 Jan 2001 00:00:00 GMT"],
    ids=["absent", "not-a-number", "zero", "negative", "date-gone-by"],
)
def test_a_429_without_a_usable_retry_after_backs_off_instead_of_retrying_at_once(header: str | None) -> None:
    async def scenario() -> None:
        headers = {} if header is None else {"Retry-After": header}
        async with world({PATH: sequence([respond(429, "", headers), ok()])}) as w:
            pol = policy(backoff_initial=0.2, backoff_max=0.4)
            page = await w.fetch(pol)

            assert page.data == OK_BODY
            assert w.outcomes() == [Outcome.RATE_LIMITED, Outcome.OK]
            (asked,) = w.waits.asked  # one backoff, asked of the core's sleep
            # The first step's window, from half of it up: jittered, and never at once.
            assert pol.backoff_initial / 2 <= asked <= pol.backoff_initial
            assert w.gap() >= asked

    _run(scenario)


def test_503s_without_retry_after_back_off_within_exponentially_growing_windows() -> None:
    async def scenario() -> None:
        route = sequence([respond(503), respond(503), respond(503), ok()])
        async with world({PATH: route}) as w:
            pol = policy(backoff_initial=0.05, backoff_max=0.15, transient_retries=3)
            page = await w.fetch(pol)

            assert page.data == OK_BODY
            windows = [0.05, 0.1, 0.15]  # backoff_initial doubled per retry, capped at backoff_max
            assert len(w.waits.asked) == len(windows)
            assert all(0 <= asked <= window for asked, window in zip(w.waits.asked, windows, strict=True))
            arrivals = [r.at for r in w.upstream.requests]
            gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
            assert all(gap >= asked for gap, asked in zip(gaps, w.waits.asked, strict=True))

    _run(scenario)
