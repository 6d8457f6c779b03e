"""The fleet-wide rate budget against a real redis-server, one host's budget seen by two "processes"
(two limiters on two connections, as two replicas hold them), and the fixes around it: one bucket
for concurrent first requests in every store, and up-front admission through a real `scrapers run`.

Waits here are the limiter's own (a Retry-After, one interval); timing is only ever asserted as a
lower bound the limiter guarantees, never as an upper bound a loaded machine could miss. The rest
is read from the budget's Redis hash or counted at a loopback upstream.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from proxy.state import RedisStore, open_store
from scrapers.core.outcome import Outcome
from scrapers.core.request import Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import LIMITER_NAMESPACE, Fetcher
from scrapers.http.fleet_budget import BUDGET_NAMESPACE, SharedLimiter
from scrapers.http.policy import SourcePolicy
from scrapers.http.ratelimit import HOLD_AFTER_CUT, RETRY_AFTER_JITTER, RateLimitWaitExceeded, RateSettings
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Upstream, respond, respond_json, sequence

pytestmark = pytest.mark.integration

HOST = "api.courtside.test"
BASE = f"https://{HOST}"
PATH = "/v1/games"
KEY = f"courtside:{BUDGET_NAMESPACE}:{HOST}"
POLL_LIMIT_SECONDS = 10.0


def rates(rate: float, *, burst: int = 1, ceiling: float | None = None, successes: int = 10) -> RateSettings:
    return RateSettings(
        rate=rate,
        burst=burst,
        ceiling=rate if ceiling is None else ceiling,
        floor=rate / 8,
        increase_step=rate / 2,
        successes_to_increase=successes,
    )


@asynccontextmanager
async def two_processes(
    url: str, settings: RateSettings
) -> AsyncIterator[tuple[SharedLimiter, SharedLimiter]]:
    """Two limiters of one host on two Redis connections: what two replicas hold."""
    stores = [RedisStore(url), RedisStore(url)]
    try:
        yield SharedLimiter(stores[0], HOST, settings), SharedLimiter(stores[1], HOST, settings)
    finally:
        for store in stores:
            await store.aclose()


def budget(url: str) -> dict[str, str]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {str(name): str(value) for name, value in client.hgetall(KEY).items()}
    finally:
        client.close()


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll real state (bounded) until `check` holds."""
    deadline = time.monotonic() + POLL_LIMIT_SECONDS
    while not await check():
        assert time.monotonic() < deadline, "state never changed"
        await asyncio.sleep(0.01)


# --- one host's budget across processes -------------------------------------------------------------


def test_a_retry_after_seen_by_one_process_pauses_and_slows_the_other(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(50.0)) as (first, second):
            ticket = await first.acquire()
            refused_at = time.monotonic()

            assert await first.on_rate_limited(ticket, retry_after=1.0) is True
            await second.acquire()

            assert time.monotonic() - refused_at >= 1.0  # the other process waited out the pause
            assert second.rate == first.rate == 25.0  # and learned the cut from the store
            paused = budget(redis_url)
            assert float(paused["rate"]) == 25.0

    asyncio.run(scenario())


def test_a_503_retry_after_seen_by_one_process_pauses_the_other_without_a_cut(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(50.0)) as (first, second):
            ticket = await first.acquire()
            paused_at = time.monotonic()

            await first.pause(1.0)
            fresh = await second.acquire()

            assert time.monotonic() - paused_at >= 1.0  # the other process waited out the pause
            assert float(budget(redis_url)["rate"]) == 50.0  # the host was down, not refusing our pace
            assert fresh.generation == ticket.generation
            assert fresh.epoch == ticket.epoch + 1  # turns handed out before the pause are void

    asyncio.run(scenario())


