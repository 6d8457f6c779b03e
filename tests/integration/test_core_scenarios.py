"""The resilient core against faults on real loopback sockets: Fetcher -> forward proxies -> upstream.

Every request targets `https://api.courtside.test`; the upstream override of the core points it at
the loopback Upstream, exactly as an operator points the fleet at a simulator. Proxies are real
aiohttp forward proxies. Nothing of the core is mocked. No test sleeps: waits happen only where
the core itself must wait (a Retry-After of 1 s, a 0.2 s timeout against a hanging host).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from proxy.config import BreakerSettings, ProxyConfig, ProxyEndpoint, Tier
from proxy.pool import BREAKER_NAMESPACE
from proxy.state import MemoryStore, SqliteStore, StateStore
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request, SecretRef
from scrapers.http.attempts import AttemptLog
from scrapers.http.classify import SourceRules
from scrapers.http.fetch import LIMITER_NAMESPACE, Fetcher
from scrapers.http.policy import SourcePolicy
from scrapers.http.ratelimit import RateSettings
from tests.harness import (
    Behaviour,
    ForwardProxy,
    Upstream,
    hang,
    respond,
    respond_json,
    sequence,
)

pytestmark = pytest.mark.integration

BASE = "https://api.courtside.test"
HOST = "api.courtside.test"
PATH = "/v1/games"
OK_BODY = {"games": [{"id": 1}]}
# Fast enough that the limiter never shapes a scenario unless the scenario is about the limiter.
FAST = RateSettings(rate=1000.0, burst=100, ceiling=1000.0, floor=1.0, increase_step=1.0)
# Guard against a deadlock turning into a hung test run; never reached by a passing test.
HANG_GUARD_SECONDS = 60.0


def policy(tiers: Sequence[str] = ("direct",), **overrides: Any) -> SourcePolicy:
    settings: dict[str, Any] = {
        "name": "test",
        "tiers": tuple(tiers),
        "start_tier": tiers[0],
        "default_timeout": 5.0,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "rate": FAST,
    }
    return SourcePolicy(**{**settings, **overrides})


def ok(payload: Any = None) -> Behaviour:
    return respond_json(OK_BODY if payload is None else payload)


@dataclass
class World:
    upstream: Upstream
    proxies: dict[str, ForwardProxy]
    fetcher: Fetcher
    store: StateStore
    log: AttemptLog = field(default_factory=AttemptLog)

    @property
    def target(self) -> str:
        """What a forward proxy sees as the target host of our requests."""
        return f"127.0.0.1:{self.upstream.port}"

    async def fetch(self, pol: SourcePolicy, path: str = PATH) -> Page:
        request = Request(BASE + path)
        return await asyncio.wait_for(
            self.fetcher.fetch(request, pol, self.log, self.fetcher.budget(pol)), HANG_GUARD_SECONDS
        )

    async def fail(self, pol: SourcePolicy, path: str = PATH) -> ScrapeError:
        with pytest.raises(ScrapeError) as caught:
            await self.fetch(pol, path)
        assert caught.value.outcome is not Outcome.NO_DATA
        return caught.value

    def tiers_tried(self) -> list[str]:
        return [attempt.tier for attempt in self.log.attempts]

    def outcomes(self) -> list[Outcome]:
        return [attempt.outcome for attempt in self.log.attempts]


@asynccontextmanager
async def world(
    routes: dict[str, Behaviour],
    tiers: Sequence[tuple[str, Sequence[str]]] = (("direct", ()),),
    breaker: BreakerSettings | None = None,
    store: StateStore | None = None,
) -> AsyncIterator[World]:
    """An upstream, one ForwardProxy per proxy name, and a Fetcher wired to them."""
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(Upstream(routes))
        proxies: dict[str, ForwardProxy] = {}
        config_tiers = []
        for tier_name, names in tiers:
            endpoints = []
            for name in names:
                proxies[name] = await stack.enter_async_context(ForwardProxy(name))
                endpoints.append(ProxyEndpoint(name, tier_name, proxies[name].url))
            config_tiers.append(Tier(tier_name, tuple(endpoints)))
        config = ProxyConfig(tuple(config_tiers), breaker or BreakerSettings())
        state = store or MemoryStore()
        fetcher = Fetcher(proxies=config, store=state, upstream_overrides={BASE: upstream.url})
        stack.push_async_callback(fetcher.aclose)
        yield World(upstream, proxies, fetcher, state)


def _run(scenario: Any) -> None:
    asyncio.run(scenario())


# --- 403 from a proxy: escalate, remember, drift back ----------------------------------------------


def test_403_from_a_datacenter_proxy_escalates_and_later_requests_start_at_residential() -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        async with world({PATH: ok()}, tiers) as w:
            w.proxies["dc1"].forbid_hosts({w.target})
            pol = policy(["datacenter", "residential"])

            page = await w.fetch(pol)

            assert page.data == OK_BODY
            assert page.outcome is Outcome.OK
            assert w.outcomes() == [Outcome.BLOCKED, Outcome.OK]
            assert w.tiers_tried() == ["datacenter", "residential"]
            # The job needed two requests: one refused by the datacenter proxy, one that reached
            # the upstream through the residential proxy.
            assert [r.outcome for r in w.proxies["dc1"].requests] == ["forbidden"]
            assert w.upstream.proxies() == Counter({"res1": 1})

            await w.fetch(pol)

            # Not asked again: the tier's evidence remembers (a one-proxy tier is blocked by its only
            # proxy; how traffic comes back by probing is in tests/integration/test_proxy_faults.py).
            assert len(w.proxies["dc1"].requests) == 1
            assert w.upstream.proxies() == Counter({"res1": 2})
            assert w.tiers_tried()[2:] == ["residential"]

    _run(scenario)


def test_403_on_every_tier_is_structural_not_blocked() -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        async with world({PATH: respond(403, "Forbidden")}, tiers) as w:
            error = await w.fail(policy(["datacenter", "residential"]))

            assert error.outcome is Outcome.STRUCTURAL
            assert "403 on every tier" in str(error)
            assert w.upstream.proxies() == Counter({"dc1": 1, "res1": 1})

    _run(scenario)


def test_a_host_that_hangs_on_every_tier_stays_blocked() -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        pol = policy(
            ["datacenter", "residential"],
            default_timeout=0.2,
            host_rules={HOST: SourceRules(hang_means_blocked=True)},
        )
        async with world({PATH: hang()}, tiers) as w:
            error = await w.fail(pol)

            assert error.outcome is Outcome.BLOCKED
            assert w.tiers_tried() == ["datacenter", "residential"]

    _run(scenario)


# --- per-proxy circuit breakers ----------------------------------------------------------------------


async def _age_breaker(w: World, key: str, seconds: float) -> None:
    """Move the breaker's opening back in time, as the reset timeout passing would."""
    stored = await w.store.get(BREAKER_NAMESPACE, key)
    assert stored is not None
    assert stored["state"] == "open"
    opened = datetime.fromisoformat(stored["opened_at"]) - timedelta(seconds=seconds)
    await w.store.put(BREAKER_NAMESPACE, key, {**stored, "opened_at": opened.isoformat()})


