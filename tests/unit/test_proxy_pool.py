"""The pool's tier choice (proxy/pool.py): evidence that a tier is blocked for a host, probes back.

Real stores with a clock the test moves: two ProxyPool objects on one SQLite file stand for two
processes of a fleet, exactly as tests/unit/test_breakers.py does for circuits. The loopback
version with real proxies is tests/integration/test_proxy_faults.py.
"""

from __future__ import annotations

import asyncio
import time
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


def test_a_clean_answer_clears_its_own_proxy_s_evidence_not_its_neighbour_s() -> None:
    async def body() -> list[Any]:
        store = MemoryStore()
        p = pool(store, Clock(), probe_every_requests=1)
        await block(p, DATACENTER, "dc1")
        walk = await p.walk(HOST, PROXIED)
        assert [tier.name for tier in walk.tiers] == ["datacenter", "residential"]
        before = await store.get(TIER_NAMESPACE, HOST)
        await walk.clean(await _step(walk, "dc2"))  # dc2 serves: dc1 is still refused
        seen: list[Any] = [await p.evidence(HOST), await store.get(TIER_NAMESPACE, HOST) == before]
        await block(p, DATACENTER, "dc2")
        seen.append(await p.blocked_tiers(HOST))  # both refused since: the tier is skipped ...
        walk = await p.walk(HOST, PROXIED)
        assert walk.probing == "datacenter"  # ... but for its probe
        await walk.clean(await _step(walk, "dc1"))  # dc1 answers again
        seen.append(await p.evidence(HOST))
        seen.append(await start(p))
        return seen

    kept, unwritten, skipped, cleared, back = run(body)
    assert kept == {"datacenter": {"dc1": 1.0}}
    assert unwritten  # nothing to clear for dc2: no write
    assert skipped == ["datacenter"]
    assert cleared == {"datacenter": {"dc2": 1.0}}
    assert back == ["datacenter", "residential"]


def test_a_proxy_the_host_blocked_is_left_out_while_its_tier_has_another() -> None:
    async def body() -> list[list[str]]:
        p = pool(MemoryStore(), Clock(), probe_every_requests=1)
        orders = []
        for blocked in (["dc1"], ["dc1", "dc2"]):
            for name in blocked:
                await block(p, DATACENTER, name)
            walk = await p.walk(HOST, PROXIED)  # with both refused, this request probes the tier
            order = []
            while (step := await walk.next()) is not None:
                order.append(step.proxy)
            orders.append(order)
        return orders

    one_refused, probe_of_both = run(body)
    assert one_refused == ["dc2", "res1"]  # not dc1: a 403 all but certain, and one of the host's turns
    assert probe_of_both == ["dc1", "dc2", "res1"]  # the tier's probe asks every proxy of it


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


async def _open(p: ProxyPool, name: str, *, trip: bool = False) -> None:
    """One fault through `name` (of DATACENTER) opens its circuit (the pools here: fail_max 1)."""
    breaker = await p.breaker(next(e for e in DATACENTER.proxies if e.name == name), HOST)
    passage = await breaker.enter()
    assert passage is not None
    await breaker.settle(passage, failed=True, trip=trip)


async def _route(walk: Walk) -> list[tuple[str, float]]:
    """The next step `walk` gives, as [(proxy, wait)]: where to send, or which tier to wait for."""
    step = await walk.next()
    return [] if step is None else [(step.proxy, step.wait)]


def test_a_tier_out_only_for_open_circuits_is_waited_for_not_paid_above() -> None:
    async def body() -> dict[str, Any]:
        clock = Clock()
        p = pool(MemoryStore(), clock, breaker_fail_max=1, breaker_reset_seconds=30.0, patience_seconds=60.0)
        await block(p, DATACENTER, "dc1")  # the host refuses dc1: left out of the walk
        await _open(p, "dc2")  # dc2's own fault: its circuit opens for 30 s
        clock.now += 10.0
        patient = time.monotonic() + 3600.0
        seen: dict[str, Any] = {
            "no patience given": await _route(await p.walk(HOST, PROXIED)),
            "job late in its time": await _route(await p.walk(HOST, PROXIED, patient_until=time.monotonic())),
        }
        walk = await p.walk(HOST, PROXIED, patient_until=patient)
        seen["waits"] = await _route(walk)
        clock.now += 20.0  # dc2's window is over: its probe goes out with this request
        probe = await walk.next()
        assert probe is not None
        assert probe.breaker is not None
        seen["then"] = [(probe.proxy, probe.wait)]
        assert await probe.breaker.enter() is not None  # the probe's lease: it is out
        seen["probe out"] = await _route(await p.walk(HOST, PROXIED, patient_until=patient))
        return seen

    seen = run(body)
    assert seen["no patience given"] == [("res1", 0.0)]
    assert seen["job late in its time"] == [("res1", 0.0)]
    assert seen["waits"] == [("datacenter", 20.0)]
    assert seen["then"] == [("dc2", 0.0)]
    # Another request while the probe is out waits a tenth of the window to hear how it went.
    assert seen["probe out"] == [("datacenter", 3.0)]


def test_patience_has_a_limit_and_a_fault_no_wait_cures_is_not_waited_for() -> None:
    async def body() -> list[list[tuple[str, float]]]:
        clock = Clock()
        p = pool(MemoryStore(), clock, breaker_fail_max=1, breaker_reset_seconds=30.0, patience_seconds=25.0)
        patient = time.monotonic() + 3600.0
        await _open(p, "dc1")
        await _open(p, "dc2")
        too_long = await _route(await p.walk(HOST, PROXIED, patient_until=patient))  # 30 s > 25 s
        clock.now += 10.0
        walk = await p.walk(HOST, PROXIED, patient_until=patient)
        within = await _route(walk)  # 20 s left of the window: waited
        clock.now += 1.0
        spent = await _route(walk)  # 19 s more would make 39 s in all: pays instead
        standing = pool(MemoryStore(), clock, breaker_fail_max=1, patience_seconds=600.0)
        await _open(standing, "dc1", trip=True)  # a 407: refused credentials do not come back
        await _open(standing, "dc2", trip=True)
        refused = await _route(await standing.walk(HOST, PROXIED, patient_until=patient))
        return [too_long, within, spent, refused]

    too_long, within, spent, refused = run(body)
    assert too_long == [("res1", 0.0)]
    assert within == [("datacenter", 20.0)]
    assert spent == [("res1", 0.0)]
    assert refused == [("res1", 0.0)]


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