def test_a_503_retry_after_one_fetcher_sees_holds_another_processs_request(redis_url: str) -> None:
    """Two Fetchers on two Redis connections, as two replicas: the first one's 503 with Retry-After
    holds the second one's request to the host until the pause is over, and cuts no rate."""

    async def scenario() -> None:
        other_path = "/v1/teams"
        refusal = sequence([respond(503, "", {"Retry-After": "1"}), respond_json({"games": []})])
        async with Upstream({PATH: refusal, other_path: respond_json({"teams": []})}) as upstream:
            stores = [RedisStore(redis_url), RedisStore(redis_url)]
            fetchers = [Fetcher(store=store, upstream_overrides={BASE: upstream.url}) for store in stores]
            policy = SourcePolicy(name="test", rate=rates(50.0, burst=5, ceiling=100.0))
            try:
                first = asyncio.create_task(
                    fetchers[0].fetch(Request(BASE + PATH), policy, AttemptLog(), fetchers[0].budget(policy))
                )

                async def paused() -> bool:
                    return float(budget(redis_url).get("paused", 0)) > 0

                await until(paused)
                await fetchers[1].fetch(
                    Request(BASE + other_path), policy, AttemptLog(), fetchers[1].budget(policy)
                )
                await first
            finally:
                for fetcher in fetchers:
                    await fetcher.aclose()
                for store in stores:
                    await store.aclose()

            refused = next(r.at for r in upstream.requests if r.path == PATH)
            other = next(r.at for r in upstream.requests if r.path == other_path)
            assert other - refused >= 1.0
            assert float(budget(redis_url)["rate"]) == 50.0

    asyncio.run(scenario())


