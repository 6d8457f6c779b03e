"""Proxy faults on real loopback sockets (issue 20): whose fault, which breaker, which tier.

Fetcher -> loopback forward proxies (tests/harness/forward_proxy.py) -> loopback upstream. Every
request targets `https://api.courtside.test`: forward-mode tests point it at the loopback upstream
(an upstream override, as an operator points the fleet at a simulator), so the proxies see
absolute-form http requests; the CONNECT tests leave it alone, so httpx asks the proxy for a
tunnel, which these proxies never open (no name resolution or TLS is involved). "The next process"
is a second Fetcher with its own store connection to the same SQLite file, which is all one
process shares with the next (tests/integration/test_core_jobs.py runs real `scrapers run`
processes for the same claim). Nothing of the core is mocked; the only waits are the core's own
(a 0.3 s timeout against a hanging proxy). The tier probes' clock is a test clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from proxy.breakers import BREAKER_NAMESPACE
from proxy.config import BreakerSettings, EscalationSettings, ProxyConfig, ProxyEndpoint, Tier
from proxy.pool import PoolSettings, ProxyPool
from proxy.state import SqliteStore, StateStore
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import SourcePolicy
from scrapers.http.ratelimit import RateSettings, Sleep
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics
from tests.harness import Behaviour, ForwardProxy, Upstream, respond, respond_json, sequence

pytestmark = pytest.mark.integration

BASE = "https://api.courtside.test"
HOST = "api.courtside.test"
PATH = "/v1/games"
OK_BODY = {"games": [{"id": 1}]}
FAST = RateSettings(rate=1000.0, burst=100, ceiling=1000.0, floor=1.0, increase_step=1.0)
TIMEOUT = 0.3  # every hang here costs exactly this: the core's own timeout
HANG_GUARD_SECONDS = 60.0  # a deadlock fails the test instead of hanging the run
COSTS = {"datacenter": 1.0, "residential": 10.0}
TWO_DC = (("datacenter", ("dc-a", "dc-b")), ("residential", ("res",)))


def policy(tiers: Sequence[str] = ("datacenter", "residential")) -> SourcePolicy:
    return SourcePolicy(
        name="test",
        tiers=tuple(tiers),
        start_tier=tiers[0],
        default_timeout=TIMEOUT,
        backoff_initial=0.01,
        backoff_max=0.05,
        rate=FAST,
    )


class Clock:
    """The pool's wall clock, moved by the test (breaker windows, tier probes, evidence decay)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Process:
    """One process of the fleet: its Fetcher over its own connection to the shared store."""

    fetcher: Fetcher
    store: StateStore
    metrics: FleetMetrics
    log: AttemptLog = field(default_factory=AttemptLog)

    async def fetch(self, pol: SourcePolicy | None = None, url: str = BASE + PATH) -> Page:
        pol = pol or policy()
        return await asyncio.wait_for(
            self.fetcher.fetch(Request(url), pol, self.log, self.fetcher.budget(pol)), HANG_GUARD_SECONDS
        )

    async def fail(self, pol: SourcePolicy | None = None, url: str = BASE + PATH) -> ScrapeError:
        with pytest.raises(ScrapeError) as caught:
            await self.fetch(pol, url)
        return caught.value

    def tried(self) -> list[tuple[str, Outcome]]:
        return [(attempt.tier, attempt.outcome) for attempt in self.log.attempts]

    def sent(self, name: str) -> float:
        return _sample(self.metrics, "scraper_proxy_requests_total", {"tier": name})


