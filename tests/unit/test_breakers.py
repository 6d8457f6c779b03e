"""Fleet-shared circuits (proxy/breakers.py) on real stores, with a clock the test moves.

Two ProxyBreaker objects on one store stand for two processes of a fleet: all they share is the
store, exactly as processes share Redis or a SQLite file (tests/integration/test_fleet_breakers.py
runs the same with four real processes). A MemoryStore never suspends inside a call, so where
interleaving matters the breakers get two connections to one SQLite file instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from proxy.breakers import (
    BREAKER_NAMESPACE,
    CLOSED,
    HALF_OPEN,
    OPEN,
    PROBE_NAMESPACE,
    Passage,
    ProxyBreaker,
)
from proxy.config import ProxyEndpoint
from proxy.state import MemoryStore, SqliteStore, StateStore, StateStoreError

HOST = "stats.nba.com"
KEY = f"datacenter/dc1/{HOST}"
RESET = 300.0
T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Transitions:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def state_change(self, breaker: ProxyBreaker, old: str, new: str) -> None:
        self.seen.append((old, new))


def breaker(
    store: StateStore, clock: Clock, listener: Transitions | None = None, fail_max: int = 3
) -> ProxyBreaker:
    return ProxyBreaker(
        ProxyEndpoint("dc1", "datacenter", "http://127.0.0.1:1"),
        HOST,
        store,
        fail_max=fail_max,
        reset_seconds=RESET,
        listeners=[listener] if listener else [],
        clock=clock,
    )


def run(body: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(body())


async def send(b: ProxyBreaker, *, failed: bool) -> Passage:
    """One request through the breaker: refresh, enter, settle. The breaker must admit it."""
    await b.refresh()
    passage = await b.enter()
    assert passage is not None, f"{b.key} did not admit a request ({b.state})"
    await b.settle(passage, failed=failed)
    return passage


def test_the_fail_max_th_consecutive_failure_opens_and_a_success_resets_the_count() -> None:
    async def body() -> list[Any]:
        store, clock, seen = MemoryStore(), Clock(), Transitions()
        b = breaker(store, clock, seen)
        await send(b, failed=True)
        await send(b, failed=True)
        after_two = await store.get(BREAKER_NAMESPACE, KEY)
        await send(b, failed=False)
        after_success = await store.get(BREAKER_NAMESPACE, KEY)
        for _ in range(3):
            await send(b, failed=True)
        return [after_two, after_success, await store.get(BREAKER_NAMESPACE, KEY), b.state, seen.seen]

    after_two, after_success, opened, state, seen = run(body)
    assert after_two == {"state": "closed", "failures": 2, "opened_at": None}
    assert after_success == {"state": "closed", "failures": 0, "opened_at": None}
    assert (opened["state"], opened["failures"]) == ("open", 3)
    assert opened["opened_at"].startswith("2023-11-14T22:13:20")
    assert state == OPEN
    assert seen == [(CLOSED, OPEN)]


def test_clean_answers_through_a_clean_circuit_never_write() -> None:
    async def body() -> Any:
        store = MemoryStore()
        b = breaker(store, Clock())
        for _ in range(100):
            await send(b, failed=False)
        return await store.items(BREAKER_NAMESPACE)

    assert run(body) == {}


def test_failures_of_two_processes_add_up(tmp_path: Path) -> None:
    async def body() -> Any:
        # Two connections to one SQLite file, as two processes have: every read really waits, so
        # a read-modify-write would lose the failures counted in between.
        stores = [SqliteStore(tmp_path / "state.sqlite"), SqliteStore(tmp_path / "state.sqlite")]
        clock = Clock()
        try:
            one, two = (breaker(store, clock, fail_max=100) for store in stores)
            await asyncio.gather(*(send(b, failed=True) for _ in range(10) for b in (one, two)))
            return await stores[0].get(BREAKER_NAMESPACE, KEY)
        finally:
            for store in stores:
                await store.aclose()

    assert run(body) == {"state": "closed", "failures": 20, "opened_at": None}


def test_an_open_circuit_admits_nothing_until_its_window_passes_then_one_probe_in_the_fleet() -> None:
    async def body() -> list[Any]:
        store, clock = MemoryStore(), Clock()
        seen_one, seen_two = Transitions(), Transitions()
        one, two = breaker(store, clock, seen_one, fail_max=1), breaker(store, clock, seen_two, fail_max=1)
        await send(one, failed=True)
        await two.refresh()
        before = [one.admits(), two.admits(), await one.enter(), await two.enter()]
        clock.now += RESET
        await one.refresh()
        await two.refresh()
        # Three requests of one process and one of another find the window over at once.
        passages = await asyncio.gather(one.enter(), one.enter(), two.enter(), one.enter())
        # Read again while the probe is out, neither process lets a request wait for its turn.
        await one.refresh()
        await two.refresh()
        again = [one.admits(), two.admits()]
        return [before, passages, one.state, two.state, seen_one.seen, seen_two.seen, again]

    before, passages, one_state, two_state, seen_one, seen_two, again = run(body)
    assert again == [False, False]
    assert before == [False, False, None, None]
    probes = [p for p in passages if p is not None]
    assert len(probes) == 1
    assert probes[0].probe
    assert {one_state, two_state} == {HALF_OPEN, OPEN}  # the prober says half-open, the other open
    assert sorted(seen_one + seen_two) == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]


def test_a_failed_probe_reopens_for_a_whole_window_and_a_late_reader_cannot_probe_again() -> None:
    # Without max_reset_seconds every window is reset_seconds long (growth: the tests below).
    async def body() -> list[Any]:
        store, clock = MemoryStore(), Clock()
        one, two = breaker(store, clock, fail_max=1), breaker(store, clock, fail_max=1)
        await send(one, failed=True)
        clock.now += RESET
        await two.refresh()  # `two` reads the old opening, then stalls
        probe = await send(one, failed=True)  # `one` probes and fails: opened again, now
        reopened = await store.get(BREAKER_NAMESPACE, KEY)
        late = await two.enter()  # still believes the old window is over
        await one.refresh()
        too_early = await one.enter()
        clock.now += RESET
        await one.refresh()
        next_probe = await one.enter()
        return [probe, reopened, late, too_early, next_probe, one.state]

    probe, reopened, late, too_early, next_probe, state = run(body)
    assert probe.probe
    assert (reopened["state"], reopened["failures"]) == ("open", 2)
    assert reopened["opened_at"].startswith("2023-11-14T22:18:20")  # the probe's failure, not the first
    assert late is None
    assert too_early is None
    assert next_probe is not None
    assert next_probe.probe
    assert state == HALF_OPEN


def test_a_clean_probe_closes_the_circuit_for_everyone() -> None:
    async def body() -> list[Any]:
        store, clock, seen = MemoryStore(), Clock(), Transitions()
        one, two = breaker(store, clock, seen, fail_max=1), breaker(store, clock, fail_max=1)
        await send(one, failed=True)
        clock.now += RESET
        await send(one, failed=False)
        await two.refresh()
        return [await store.get(BREAKER_NAMESPACE, KEY), two.state, await two.enter(), seen.seen]

    closed, other, passage, seen = run(body)
    assert closed == {"state": "closed", "failures": 0, "opened_at": None}
    assert other == CLOSED
    assert passage == Passage()
    assert seen == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_a_probe_that_was_never_sent_gives_its_lease_back() -> None:
    async def body() -> list[Any]:
        store, clock = MemoryStore(), Clock()
        one, two = breaker(store, clock, fail_max=1), breaker(store, clock, fail_max=1)
        await send(one, failed=True)
        clock.now += RESET
        await one.refresh()
        await two.refresh()
        probe = await one.enter()
        assert probe is not None
        blocked = await two.enter()
        await one.settle(probe, failed=None)  # e.g. a missing proxy credential: nothing was sent
        return [blocked, one.state, await store.get(BREAKER_NAMESPACE, KEY), await two.enter()]

    blocked, state, record, retaken = run(body)
    assert blocked is None
    assert state == OPEN
    assert record is not None
    assert record["failures"] == 1
    assert retaken is not None
    assert retaken.probe


def test_a_request_let_through_before_the_circuit_opened_cannot_close_it() -> None:
    async def body() -> Any:
        store, clock = MemoryStore(), Clock()
        one, two = breaker(store, clock, fail_max=1), breaker(store, clock, fail_max=1)
        await two.refresh()
        early = await two.enter()  # closed: an ordinary passage
        assert early is not None
        await send(one, failed=True)  # opens it meanwhile
        await two.settle(early, failed=False)
        return await store.get(BREAKER_NAMESPACE, KEY)

    record = run(body)
    assert (record["state"], record["failures"]) == ("open", 1)


def test_a_half_open_record_of_the_earlier_design_is_open_and_needs_the_lease() -> None:
    async def body() -> list[Any]:
        store, clock = MemoryStore(), Clock()
        await store.put(
            BREAKER_NAMESPACE,
            KEY,
            {"state": "half-open", "failures": 3, "opened_at": "2023-11-14T22:00:00+00:00"},
        )
        one, two = breaker(store, clock), breaker(store, clock)
        await one.refresh()
        await two.refresh()
        return [one.state, await one.enter(), await two.enter(), await store.items(PROBE_NAMESPACE)]

    state, first, second, leases = run(body)
    assert state == OPEN
    assert first is not None
    assert first.probe
    assert second is None
    assert list(leases) == [f"{KEY}@2023-11-14T22:00:00+00:00"]


@pytest.mark.parametrize("value", [{"failures": "many"}, {"opened_at": "yesterday", "state": "open"}])
def test_a_corrupt_record_is_a_state_store_error(value: dict[str, Any]) -> None:
    async def body() -> None:
        store = MemoryStore()
        await store.put(BREAKER_NAMESPACE, KEY, value)
        await breaker(store, Clock()).refresh()

    with pytest.raises(StateStoreError, match="corrupt breaker record"):
        run(body)


# --- issue 20: a fault no retry cures opens at once; windows grow with failed probes -----------------


def test_a_tripping_fault_opens_a_closed_circuit_at_once_and_is_remembered_as_standing() -> None:
    async def body() -> list[Any]:
        store, clock, seen = MemoryStore(), Clock(), Transitions()
        b = breaker(store, clock, seen, fail_max=3)
        await b.refresh()
        passage = await b.enter()
        assert passage is not None
        await b.settle(passage, failed=True, trip=True)  # a 407: the first is enough
        record = await store.get(BREAKER_NAMESPACE, KEY)
        clock.now += RESET
        await send(b, failed=False)  # its probe is clean: the password was fixed
        return [record, seen.seen, await store.get(BREAKER_NAMESPACE, KEY)]

    opened, seen, closed = run(body)
    assert (opened["state"], opened["failures"], opened["standing"]) == ("open", 1, True)
    assert seen == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert closed == {"state": "closed", "failures": 0, "opened_at": None}  # standing is gone


def grown(store: StateStore, clock: Clock, cap: float) -> ProxyBreaker:
    return ProxyBreaker(
        ProxyEndpoint("dc1", "datacenter", "http://127.0.0.1:1"),
        HOST,
        store,
        fail_max=1,
        reset_seconds=RESET,
        max_reset_seconds=cap,
        clock=clock,
    )


def test_each_failed_probe_doubles_the_window_up_to_its_cap_and_a_clean_one_resets_it() -> None:
    async def body() -> list[Any]:
        store, clock = MemoryStore(), Clock()
        b = grown(store, clock, cap=4 * RESET)
        await send(b, failed=True)
        windows, early = [], []
        for _ in range(4):
            windows.append(b.window())
            clock.now += b.window() - 1.0
            await b.refresh()
            early.append(await b.enter())  # a second before the window ends: nothing
            clock.now += 1.0
            await send(b, failed=True)  # the probe fails: reopened for a longer window
        windows.append(b.window())
        clock.now += b.window()
        await send(b, failed=False)
        return [windows, early, await store.get(BREAKER_NAMESPACE, KEY), b.window()]

    windows, early, record, after = run(body)
    assert windows == [RESET, 2 * RESET, 4 * RESET, 4 * RESET, 4 * RESET]
    assert early == [None] * 4
    assert record == {"state": "closed", "failures": 0, "opened_at": None}
    assert after == RESET


def test_the_probe_lease_lasts_as_long_as_the_grown_window() -> None:
    async def body() -> list[Any]:
        clock = Clock()
        store = MemoryStore(clock=clock)  # leases expire on the clock the test moves
        one, two = grown(store, clock, cap=8 * RESET), grown(store, clock, cap=8 * RESET)
        await send(one, failed=True)
        clock.now += RESET
        await send(one, failed=True)  # reopened: the next window is 2 * RESET
        clock.now += 2 * RESET
        await one.refresh()
        probe = await one.enter()  # taken, and held (a hung probe) ...
        clock.now += 1.5 * RESET  # ... longer than a first window, shorter than this one
        await two.refresh()
        return [probe, await two.enter()]

    probe, second = run(body)
    assert probe is not None
    assert probe.probe
    assert second is None