@pytest.mark.parametrize("fault", ["407", "refused"])
def test_failing_proxy_opens_its_breaker_is_skipped_and_one_probe_closes_it(fault: str) -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["bad", "good"]),)
        # A 407 opens the circuit at the first (no retry cures it); refusals after fail_max
        # consecutive ones, here one, so that one request shows both.
        settings = BreakerSettings(fail_max=3 if fault == "407" else 1, reset_seconds=300)
        async with world({PATH: ok()}, tiers, breaker=settings) as w:
            bad = w.proxies["bad"]
            if fault == "407":
                bad.auth_required()
            else:
                await bad.refuse()
            pol = policy(["datacenter"])

            assert (await w.fetch(pol)).data == OK_BODY
            key = f"datacenter/bad/{HOST}"
            stored = await w.store.get(BREAKER_NAMESPACE, key)
            assert stored is not None
            assert (stored["state"], stored["failures"]) == ("open", 1)
            assert w.outcomes() == [Outcome.PROXY, Outcome.OK]

            seen_by_bad = len(bad.requests)
            await w.fetch(pol)
            assert len(bad.requests) == seen_by_bad  # open: skipped, not tried "anyway"
            assert w.upstream.proxies() == Counter({"good": 2})

            if fault == "refused":
                await bad.accept()
            bad.healthy()
            await _age_breaker(w, key, 301)
            probes = await asyncio.gather(*(w.fetch(pol) for _ in range(5)))

            assert all(page.data == OK_BODY for page in probes)
            # Half-open admits exactly one probe; the concurrent requests went to the good proxy.
            assert w.upstream.proxies() == Counter({"good": 6, "bad": 1})
            closed = await w.store.get(BREAKER_NAMESPACE, key)
            assert closed is not None
            assert (closed["state"], closed["failures"]) == ("closed", 0)

            await w.fetch(pol)
            assert w.upstream.requests[-1].proxy == "bad"  # closed again: first in line

    _run(scenario)