class _WidestJitter(random.Random):
    """Draws the top of every range: the longest pause the jitter can make."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_jitter_of_a_pause_never_passes_the_deadline_of_the_job_that_asked(redis_url: str) -> None:
    async def scenario() -> None:
        stores = [RedisStore(redis_url), RedisStore(redis_url)]
        first = SharedLimiter(stores[0], HOST, rates(50.0), rng=_WidestJitter())
        second = SharedLimiter(stores[1], HOST, rates(50.0))
        try:
            await first.acquire()

            # Jittered, 10 s would become 12 s; the job that asked has 10.5 s left.
            await first.pause(10.0, deadline=time.monotonic() + 10.5)
            with pytest.raises(RateLimitWaitExceeded) as refused:
                await second.acquire(deadline=time.monotonic() + 0.05)

            assert refused.value.paused is True
            assert 9.0 < refused.value.needed <= 10.5
        finally:
            for store in stores:
                await store.aclose()

    asyncio.run(scenario())


def test_concurrent_429s_of_one_generation_cut_the_fleet_rate_once(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(40.0, burst=2)) as (first, second):
            tickets = [await first.acquire(), await second.acquire()]

            cuts = [await first.on_rate_limited(tickets[0]), await second.on_rate_limited(tickets[1])]

            assert cuts == [True, False]
            assert float(budget(redis_url)["rate"]) == 20.0
            fresh = await second.acquire()
            assert fresh.generation == tickets[0].generation + 1
            assert await first.on_rate_limited(fresh) is True  # sent under the new rate: a new event
            assert float(budget(redis_url)["rate"]) == 10.0

    asyncio.run(scenario())


def test_a_cut_halves_the_fleet_burst_and_a_raise_gives_a_token_back(redis_url: str) -> None:
    async def scenario() -> None:
        config = rates(8.0, burst=4, ceiling=8.0, successes=1)
        async with two_processes(redis_url, config) as (first, second):
            assert await first.on_rate_limited(await first.acquire()) is True
            assert budget(redis_url)["burst"] == "2"  # and the rate 4 a second

            # The bucket is as full as it may be 0.5 s on (2 turns at 4 a second). Of 4 turns the
            # other process then asks for back to back, 2 come at once, not the configured 4.
            await asyncio.sleep(2 / 4.0)
            started = time.monotonic()
            turns = [await second.acquire() for _ in range(4)]
            assert [t.idle for t in turns] == [True, True, False, False]
            assert time.monotonic() - started >= 2 / 4.0
            assert second.burst == 2

            held = [await second.acquire() for _ in range(HOLD_AFTER_CUT)]
            assert [await second.on_success(t) for t in held][-1] is True
            assert (float(budget(redis_url)["rate"]), budget(redis_url)["burst"]) == (8.0, "3")

    asyncio.run(scenario())


def test_successes_of_every_process_count_towards_one_increase(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(20.0, burst=1, ceiling=40.0, successes=3)) as (a, b):
            tickets = [await a.acquire(), await b.acquire(), await a.acquire(), await b.acquire()]
            # The first went at once: its success says nothing about a higher rate. The others
            # waited for their turns: the rate paced them, and their successes count.
            assert [t.idle for t in tickets] == [True, False, False, False]

            raised = [await (a if i % 2 == 0 else b).on_success(t) for i, t in enumerate(tickets)]

            assert raised == [False, False, False, True]
            assert float(budget(redis_url)["rate"]) == 30.0
            await a.acquire()  # the other process learns the raise at its next turn
            assert a.rate == b.rate == 30.0

    asyncio.run(scenario())


def test_after_a_cut_the_fleet_climbs_again_only_after_a_longer_run(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(20.0, ceiling=40.0, successes=2)) as (a, b):
            await a.acquire()
            assert await a.on_rate_limited(await a.acquire()) is True  # 20 -> 10 a second
            paced = [await (a if i % 2 else b).acquire() for i in range(2 * HOLD_AFTER_CUT + 2)]
            assert not any(t.idle for t in paced)
            raised = [await (a if i % 2 else b).on_success(t) for i, t in enumerate(paced)]

            # The climb back toward the refused rate waits for HOLD_AFTER_CUT runs; then the usual run.
            assert raised == [False] * (2 * HOLD_AFTER_CUT - 1) + [True, False, True]
            assert float(budget(redis_url)["rate"]) == 30.0

    asyncio.run(scenario())


def test_a_process_s_waiters_take_the_fleet_s_turns_earliest_due_first(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(20.0)) as (a, _):
            await a.acquire()  # the next turn is one interval away: everyone below waits for turns
            order: list[str] = []

            async def one(name: str, due: float | None) -> None:
                await a.acquire(due=due)
                order.append(name)

            waiters = [("head", 100.0), ("late", 90.0), ("undated", None), ("urgent", 10.0)]
            await asyncio.gather(*(one(name, due) for name, due in waiters))

            assert order == ["head", "urgent", "late", "undated"]

    asyncio.run(scenario())


def test_a_turn_past_the_deadline_is_refused_at_once_and_reserves_nothing(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(1.0)) as (first, second):
            await first.acquire()
            before = budget(redis_url)

            with pytest.raises(RateLimitWaitExceeded) as refused:
                await second.acquire(deadline=time.monotonic() + 0.2)

            assert refused.value.paused is False
            assert 0.2 < refused.value.needed <= 1.0
            assert budget(redis_url) == before  # no turn was handed out

    asyncio.run(scenario())


def test_a_cancelled_waiter_gives_its_turn_back(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(1.0)) as (first, second):
            await first.acquire()
            before = budget(redis_url)
            waiting = asyncio.create_task(first.acquire())

            async def turn_handed_out() -> bool:
                return budget(redis_url)["tat"] != before["tat"]

            await until(turn_handed_out)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting

            assert budget(redis_url)["tat"] == before["tat"]
            # The other process gets that very turn, one interval on (else it would be two).
            await second.acquire(deadline=time.monotonic() + 1.5)

    asyncio.run(scenario())


def test_a_turn_voided_by_a_429_is_sent_under_the_new_rate(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(2.0)) as (first, second):
            sent = await first.acquire()
            waiting = asyncio.create_task(first.acquire())  # holds the next turn, half a second on

            async def turn_handed_out() -> bool:
                return float(budget(redis_url)["tat"]) > 0 and first.waiting == 1

            await until(turn_handed_out)
            assert await second.on_rate_limited(sent) is True

            ticket = await waiting
            assert ticket.generation == sent.generation + 1
            assert ticket.epoch == sent.epoch + 1

    asyncio.run(scenario())


def test_a_refunded_send_is_granted_again_without_waiting(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(0.5)) as (first, second):
            ticket = await first.acquire()

            await first.refund(ticket)  # its proxy failed: the host never saw it

            await second.acquire(deadline=time.monotonic() + 1.0)  # else the next turn is 2 s away
            with pytest.raises(RateLimitWaitExceeded):
                await first.acquire(deadline=time.monotonic() + 1.0)

    asyncio.run(scenario())


def test_a_retry_after_is_lengthened_by_jitter_never_shortened(redis_url: str) -> None:
    async def scenario() -> None:
        async with two_processes(redis_url, rates(50.0)) as (first, second):
            ticket = await first.acquire()
            await first.on_rate_limited(ticket, retry_after=10.0)

            with pytest.raises(RateLimitWaitExceeded) as refused:
                await second.acquire(deadline=time.monotonic() + 1.0)

            assert refused.value.paused is True
            assert 9.0 < refused.value.needed <= 10.0 * (1 + RETRY_AFTER_JITTER)

    asyncio.run(scenario())


# --- one bucket per host in every store ---------------------------------------------------------------


def test_concurrent_first_requests_to_a_host_share_one_bucket(store_url: str) -> None:
    """8 requests at once to a host allowed 20/s with a burst of 1: the 8th cannot reach it before
    7 intervals have passed. With a bucket per first request (the old race) all 8 arrived at once."""

    async def scenario() -> None:
        async with Upstream({PATH: respond_json({"games": []})}) as upstream:
            store = open_store(store_url)
            fetcher = Fetcher(store=store, upstream_overrides={BASE: upstream.url})
            policy = SourcePolicy(name="test", rate=rates(20.0))
            try:
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        fetcher.fetch(Request(BASE + PATH), policy, AttemptLog(), fetcher.budget(policy))
                        for _ in range(8)
                    )
                )
            finally:
                await fetcher.aclose()
                await store.aclose()

            assert upstream.count(PATH) == 8
            assert max(r.at for r in upstream.requests) - started >= 7 / 20.0

    asyncio.run(scenario())


def test_two_processes_sharing_redis_send_together_at_one_host_s_rate(redis_url: str) -> None:
    """The fast counterpart of test_fleet_ratelimit.py (4 real replicas, `make test-slow`): two
    Fetchers on two Redis connections, as two replicas hold them, each with 8 requests at once to a
    host allowed 20/s with a burst of 1. Together they get 16 turns of one schedule, so the 16th
    cannot arrive before 15 intervals; with a budget per process each would finish in 7."""

    async def scenario() -> None:
        async with Upstream({PATH: respond_json({"games": []})}) as upstream:
            stores = [RedisStore(redis_url), RedisStore(redis_url)]
            fetchers = [Fetcher(store=store, upstream_overrides={BASE: upstream.url}) for store in stores]
            policy = SourcePolicy(name="test", rate=rates(20.0))
            try:
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        fetcher.fetch(Request(BASE + PATH), policy, AttemptLog(), fetcher.budget(policy))
                        for fetcher in fetchers
                        for _ in range(8)
                    )
                )
            finally:
                for fetcher in fetchers:
                    await fetcher.aclose()
                for store in stores:
                    await store.aclose()

            assert upstream.count(PATH) == 16
            assert max(r.at for r in upstream.requests) - started >= 15 / 20.0
            assert float(budget(redis_url)["rate"]) == 20.0  # shared, and never refused: no cut

    asyncio.run(scenario())


# --- up-front admission -------------------------------------------------------------------------------------


def run_cli(args: list[str], upstream: Upstream, out: Path) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    env = {
        **base,
        "COURTSIDE_STATE": "memory",
        "COURTSIDE_UPSTREAMS": f"https://api.balldontlie.io={upstream.url}",
        "BDL_API_KEY": "admission-test-key",
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapers", "run", *args, "--out", str(out), "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_job_that_cannot_fit_its_deadline_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    """The unfiltered players catalogue: at least 40 pages at BallDontLie's 5 requests a minute need
    468 s, past the 300 s deadline. A filtered job of the same scraper runs."""
    team = (PROJECT_FIXTURES / "bdl" / "bdl_players-team-23.body.json").read_bytes()

    async def scenario() -> tuple[
        subprocess.CompletedProcess[str], subprocess.CompletedProcess[str], int, int
    ]:
        route = respond(200, team, {"Content-Type": "application/json"})
        async with Upstream({"/v1/players": route}) as upstream:
            refused = await asyncio.to_thread(run_cli, ["bdl_players"], upstream, tmp_path / "refused")
            asked_refused = upstream.count()
            admitted = await asyncio.to_thread(
                run_cli, ["bdl_players", "--team_id", "23"], upstream, tmp_path / "ok"
            )
            return refused, admitted, asked_refused, upstream.count()

    refused, admitted, asked_refused, asked = asyncio.run(scenario())

    assert refused.returncode == Outcome.INFEASIBLE.exit_code, refused.stdout + refused.stderr
    result = json.loads(refused.stdout)
    assert (result["status"], result["failure_class"]) == ("failed", "infeasible")
    assert "need at least 468s" in result["error_message"]
    assert asked_refused == 0
    completions = (tmp_path / "refused" / "_events" / "completions.jsonl").read_text().splitlines()
    assert [(c["status"], c["error_type"]) for c in map(json.loads, completions)] == [
        ("failed", "infeasible")
    ]

    assert admitted.returncode == 0, admitted.stdout + admitted.stderr
    assert json.loads(admitted.stdout)["status"] == "success"
    assert asked == 1


# --- the learned burst across real processes ----------------------------------------------------------


BDL = "https://api.balldontlie.io"
BDL_HOST = "api.balldontlie.io"
JSON_TYPE = {"Content-Type": "application/json"}
PLAYER = json.loads((PROJECT_FIXTURES / "bdl" / "bdl_player_detail-901101.body.json").read_text())


def _player_body(player: int) -> bytes:
    return json.dumps({**PLAYER, "data": {**PLAYER["data"], "id": player}}).encode()


def _bdl_registry(folder: Path) -> Path:
    """The project's registry with BallDontLie allowed a burst of 4 (its own is 1)."""
    registry = yaml.safe_load((PROJECT_ROOT / "registry.yaml").read_text())
    registry["sources"]["bdl"]["rate"] = {"per_second": 8, "burst": 4, "ceiling_per_second": 8}
    copied = folder / "registry.yaml"
    copied.write_text(yaml.safe_dump(registry))
    return copied


