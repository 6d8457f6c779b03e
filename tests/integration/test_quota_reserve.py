"""The Odds API quota reserve across one-job containers, on real loopback sockets.

Each job runs in its own Fetcher (a new container) sharing one SQLite state file, with the Odds
API base URL pointed at a loopback Upstream that answers with quota headers. The first job spends
credits and leaves the remaining count in the state store; the second would dip into the reserve
and is refused `auth` before a single request reaches the upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxy.state import SqliteStore
from scrapers.core.clock import FrozenClock
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import Registry, load_registry
from scrapers.core.result import RunResult
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.http.quota import QUOTA_NAMESPACE
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink
from tests.harness import Behaviour, Upstream, respond_json
from tests.unit.test_oddsa_common import HOU_AT_PHI, fixture_json

pytestmark = pytest.mark.integration

ODDS_API = "https://api.the-odds-api.com"
HOST = "api.the-odds-api.com"
PROPS_PATH = f"/v4/sports/basketball_nba/events/{HOU_AT_PHI}/odds"
EVENTS_PATH = "/v4/sports/basketball_nba/events"
PROPS_JOB = ("oddsa_player_props", {"event_id": HOU_AT_PHI, "game_date": "2024-01-15"})
CLOCK = FrozenClock(datetime(2024, 1, 15, 17, 0, tzinfo=UTC))
CANARY_KEY = "canary-odds-key-51c0aa"
HANG_GUARD_SECONDS = 60.0


def credits(remaining: int, used: int, last: int) -> dict[str, str]:
    return {
        "x-requests-remaining": str(remaining),
        "x-requests-used": str(used),
        "x-requests-last": str(last),
    }


def props(remaining: int) -> Behaviour:
    # The job costs 2 (one market, 12 bookmakers = 2 region units); the answer says what is left.
    body = fixture_json("oddsa_player_props-2024-01-15-HOUPHI")
    return respond_json(body, headers=credits(remaining, 20000 - remaining, 2))


@dataclass
class Fleet:
    upstream: Upstream
    registry: Registry
    state_file: Path
    out: Path

    async def run(self, name: str, options: Mapping[str, str]) -> RunResult:
        """One job in a fresh 'container': its own Fetcher and store connection, the shared file."""
        store = SqliteStore(self.state_file)
        fetcher = Fetcher(
            store=store,
            upstream_overrides={ODDS_API: self.upstream.url},
            secrets={"ODDS_API_KEY": CANARY_KEY}.get,
        )
        ctx = RunContext(
            registry=self.registry,
            fetcher=fetcher,
            sink=FileSink(self.out),
            events=local_delivery(self.out),
            clock=CLOCK,
            redactor=fetcher.redactor,
        )
        try:
            job = prepare(self.registry, name, dict(options), CLOCK)
            return await asyncio.wait_for(run_job(job, ctx), HANG_GUARD_SECONDS)
        finally:
            await fetcher.aclose()
            await store.aclose()

    async def remaining(self) -> object:
        store = SqliteStore(self.state_file)
        try:
            value = await store.get(QUOTA_NAMESPACE, HOST)
        finally:
            await store.aclose()
        return None if value is None else value["remaining"]


@asynccontextmanager
async def fleet(tmp_path: Path, routes: dict[str, Behaviour]) -> AsyncIterator[Fleet]:
    async with Upstream(routes) as upstream:
        yield Fleet(upstream, load_registry(), tmp_path / "state.sqlite", tmp_path / "out")


def test_second_job_is_refused_without_a_request_once_the_reserve_is_reached(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fleet(tmp_path, {PROPS_PATH: props(remaining=501)}) as f:
            first = await f.run(*PROPS_JOB)
            assert first.status is RunStatus.SUCCESS
            assert await f.remaining() == 501
            second = await f.run(*PROPS_JOB)
            assert second.status is RunStatus.FAILED
            assert second.failure_class is Outcome.AUTH
            assert second.error_message is not None
            assert "quota reserve" in second.error_message
            assert f.upstream.count(PROPS_PATH) == 1
            assert second.attempts["total"] == 0
            # The key travelled to the upstream only: never into landed files or completion events.
            assert f.upstream.requests[0].query["apiKey"] == CANARY_KEY
            for written in f.out.rglob("*"):
                if written.is_file():
                    assert CANARY_KEY not in written.read_text(encoding="utf-8")

    asyncio.run(scenario())


def test_plenty_left_lets_the_next_job_run(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fleet(tmp_path, {PROPS_PATH: props(remaining=19748)}) as f:
            results = [await f.run(*PROPS_JOB), await f.run(*PROPS_JOB)]
            assert [result.status for result in results] == [RunStatus.SUCCESS, RunStatus.SUCCESS]
            assert f.upstream.count(PROPS_PATH) == 2

    asyncio.run(scenario())


def test_quota_free_events_job_refreshes_a_stale_low_reading(tmp_path: Path) -> None:
    async def scenario() -> None:
        events = respond_json([], headers=credits(20000, 0, 0))  # the monthly reset
        async with fleet(tmp_path, {PROPS_PATH: props(remaining=400), EVENTS_PATH: events}) as f:
            await f.run(*PROPS_JOB)
            assert (await f.run(*PROPS_JOB)).failure_class is Outcome.AUTH
            listed = await f.run("oddsa_events", {"game_date": "2024-01-15"})
            assert listed.status is RunStatus.NO_DATA
            assert await f.remaining() == 20000
            assert (await f.run(*PROPS_JOB)).status is RunStatus.SUCCESS
            assert f.upstream.count(PROPS_PATH) == 2

    asyncio.run(scenario())