def test_open_breakers_on_a_whole_tier_move_on_honestly_to_the_next_tier() -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        settings = BreakerSettings(fail_max=1, reset_seconds=300)
        async with world({PATH: ok()}, tiers, breaker=settings) as w:
            w.proxies["dc1"].auth_required()
            # Forget the tier score the 407 raised, so the second request starts at datacenter
            # again and only the open breaker can send it on.
            pol = policy(["datacenter", "residential"])
            await w.fetch(pol)
            await w.store.delete("tier", HOST)

            await w.fetch(pol)

            assert len(w.proxies["dc1"].requests) == 1
            assert w.tiers_tried() == ["datacenter", "residential", "residential"]

    _run(scenario)


def test_every_circuit_open_fails_as_proxy_without_sending() -> None:
    async def scenario() -> None:
        settings = BreakerSettings(fail_max=1, reset_seconds=300)
        async with world({PATH: ok()}, (("datacenter", ["dc1"]),), breaker=settings) as w:
            w.proxies["dc1"].auth_required()
            pol = policy(["datacenter"])
            assert (await w.fail(pol)).outcome is Outcome.PROXY

            error = await w.fail(pol)

            assert error.outcome is Outcome.PROXY
            assert "open circuit" in str(error)
            assert len(w.proxies["dc1"].requests) == 1
            assert w.upstream.count() == 0

    _run(scenario)


# --- 429 and the adaptive limiter ---------------------------------------------------------------------


def test_429_with_retry_after_waits_at_least_that_long_then_succeeds() -> None:
    async def scenario() -> None:
        route = sequence([respond(429, "slow down", {"Retry-After": "1"}), ok()])
        async with world({PATH: route}) as w:
            page = await w.fetch(policy())

            assert page.data == OK_BODY
            first, second = w.upstream.requests
            assert second.at - first.at >= 1.0
            # The job needed two upstream requests: the 429 and the retry after the pause.
            assert w.outcomes() == [Outcome.RATE_LIMITED, Outcome.OK]
            assert w.tiers_tried() == ["direct", "direct"]

    _run(scenario)


def test_a_burst_of_429s_cuts_the_rate_once() -> None:
    async def scenario() -> None:
        burst = 5
        rate = RateSettings(rate=100.0, burst=burst, ceiling=200.0, floor=1.0, increase_step=10.0)
        route = sequence([*[respond(429, "", {"Retry-After": "1"})] * burst, ok()])
        async with world({PATH: route}) as w:
            pages = await asyncio.gather(*(w.fetch(policy(rate=rate)) for _ in range(burst)))

            assert all(page.data == OK_BODY for page in pages)
            assert w.fetcher.rates() == {HOST: 50.0}  # halved once, not 100 * 0.5**5
            assert w.upstream.count() == 2 * burst
            retried = sorted(r.at for r in w.upstream.requests)[burst:]
            first_429 = min(r.at for r in w.upstream.requests)
            assert min(retried) - first_429 >= 1.0  # every retry honoured the host-wide pause

    _run(scenario)


