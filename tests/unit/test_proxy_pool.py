"""The pool's tier choice (proxy/pool.py): evidence that a tier is blocked for a host, probes back.

Real stores with a clock the test moves: two ProxyPool objects on one SQLite file stand for two
processes of a fleet, exactly as tests/unit/test_breakers.py does for circuits. The loopback
version with real proxies is tests/integration/test_proxy_faults.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from proxy.breakers import OPEN
from proxy.config import ProxyConfig, ProxyEndpoint, Tier
from proxy.pool import TIER_NAMESPACE, PoolSettings, ProxyPool, Step, Walk
from proxy.state import MemoryStore, SqliteStore, StateStore, StateStoreError

HOST = "api.bettingpros.com"
T = TypeVar("T")


def endpoint(name: str, tier: str) -> ProxyEndpoint:
    return ProxyEndpoint(name, tier, f"http://{name}.example:1")


DIRECT = Tier("direct", cost=0.0)
DATACENTER = Tier("datacenter", (endpoint("dc1", "datacenter"), endpoint("dc2", "datacenter")), 1.0)
LONE = Tier("datacenter", (endpoint("dc1", "datacenter"),), 1.0)
RESIDENTIAL = Tier("residential", (endpoint("res1", "residential"),), 10.0)
CONFIG = ProxyConfig((DIRECT, DATACENTER, RESIDENTIAL))
PROXIED = [DATACENTER, RESIDENTIAL]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def pool(
    store: StateStore,
    clock: Clock,
    config: ProxyConfig = CONFIG,
    **settings: Any,
) -> ProxyPool:
    base: dict[str, Any] = {"probe_after_seconds": 60.0, "max_probe_after_seconds": 600.0, **settings}
    return ProxyPool(config, store, PoolSettings(**base), clock=clock)


def run(body: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(body())


async def start(p: ProxyPool, tiers: list[Tier] = PROXIED) -> list[str]:
    walk = await p.walk(HOST, tiers)
    return [tier.name for tier in walk.tiers]


async def block(p: ProxyPool, tier: Tier, proxy: str, *, probe: bool = False) -> None:
    await p.record_block(HOST, tier, proxy, probe=probe)


def test_one_proxy_s_block_keeps_the_tier_two_distinct_proxies_skip_it() -> None:
    async def body() -> list[Any]:
        p = pool(MemoryStore(), Clock())
        seen = [await start(p)]
        await block(p, DATACENTER, "dc1")
        await block(p, DATACENTER, "dc1")  # the same proxy again is no more evidence about the tier
        seen.append(await start(p))
        await block(p, DATACENTER, "dc2")
        seen.append(await start(p))
        seen.append(await p.blocked_tiers(HOST))
        return seen

    assert run(body) == [
        ["datacenter", "residential"],
        ["datacenter", "residential"],
        ["residential"],
        ["datacenter"],
    ]


def test_a_one_proxy_tier_is_blocked_by_its_only_proxy() -> None:
    async def body() -> list[str]:
        p = pool(MemoryStore(), Clock(), ProxyConfig((LONE, RESIDENTIAL)))
        await block(p, LONE, "dc1")
        return await start(p, [LONE, RESIDENTIAL])

    assert run(body) == ["residential"]


def test_blocked_proxies_is_a_setting() -> None:
    async def body() -> list[str]:
        p = pool(MemoryStore(), Clock(), blocked_proxies=1)
        await block(p, DATACENTER, "dc2")
        return await start(p)

    assert run(body) == ["residential"]


def test_a_clean_answer_through_the_tier_clears_its_evidence() -> None:
    async def body() -> list[Any]:
        store = MemoryStore()
        p = pool(store, Clock())
        await block(p, DATACENTER, "dc1")
        walk = await p.walk(HOST, PROXIED)
        assert [tier.name for tier in walk.tiers] == ["datacenter", "residential"]
        await walk.clean(await _step(walk, "dc2"))
        return [await p.evidence(HOST), await store.get(TIER_NAMESPACE, HOST) is not None]

    evidence, written = run(body)
    assert evidence == {}
    assert written  # the clearing was written, for the other processes


async def _step(walk: Walk, proxy: str) -> Step:
    """The step of `walk` through `proxy`, as `next` would give it."""
    tier = next(t for t in walk.tiers if any(e.name == proxy for e in t.proxies))
    endpoint_ = next(e for e in tier.proxies if e.name == proxy)
    return Step(tier, endpoint_, await walk.pool.breaker(endpoint_, HOST))


def test_a_clean_answer_where_nothing_was_blocked_writes_nothing() -> None:
    async def body() -> Any:
        store = MemoryStore()
        p = pool(store, Clock())
        walk = await p.walk(HOST, PROXIED)
        await walk.clean(await _step(walk, "dc1"))
        return await store.get(TIER_NAMESPACE, HOST)

    assert run(body) is None


def test_evidence_halves_with_time_and_is_forgotten() -> None:
    async def body() -> list[Any]:
        clock = Clock()
        p = pool(MemoryStore(), clock, half_life_seconds=100.0, probe_after_seconds=10_000.0)
        await block(p, DATACENTER, "dc1")
        await block(p, DATACENTER, "dc2")
        seen: list[Any] = [await start(p)]
        clock.now += 100.0  # one half-life: both scores at 0.5, the threshold: still blocked
        seen.append(await start(p))
        clock.now += 1.0
        seen.append(await start(p))
        seen.append(await p.evidence(HOST))
        return seen

    blocked, still, back, evidence = run(body)
    assert blocked == still == ["residential"]
    assert back == ["datacenter", "residential"]
    assert evidence["datacenter"]["dc1"] == pytest.approx(0.5 * 0.5 ** (1 / 100))


def test_after_the_cool_down_exactly_one_process_of_the_fleet_probes(tmp_path: Path) -> None:
    async def body() -> list[Any]:
        clock = Clock()
        path = tmp_path / "fleet.sqlite"
        one, two = SqliteStore(path), SqliteStore(path)
        try:
            a = pool(one, clock, probe_every_requests=0)
            b = pool(two, clock, probe_every_requests=0)
            await block(a, DATACENTER, "dc1")
            await block(b, DATACENTER, "dc2")
            early = [await start(a), await start(b)]
            clock.now += 60.0
            walks = [await a.walk(HOST, PROXIED), await b.walk(HOST, PROXIED)]
            return [early, [[t.name for t in w.tiers] for w in walks], [w.probing for w in walks]]
        finally:
            await one.aclose()
            await two.aclose()

    early, starts, probing = run(body)
    assert early == [["residential"], ["residential"]]
    assert sorted(starts) == [["datacenter", "residential"], ["residential"]]
    assert probing.count("datacenter") == 1
    assert probing.count(None) == 1


def test_a_clean_probe_brings_the_host_back_for_everyone() -> None:
    async def body() -> list[Any]:
        clock, store = Clock(), MemoryStore()
        a, b = pool(store, clock), pool(store, clock)
        await block(a, DATACENTER, "dc1")
        await block(a, DATACENTER, "dc2")
        clock.now += 60.0
        probe = await a.walk(HOST, PROXIED)
        assert probe.probing == "datacenter"
        await probe.clean(await _step(probe, "dc1"))
        return [await start(b), await start(a)]

    assert run(body) == [["datacenter", "residential"]] * 2


def test_a_probe_blocked_again_doubles_the_cool_down_up_to_its_cap() -> None:
    async def body() -> list[Any]:
        clock = Clock()
        p = pool(MemoryStore(), clock, probe_every_requests=0, max_probe_after_seconds=150.0)
        await block(p, DATACENTER, "dc1")
        await block(p, DATACENTER, "dc2")
        seen = []
        for wait in (60.0, 120.0, 150.0, 150.0):
            clock.now += wait - 1.0
            seen.append((await p.walk(HOST, PROXIED)).probing)  # one second early: no probe
            clock.now += 1.0
            probe = await p.walk(HOST, PROXIED)
            seen.append(probe.probing)
            await probe.blocked(await _step(probe, "dc1"))
            await probe.blocked(await _step(probe, "dc2"))  # the same probe: one miss, not two
        return seen

    assert run(body) == [None, "datacenter"] * 4


def test_one_in_n_of_a_process_s_skipping_requests_probes_the_tier() -> None:
    async def body() -> list[str | None]:
        p = pool(MemoryStore(), Clock(), probe_every_requests=4, probe_after_seconds=10_000.0)
        await block(p, DATACENTER, "dc1")
        await block(p, DATACENTER, "dc2")
        return [(await p.walk(HOST, PROXIED)).probing for _ in range(8)]

    assert run(body) == [None, None, None, "datacenter"] * 2


def test_within_a_tier_probes_come_first_then_healthy_proxies_then_faulted_ones() -> None:
    async def body() -> list[Any]:
        clock, store = Clock(), MemoryStore()
        config = ProxyConfig(
            (Tier("datacenter", tuple(endpoint(n, "datacenter") for n in ("a", "b", "c", "d", "e"))),)
        )
        p = ProxyPool(
            config, store, PoolSettings(breaker_fail_max=3, breaker_reset_seconds=30.0), clock=clock
        )
        tier = config.tiers[0]

        async def settle(name: str, *, failed: bool, trip: bool = False) -> None:
            breaker = await p.breaker(next(e for e in tier.proxies if e.name == name), HOST)
            passage = await breaker.enter()
            assert passage is not None
            await breaker.settle(passage, failed=failed, trip=trip)

        await settle("a", failed=True)  # one fault: closed, but after the healthy ones
        await settle("b", failed=True, trip=True)  # a 407: open at once, probed after "c"
        for _ in range(3):
            await settle("c", failed=True)  # three faults: open
        clock.now += 10.0
        for _ in range(3):
            await settle("d", failed=True)  # open, its window not over at the walk
        clock.now += 21.0
        walk = await p.walk(HOST, [tier])
        order = []
        while (step := await walk.next()) is not None:
            order.append(step.proxy)
        breaker = await p.breaker(tier.proxies[1], HOST)
        return [order, breaker.circuit.state, breaker.circuit.standing]

    assert run(body) == [["c", "b", "e", "a"], OPEN, True]


def test_quick_faults_earn_one_second_pass_over_the_tier_hangs_do_not() -> None:
    async def body() -> list[list[tuple[str, bool]]]:
        p = pool(MemoryStore(), Clock())
        seen = []
        for quick in (True, False):
            walk = await p.walk(HOST, PROXIED)
            order = []
            while (step := await walk.next()) is not None:
                order.append((step.proxy, step.again))
                if step.tier.name == "datacenter":
                    walk.faulted(step, quick=quick)
            seen.append(order)
        return seen

    quick, hung = run(body)
    assert quick == [("dc1", False), ("dc2", False), ("dc1", True), ("dc2", True), ("res1", False)]
    assert hung == [("dc1", False), ("dc2", False), ("res1", False)]


def test_a_source_with_one_tier_reads_no_tier_record() -> None:
    class CountingStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.reads: list[tuple[str, str]] = []

        async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
            self.reads.append((namespace, key))
            return await super().get(namespace, key)

    async def body() -> list[tuple[str, str]]:
        store = CountingStore()
        p = pool(store, Clock())
        walk = await p.walk(HOST, [DIRECT])
        step = await walk.next()
        assert step is not None
        await walk.clean(step)
        return store.reads

    assert run(body) == []


@pytest.mark.parametrize(
    "value",
    [
        {"blocks": {"datacenter": {"dc1": "many"}}, "updated": 1.0},
        {"blocks": {}, "probes": {"datacenter": {"after": "soon", "misses": 0}}, "updated": 1.0},
        {"blocks": [], "updated": 1.0},
    ],
)
def test_a_corrupt_tier_record_is_a_state_store_error(value: dict[str, Any]) -> None:
    async def body() -> None:
        store = MemoryStore()
        await store.put(TIER_NAMESPACE, HOST, value)
        await start(pool(store, Clock()))

    with pytest.raises(StateStoreError, match="corrupt tier record"):
        run(body)


def test_a_record_of_the_earlier_design_reads_as_no_evidence() -> None:
    async def body() -> list[str]:
        store = MemoryStore()
        await store.put(TIER_NAMESPACE, HOST, {"scores": {"datacenter": 3.0}, "updated": 1.0})
        return await start(pool(store, Clock()))

    assert run(body) == ["datacenter", "residential"]