@dataclass
class World:
    upstream: Upstream
    proxies: dict[str, ForwardProxy]
    config: ProxyConfig
    clock: Clock
    stack: AsyncExitStack
    path: Path
    escalation: EscalationSettings
    processes: list[Process] = field(default_factory=list)

    @property
    def target(self) -> str:
        """What a forward proxy sees as the target host of our requests."""
        return f"127.0.0.1:{self.upstream.port}"

    async def process(self, *, forward: bool = True, sleep: Sleep = asyncio.sleep) -> Process:
        """A new process of the fleet: fresh Fetcher and pool, the same state file. `sleep`: every
        wait the core takes (as in production unless a test moves its clock with it)."""
        store = SqliteStore(self.path)
        self.stack.push_async_callback(store.aclose)
        settings = PoolSettings.of(self.config)
        pool = ProxyPool(self.config, store, settings, clock=self.clock)
        metrics = FleetMetrics()
        metrics.initialise([], self.config.names(), [], self.config.costs())
        fetcher = Fetcher(
            proxies=self.config,
            store=store,
            pool=pool,
            upstream_overrides={BASE: self.upstream.url} if forward else {},
            observer=FetchMetrics(metrics),
            sleep=sleep,
        )
        self.stack.push_async_callback(fetcher.aclose)
        process = Process(fetcher, store, metrics)
        self.processes.append(process)
        return process

    async def circuit(self, proxy: str, tier: str = "datacenter") -> dict[str, Any]:
        async with _store(self.path) as store:
            record = await store.get(BREAKER_NAMESPACE, f"{tier}/{proxy}/{HOST}")
        return record or {"state": "closed", "failures": 0}