def test_the_next_process_starts_from_the_learned_rate_and_burst(tmp_path: Path) -> None:
    # One-job containers: each process is new, so what a 429 taught must come from the store. A
    # process starting with the configured burst would send at once what the host just refused.
    rate = RateSettings(rate=10.0, burst=5, ceiling=10.0, floor=1.0, increase_step=1.0)

    async def scenario() -> None:
        first = SqliteStore(tmp_path / "state.db")
        try:
            route = sequence([respond(429, ""), ok()])
            async with world({PATH: route}, store=first) as w:
                await w.fetch(policy(rate=rate))
        finally:
            await first.aclose()

        second = SqliteStore(tmp_path / "state.db")
        try:
            assert await second.get(LIMITER_NAMESPACE, HOST) == {"rate": 5.0, "burst": 2}
            async with world({PATH: ok()}, store=second) as w:
                started = time.monotonic()
                await asyncio.gather(*(w.fetch(policy(rate=rate)) for _ in range(5)))
                # Two at once (the learned burst), then one per 0.2 s (the learned rate): the
                # fifth is granted 0.6 s after the first. With the configured burst of 5 all five
                # would go at once.
                assert time.monotonic() - started >= (5 - 2) / 5.0
                assert w.upstream.count() == 5
        finally:
            await second.aclose()

    _run(scenario)


def test_retry_after_longer_than_the_time_left_ends_rate_limited_at_once() -> None:
    async def scenario() -> None:
        async with world({PATH: respond(429, "", {"Retry-After": "120"})}) as w:
            error = await w.fail(policy(deadline_seconds=30.0))

            assert error.outcome is Outcome.RATE_LIMITED
            assert "exceeds" in str(error)
            assert w.upstream.count() == 1

    _run(scenario)


def test_persistent_429_exhausts_the_budget_as_rate_limited_never_no_data() -> None:
    async def scenario() -> None:
        async with world({PATH: respond(429, "")}) as w:
            error = await w.fail(policy(retry_budget=3))

            assert error.outcome is Outcome.RATE_LIMITED
            assert w.upstream.count() == 4  # the first try and the budget's three retries

    _run(scenario)


# --- transient failures, hangs, deadlines -------------------------------------------------------------


def test_503_is_retried_on_the_same_tier_without_escalating() -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        route = sequence([respond(503), respond(503), ok()])
        async with world({PATH: route}, tiers) as w:
            page = await w.fetch(policy(["datacenter", "residential"]))

            assert page.data == OK_BODY
            assert w.tiers_tried() == ["datacenter"] * 3
            assert w.proxies["res1"].requests == []
            assert await w.fetcher.pool.evidence(HOST) == {}  # origin 5xx are no evidence against a tier

    _run(scenario)


def test_503_that_never_ends_fails_transient_on_the_same_tier() -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        async with world({PATH: respond(503)}, tiers) as w:
            error = await w.fail(policy(["datacenter", "residential"], transient_retries=3))

            assert error.outcome is Outcome.TRANSIENT
            assert w.upstream.proxies() == Counter({"dc1": 4})
            assert w.proxies["res1"].requests == []

    _run(scenario)


def test_hanging_host_marked_hang_means_blocked_is_blocked() -> None:
    async def scenario() -> None:
        pol = policy(default_timeout=0.2, host_rules={HOST: SourceRules(hang_means_blocked=True)})
        async with world({PATH: hang()}) as w:
            error = await w.fail(pol)

            assert error.outcome is Outcome.BLOCKED
            assert w.upstream.count() == 1  # blocked moves on; it is never retried on the same route

    _run(scenario)


def test_hanging_host_without_the_rule_is_transient() -> None:
    async def scenario() -> None:
        async with world({PATH: hang()}) as w:
            error = await w.fail(policy(default_timeout=0.2, transient_retries=1))

            assert error.outcome is Outcome.TRANSIENT
            assert w.upstream.count() == 2

    _run(scenario)