def _run_player(
    folder: Path, state: str, upstream: Upstream, player: int
) -> subprocess.CompletedProcess[str]:
    """One `scrapers run` in its own OS process, as a one-job container runs."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    env.update(
        COURTSIDE_STATE=state,
        COURTSIDE_UPSTREAMS=f"{BDL}={upstream.url}",
        COURTSIDE_REGISTRY=str(_bdl_registry(folder)),
        BDL_API_KEY="burst-test-key",
    )
    argv = ["run", "bdl_player_detail", "--player_id", str(player), "--out", str(folder / "out"), "--json"]
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_burst_one_process_learned_is_where_the_next_process_starts(
    kind: str, tmp_path: Path, redis_url: str
) -> None:
    """Two one-job containers, one after the other, each refused once (429): the first halves the
    host's rate and burst (8/s and 4 to 4/s and 2); the second, a new OS process, starts from those
    and halves them again."""
    state = f"sqlite:{tmp_path / 'state.sqlite'}" if kind == "sqlite" else redis_url

    async def learned() -> tuple[float, int]:
        """The host's learned rate and burst, read as a next process reads them."""
        stored: dict[str, Any] = {}
        if kind == "redis":
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            try:
                hash_key = f"courtside:{BUDGET_NAMESPACE}:{BDL_HOST}"
                stored = {str(k): v for k, v in client.hgetall(hash_key).items()}
            finally:
                client.close()
        else:
            store = open_store(state)
            try:
                stored = await store.get(LIMITER_NAMESPACE, BDL_HOST) or {}
            finally:
                await store.aclose()
        return float(stored["rate"]), int(stored["burst"])

    async def scenario() -> tuple[
        subprocess.CompletedProcess[str], tuple[float, int], subprocess.CompletedProcess[str]
    ]:
        routes = {
            "/v1/players/1": sequence([respond(429, b"slow down"), respond(200, _player_body(1), JSON_TYPE)]),
            "/v1/players/2": sequence([respond(429, b"slow down"), respond(200, _player_body(2), JSON_TYPE)]),
        }
        async with Upstream(routes) as upstream:
            first = await asyncio.to_thread(_run_player, tmp_path, state, upstream, 1)
            after_first = await learned()
            second = await asyncio.to_thread(_run_player, tmp_path, state, upstream, 2)
            return first, after_first, second

    first, after_first, second = asyncio.run(scenario())
    assert first.returncode == 0, first.stderr
    assert after_first == (4.0, 2)
    assert second.returncode == 0, second.stderr
    # Refused once too, it halves what it started from: the learned 4/s and 2, not the configured
    # 8/s and 4 (which would leave 4/s and 2 again).
    assert asyncio.run(learned()) == (2.0, 1)