@asynccontextmanager
async def _store(path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(path)
    try:
        yield store
    finally:
        await store.aclose()


@asynccontextmanager
async def world(
    tmp_path: Path,
    route: Behaviour | None = None,
    tiers: Sequence[tuple[str, Sequence[str]]] = TWO_DC,
    breaker: BreakerSettings | None = None,
    escalation: EscalationSettings | None = None,
) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(Upstream({PATH: route or respond_json(OK_BODY)}))
        proxies: dict[str, ForwardProxy] = {}
        config_tiers = []
        for tier, names in tiers:
            endpoints = []
            for name in names:
                proxies[name] = await stack.enter_async_context(ForwardProxy(name))
                endpoints.append(ProxyEndpoint(name, tier, proxies[name].url))
            config_tiers.append(Tier(tier, tuple(endpoints), COSTS[tier]))
        # No patience unless a test asks for it: these tests are about where a request goes next.
        escalation = escalation or EscalationSettings(
            probe_after_seconds=60.0, probe_every_requests=0, patience_seconds=0.0
        )
        config = ProxyConfig(tuple(config_tiers), breaker or BreakerSettings(), escalation)
        yield World(
            upstream, proxies, config, Clock(1_700_000_000.0), stack, tmp_path / "state.sqlite", escalation
        )


def _presumed_hung_after(reason: str) -> float:
    """The wait of an attempt cut as presumed hung, read from its reason."""
    match = re.fullmatch(r"no answer within ([0-9.]+)s through the proxy, presumed hung", reason)
    assert match is not None, reason
    return float(match.group(1))


def _sample(metrics: FleetMetrics, name: str, labels: dict[str, str]) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _run(scenario: Any) -> None:
    asyncio.run(scenario())


# --- timeouts and resets of the proxy hop -------------------------------------------------------------


def test_a_proxy_that_hangs_on_connect_is_a_proxy_fault_and_the_next_proxy_is_asked(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            w.proxies["dc-a"].hang()
            w.proxies["dc-b"].auth_required()
            w.proxies["res"].hang()
            one = await w.process(forward=False)  # https through a CONNECT tunnel

            error = await one.fail(policy(["datacenter"]))

            assert error.outcome is Outcome.PROXY
            assert one.tried() == [("datacenter", Outcome.PROXY), ("datacenter", Outcome.PROXY)]
            first, second = one.log.attempts
            assert "did not answer CONNECT" in first.reason
            assert "407" in second.reason
            # Both proxies were asked for a tunnel to the origin, never for the origin's page.
            assert [(r.method, r.target, r.outcome) for r in w.proxies["dc-a"].requests] == [
                ("CONNECT", f"{HOST}:443", "hung")
            ]
            assert [r.outcome for r in w.proxies["dc-b"].requests] == ["auth_failed"]
            # The hang is one failure on dc-a's circuit; the 407 opened dc-b's at once.
            assert (await w.circuit("dc-a"))["failures"] == 1
            assert (await w.circuit("dc-b"))["state"] == "open"
            assert await one.fetcher.pool.evidence(HOST) == {}  # no evidence against the tier
            assert w.upstream.count() == 0

    _run(scenario)


def test_a_proxy_that_hangs_on_read_moves_the_request_to_the_next_proxy(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            w.proxies["dc-a"].hang()
            one = await w.process()

            page = await one.fetch()

            assert page.data == OK_BODY
            # The issue-20 fault: this was `transient`, retried 4 times on the hanging proxy.
            assert one.tried() == [("datacenter", Outcome.PROXY), ("datacenter", Outcome.OK)]
            assert "through the proxy" in one.log.attempts[0].reason
            assert [r.outcome for r in w.proxies["dc-a"].requests] == ["hung"]
            assert w.upstream.proxies() == Counter({"dc-b": 1})
            assert (await w.circuit("dc-a"))["failures"] == 1
            assert await one.fetcher.pool.evidence(HOST) == {}

            await one.fetch()  # the healthy proxy first now: the hanging one is not asked again

            assert len(w.proxies["dc-a"].requests) == 1
            assert one.tried()[2:] == [("datacenter", Outcome.OK)]
            assert w.proxies["res"].requests == []

    _run(scenario)


def test_hangs_open_the_proxy_s_circuit_for_the_next_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path, tiers=(("datacenter", ("dc-a",)), ("residential", ("res",)))) as w:
            w.proxies["dc-a"].hang()
            one = await w.process()
            for _ in range(3):  # fail_max consecutive hangs
                await one.fetch()
            assert (await w.circuit("dc-a"))["state"] == "open"
            hung = len(w.proxies["dc-a"].requests)

            two = await w.process()
            await two.fetch()

            assert hung == 3
            assert len(w.proxies["dc-a"].requests) == 3  # the next process never waits on it
            assert two.tried() == [("residential", Outcome.OK)]

    _run(scenario)


def test_a_hang_cut_short_by_the_job_s_deadline_is_not_the_proxy_s_fault(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            w.proxies["dc-a"].hang()
            one = await w.process()
            short = dataclasses.replace(policy(), deadline_seconds=TIMEOUT / 2)

            error = await one.fail(short)

            # The job ran out of time before the tier's timeout: no proxy is blamed, nothing moves.
            assert error.outcome is Outcome.TRANSIENT
            assert one.tried() == [("datacenter", Outcome.TRANSIENT)]
            assert (await w.circuit("dc-a"))["failures"] == 0
            assert w.proxies["dc-b"].requests == []

    _run(scenario)


def test_a_proxy_that_resets_gets_one_more_try_after_the_others_then_the_request_escalates(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            w.proxies["dc-a"].reset()
            w.proxies["dc-b"].reset()
            one = await w.process()

            page = await one.fetch()

            assert page.data == OK_BODY
            assert one.tried() == [("datacenter", Outcome.PROXY)] * 4 + [("residential", Outcome.OK)]
            assert all("reset or closed through the proxy" in a.reason for a in one.log.attempts[:4])
            assert [r.outcome for r in w.proxies["dc-a"].requests] == ["reset", "reset"]
            assert [r.outcome for r in w.proxies["dc-b"].requests] == ["reset", "reset"]
            # Proxy faults are no evidence against the tier: the next request starts there again.
            assert await one.fetcher.pool.blocked_tiers(HOST) == []
            # The second pass was paid from the job's retries.
            assert _sample(one.metrics, "scraper_retries_total", {"source": "test", "outcome": "proxy"}) == 2

    _run(scenario)


# --- hangs presumed early, a tier waited for ---------------------------------------------------------


def _patient(timeout: float = 30.0, hang_after: float = 0.2) -> SourcePolicy:
    """A policy whose tier timeout is long and whose floor for presuming a hang is short."""
    return dataclasses.replace(
        policy(["datacenter", "residential"]), default_timeout=timeout, hang_after_seconds=hang_after
    )


def test_a_proxy_that_hangs_now_and_then_is_cut_at_its_usual_answer_time_and_asked_again(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with world(tmp_path, tiers=(("datacenter", ("dc-a",)), ("residential", ("res",)))) as w:
            w.proxies["dc-a"].timeout_every(2)  # its 2nd, 4th, ... requests hang
            one = await w.process()

            await one.fetch(_patient())  # answered in milliseconds: the host's usual time
            page = await one.fetch(_patient())  # hangs, is cut at 0.2 s, not 30 s, and retried

            assert page.data == OK_BODY
            assert one.tried() == [
                ("datacenter", Outcome.OK),
                ("datacenter", Outcome.PROXY),
                ("datacenter", Outcome.OK),
            ]
            # Cut at the host's usual answer time (never below the 0.2 s floor; how far above it
            # depends on how fast this machine answered the first request), not at the 30 s timeout.
            assert 0.2 <= _presumed_hung_after(one.log.attempts[1].reason) < 30.0
            assert [r.outcome for r in w.proxies["dc-a"].requests] == ["forwarded", "hung", "forwarded"]
            # One cheap try again instead of the residential tier at ten times the cost, and the
            # cut was no verdict on the proxy: its circuit counts nothing.
            assert w.proxies["res"].requests == []
            assert (await w.circuit("dc-a"))["failures"] == 0
            assert _sample(one.metrics, "scraper_retries_total", {"source": "test", "outcome": "proxy"}) == 1

    _run(scenario)


def test_a_proxy_that_hangs_for_good_backs_off_to_the_timeout_where_its_breaker_counts(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with world(tmp_path, tiers=(("datacenter", ("dc-a",)), ("residential", ("res",)))) as w:
            one = await w.process()
            # The host usually answers through the tier at once (what a first answer on an idle
            # machine teaches; seeded, so that a loaded machine's slow first answer cannot move
            # the limits below): the first wait is the 0.1 s floor.
            one.fetcher.answers.answered("datacenter", HOST, 0.0)
            w.proxies["dc-a"].hang()

            for _ in range(3):
                await one.fetch(_patient(timeout=1.0, hang_after=0.1))

            cuts = [a.reason for a in one.log.attempts if a.outcome is Outcome.PROXY]
            # Each cut doubles the wait of the next attempt through this proxy to this host, up to
            # the tier's timeout: a host that merely turned slow gets its answers through.
            assert cuts == [
                "no answer within 0.1s through the proxy, presumed hung",
                "no answer within 0.2s through the proxy, presumed hung",
                "no answer within 0.4s through the proxy, presumed hung",
                "no answer within 0.8s through the proxy, presumed hung",
                "no complete answer within 1s through the proxy",
            ]
            assert [tier for tier, _ in one.tried()].count("residential") == 3
            # Only the hang that ran to the timeout is the proxy's failure.
            assert (await w.circuit("dc-a"))["failures"] == 1

    _run(scenario)


PATIENT = EscalationSettings(probe_after_seconds=60.0, probe_every_requests=0, patience_seconds=60.0)


def _sleep_and_move(w: World, slept: list[float], *, outage: str) -> Sleep:
    """The fetcher's sleep for these tests: the pool's clock moves by what the core waits, and
    the proxy `outage` accepts connections again while the core waits for it."""

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await w.proxies[outage].accept()
        w.clock.now += seconds
        await asyncio.sleep(0)

    return sleep


@asynccontextmanager
async def _gateway_outage(tmp_path: Path) -> AsyncIterator[tuple[World, Process, list[float]]]:
    """One datacenter proxy (circuit opens at its first fault, 30 s window) before residential, a
    patient process whose waits move the clock and bring `dc-a` back; the waits land in the list."""
    async with world(
        tmp_path,
        tiers=(("datacenter", ("dc-a",)), ("residential", ("res",))),
        breaker=BreakerSettings(fail_max=1, reset_seconds=30.0),
        escalation=PATIENT,
    ) as w:
        slept: list[float] = []
        yield w, await w.process(sleep=_sleep_and_move(w, slept, outage="dc-a")), slept


def test_a_request_waits_for_a_datacenter_proxy_back_from_an_outage_rather_than_pay_residential(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with _gateway_outage(tmp_path) as (w, one, slept):
            await w.proxies["dc-a"].refuse()  # the provider's gateway is down

            page = await one.fetch()

            assert page.data == OK_BODY
            # Refused: the circuit opens (fail_max 1). The request waits out its 30 s window
            # instead of paying residential, and the probe finds the gateway back.
            assert one.tried() == [("datacenter", Outcome.PROXY), ("datacenter", Outcome.OK)]
            assert slept == [30.0]
            assert w.proxies["res"].requests == []
            assert (await w.circuit("dc-a"))["state"] == "closed"

    _run(scenario)


def test_a_job_late_in_its_time_pays_the_next_tier_instead_of_waiting(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _gateway_outage(tmp_path) as (w, one, slept):
            await w.proxies["dc-a"].refuse()
            # 30 s of waiting would take the job past three quarters of its 40 s.
            short = dataclasses.replace(policy(), deadline_seconds=40.0)

            await one.fetch(short)

            assert one.tried() == [("datacenter", Outcome.PROXY), ("residential", Outcome.OK)]
            assert slept == []

    _run(scenario)


# --- the proxy's own answers -------------------------------------------------------------------------


def test_one_407_from_one_of_two_datacenter_proxies_keeps_the_next_process_on_datacenter(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            w.proxies["dc-a"].auth_required()
            one = await w.process()

            await one.fetch()

            assert one.tried() == [("datacenter", Outcome.PROXY), ("datacenter", Outcome.OK)]
            circuit = await w.circuit("dc-a")
            assert (circuit["state"], circuit["failures"]) == ("open", 1)  # one 407 is enough

            two = await w.process()
            await two.fetch()
            await two.fetch()

            assert two.tried() == [("datacenter", Outcome.OK)] * 2
            assert len(w.proxies["dc-a"].requests) == 1
            assert w.proxies["res"].requests == []
            assert w.upstream.proxies() == Counter({"dc-b": 3})

    _run(scenario)


def test_a_proxy_s_own_502_moves_on_while_the_origin_s_502_is_retried_on_the_same_proxy(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        route = sequence([respond(502, "origin down"), respond_json(OK_BODY)])
        async with world(tmp_path, route) as w:
            w.proxies["dc-a"].bad_gateway()
            one = await w.process()

            await one.fetch()

            assert one.tried() == [
                ("datacenter", Outcome.PROXY),
                ("datacenter", Outcome.TRANSIENT),
                ("datacenter", Outcome.OK),
            ]
            own, origin, _ = one.log.attempts
            assert "written by the proxy (Proxy-Status error=connection_refused)" in own.reason
            assert origin.reason.startswith("HTTP 502")
            # The proxy's 502: dc-a once, never again in this request. The origin's: retried
            # through the same proxy, dc-b, which carried it.
            assert [r.outcome for r in w.proxies["dc-a"].requests] == ["own_error"]
            assert w.upstream.proxies() == Counter({"dc-b": 2})
            assert (await w.circuit("dc-a"))["failures"] == 1
            assert (await w.circuit("dc-b"))["failures"] == 0

    _run(scenario)


# --- the tier: escalate on evidence about the tier, come back by probing ------------------------------


def test_the_tier_escalates_only_after_blocks_through_two_of_its_proxies(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            w.proxies["dc-a"].forbid_hosts({w.target})
            one = await w.process()

            await one.fetch()
            await one.fetch()

            # One proxy's block moves the request to its neighbour, never to residential.
            assert one.tried() == [
                ("datacenter", Outcome.BLOCKED),
                ("datacenter", Outcome.OK),
                ("datacenter", Outcome.OK),
            ]
            assert await one.fetcher.pool.blocked_tiers(HOST) == []

            w.proxies["dc-b"].forbid_hosts({w.target})
            await one.fetch()  # blocked through the second proxy as well: this request escalates
            two = await w.process()
            await two.fetch()  # and the next process starts on residential

            # dc-a is not asked again: the host refused it, and dc-b's clean answers since do not
            # say otherwise (asking costs a request and one of the host's turns for a likely 403).
            assert one.tried()[3:] == [("datacenter", Outcome.BLOCKED), ("residential", Outcome.OK)]
            assert two.tried() == [("residential", Outcome.OK)]
            assert await two.fetcher.pool.blocked_tiers(HOST) == ["datacenter"]
            assert [r.outcome for r in w.proxies["dc-a"].requests] == ["forbidden"]
            assert one.sent("datacenter") == 4
            assert one.sent("residential") + two.sent("residential") == 2

    _run(scenario)


async def _blocked_tier(w: World) -> Process:
    """Both datacenter proxies blocked for the host: requests start on residential."""
    w.proxies["dc-a"].forbid_hosts({w.target})
    w.proxies["dc-b"].forbid_hosts({w.target})
    one = await w.process()
    await one.fetch()
    # Seen once under load: a fetch that ended on residential with no tier blocked. The attempts
    # and their reasons say which outcome the datacenter attempts had when it recurs.
    tried = [(a.tier, a.outcome, a.reason) for a in one.log.attempts]
    assert one.tried()[-1] == ("residential", Outcome.OK), tried
    assert await one.fetcher.pool.blocked_tiers(HOST) == ["datacenter"], tried
    return one


def test_a_blocked_tier_is_probed_after_its_cool_down_and_a_clean_probe_brings_the_host_back(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            one = await _blocked_tier(w)
            two = await w.process()
            w.proxies["dc-a"].healthy()  # the block is lifted; nobody knows yet
            w.proxies["dc-b"].healthy()

            await one.fetch()
            w.clock.now += w.escalation.probe_after_seconds - 1.0
            await two.fetch()
            before = [one.tried()[-1], two.tried()[-1]]
            w.clock.now += 1.0
            probes = await asyncio.gather(one.fetch(), two.fetch())  # one of them probes, not both

            assert before == [("residential", Outcome.OK)] * 2
            assert all(page.data == OK_BODY for page in probes)
            last = sorted([one.tried()[-1], two.tried()[-1]])
            assert last == [("datacenter", Outcome.OK), ("residential", Outcome.OK)]
            # The clean probe cleared the evidence, for both processes.
            assert await one.fetcher.pool.blocked_tiers(HOST) == []
            await one.fetch()
            await two.fetch()
            assert [one.tried()[-1], two.tried()[-1]] == [("datacenter", Outcome.OK)] * 2

    _run(scenario)


def test_a_probe_blocked_again_still_succeeds_and_the_next_probe_waits_twice_as_long(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            one = await _blocked_tier(w)
            cool_down = w.escalation.probe_after_seconds
            w.clock.now += cool_down

            page = await one.fetch()  # the probe: blocked on datacenter, served by residential

            assert page.data == OK_BODY
            assert one.tried()[-3:] == [
                ("datacenter", Outcome.BLOCKED),
                ("datacenter", Outcome.BLOCKED),
                ("residential", Outcome.OK),
            ]
            w.clock.now += cool_down  # one cool-down later: not yet
            await one.fetch()
            assert one.tried()[-1] == ("residential", Outcome.OK)
            assert one.tried()[-2][0] == "residential"
            w.clock.now += cool_down  # two: the next probe
            await one.fetch()
            assert one.tried()[-2:] == [("datacenter", Outcome.BLOCKED), ("residential", Outcome.OK)]

    _run(scenario)


def test_one_in_n_requests_that_skip_a_blocked_tier_probes_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        escalation = EscalationSettings(probe_after_seconds=3600.0, probe_every_requests=3)
        async with world(tmp_path, escalation=escalation) as w:
            one = await _blocked_tier(w)
            w.proxies["dc-a"].healthy()
            w.proxies["dc-b"].healthy()
            start = len(one.log.attempts)

            for _ in range(4):
                await one.fetch()

            # Two requests skip the tier, the third probes it and brings the host back.
            assert one.tried()[start:] == [("residential", Outcome.OK)] * 2 + [("datacenter", Outcome.OK)] * 2

    _run(scenario)


# --- what the traffic costs ---------------------------------------------------------------------------


def test_requests_and_bytes_are_counted_per_tier_with_the_tier_s_cost(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            await _blocked_tier(w)
            one = w.processes[0]
            await one.fetch()

            body = len(b'{"games": [{"id": 1}]}')
            assert one.sent("datacenter") == 2
            assert one.sent("residential") == 2
            assert _sample(one.metrics, "scraper_proxy_bytes_total", {"tier": "residential"}) == 2 * body
            # The 403 pages the proxies wrote came through the datacenter tier: counted there.
            assert _sample(one.metrics, "scraper_proxy_bytes_total", {"tier": "datacenter"}) > 0
            costs = {tier: _sample(one.metrics, "scraper_proxy_tier_cost", {"tier": tier}) for tier in COSTS}
            assert costs == COSTS
            weighted = sum(one.sent(tier) * cost for tier, cost in costs.items())
            assert weighted == 2 * 1.0 + 2 * 10.0

    _run(scenario)