def test_deadline_reached_fails_with_its_class() -> None:
    async def scenario() -> None:
        async with world({PATH: hang()}) as w:
            # 2 s, not less: on a loaded machine a shorter deadline could end before the first
            # request reaches the upstream, and the test is about attempts cut to the time left.
            error = await w.fail(policy(deadline_seconds=2.0, transient_retries=100, retry_budget=100))

            assert error.outcome is Outcome.TRANSIENT
            # Each attempt's timeout is cut to the time left, so the job ends at its deadline
            # instead of starting a fresh 5 s attempt.
            assert w.upstream.count() >= 1
            assert sum(attempt.seconds for attempt in w.log.attempts) < 5.0

    _run(scenario)


# --- load -----------------------------------------------------------------------------------------------


def test_100_concurrent_requests_share_one_limiter_and_breaker_set_without_exceeding_the_ceiling() -> None:
    async def scenario() -> None:
        burst, ceiling = 10, 200.0
        rate = RateSettings(rate=150.0, burst=burst, ceiling=ceiling, floor=1.0, increase_step=25.0)
        async with world({PATH: ok()}, (("datacenter", ["dc1"]),)) as w:
            started = time.monotonic()
            pages = await asyncio.gather(*(w.fetch(policy(["datacenter"], rate=rate)) for _ in range(100)))

            assert len(pages) == 100
            assert all(page.outcome is Outcome.OK for page in pages)
            assert w.upstream.proxies() == Counter({"dc1": 100})
            # A token bucket grants at most burst + ceiling * T in any T, so the last of 100 requests
            # cannot arrive before (100 - burst) / ceiling seconds have passed. Measured from before
            # the first grant to the last arrival, scheduling delays only lengthen the span, so
            # this holds on a loaded machine too; without a limiter all 100 arrive within ~0.1 s.
            last_arrival = max(r.at for r in w.upstream.requests)
            assert last_arrival - started >= (100 - burst) / ceiling
            assert w.fetcher.rates()[HOST] <= ceiling
            breaker = w.fetcher.pool.breakers()[0]
            assert breaker.state == "closed"

    _run(scenario)


def test_a_missing_api_key_fails_auth_without_counting_against_the_proxy() -> None:
    async def scenario() -> None:
        settings = BreakerSettings(fail_max=1, reset_seconds=300)
        async with world({PATH: ok()}, (("datacenter", ["dc1"]),), breaker=settings) as w:
            request = Request(BASE + PATH, secrets=(SecretRef(env="COURTSIDE_TEST_KEY", query="apiKey"),))
            pol = policy(["datacenter"])
            with pytest.raises(ScrapeError) as caught:
                await w.fetcher.fetch(request, pol, w.log, w.fetcher.budget(pol))

            assert caught.value.outcome is Outcome.AUTH
            assert w.proxies["dc1"].requests == []
            assert await w.store.get(BREAKER_NAMESPACE, f"datacenter/dc1/{HOST}") is None

    _run(scenario)


def test_a_failed_proxy_gives_its_rate_token_back() -> None:
    async def scenario() -> None:
        # One token per 1000 s: if the refused proxy kept its token, the next proxy's wait would
        # pass the deadline and the job would end rate_limited instead of succeeding.
        slow = RateSettings(rate=0.001, burst=1, ceiling=0.001, floor=0.001, increase_step=0.0)
        async with world({PATH: ok()}, (("datacenter", ["bad", "good"]),)) as w:
            await w.proxies["bad"].refuse()

            page = await w.fetch(policy(["datacenter"], rate=slow, deadline_seconds=30.0))

            assert page.data == OK_BODY
            assert w.outcomes() == [Outcome.PROXY, Outcome.OK]

    _run(scenario)


def test_running_out_of_time_while_pacing_retries_keeps_the_retry_cause() -> None:
    async def scenario() -> None:
        # One token per 2 s and 1 s left after the first 503: the retry cannot be paced within the
        # deadline. No 429 was ever seen, so the job failed transient, not rate_limited.
        paced = RateSettings(rate=0.5, burst=1, ceiling=0.5, floor=0.5, increase_step=0.0)
        async with world({PATH: respond(503)}) as w:
            error = await w.fail(policy(rate=paced, deadline_seconds=1.0, transient_retries=5))

            assert error.outcome is Outcome.TRANSIENT
            assert w.upstream.count() == 1

    _run(scenario)
