"""Quota tracking and the reserve check: headers -> reading -> state store -> refusal before sending."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.state import MemoryStore
from scrapers.core.clock import FrozenClock
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import load_registry
from scrapers.core.result import RunResult
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import SourcePolicy
from scrapers.http.quota import QUOTA_NAMESPACE, QuotaReading, QuotaSettings, QuotaTracker, read_headers
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink
from tests.unit.test_oddsa_common import HOU_AT_PHI, fixture_json

HOST = "api.the-odds-api.com"
SETTINGS = QuotaSettings(
    remaining_header="x-requests-remaining",
    used_header="x-requests-used",
    last_header="x-requests-last",
    reserve=500,
)
CLOCK = FrozenClock(datetime(2024, 1, 15, 17, 0, tzinfo=UTC))
CANARY_KEY = "canary-odds-key-3b8e1d"


class CountingStore(MemoryStore):
    """A MemoryStore that counts writes: writes are what a shared store runs out of."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    async def put(
        self, namespace: str, key: str, value: dict[str, Any], ttl_seconds: float | None = None
    ) -> None:
        self.puts += 1
        await super().put(namespace, key, value, ttl_seconds)


def _headers(remaining: str, used: str = "100", last: str = "2") -> dict[str, str]:
    return {"X-Requests-Remaining": remaining, "X-Requests-Used": used, "X-Requests-Last": last}


# --- readings -----------------------------------------------------------------------------------


def test_headers_become_a_reading_whatever_their_case() -> None:
    assert read_headers(_headers("19748"), SETTINGS) == QuotaReading(19748.0, 100.0, 2.0)


@pytest.mark.parametrize("remaining", [None, "", "lots", "-1", "nan"])
def test_no_usable_remaining_count_is_no_reading(remaining: str | None) -> None:
    headers = {} if remaining is None else {"x-requests-remaining": remaining}
    assert read_headers(headers, SETTINGS) is None


def test_the_registry_names_the_odds_api_headers_and_reserve() -> None:
    registry = load_registry()
    policy = SourcePolicy.from_settings("oddsapi", registry.sources["oddsapi"].settings)
    assert policy.quota is not None
    assert policy.quota.remaining_header == policy.rules.quota_remaining_header == "x-requests-remaining"
    assert (policy.quota.used_header, policy.quota.last_header) == ("x-requests-used", "x-requests-last")
    assert policy.quota.reserve == 500
    assert SourcePolicy.from_settings("nbac", registry.sources["nbac"].settings).quota is None


# --- tracker ------------------------------------------------------------------------------------


def test_observe_keeps_the_last_reading_and_writes_only_changes() -> None:
    async def scenario() -> None:
        store = CountingStore()
        tracker = QuotaTracker(store)
        await tracker.observe(HOST, _headers("19748", last="0"), SETTINGS)
        await tracker.observe(HOST, _headers("19748", last="0"), SETTINGS)  # a quota-free call
        assert store.puts == 1
        await tracker.observe(HOST, _headers("19746", "102", "2"), SETTINGS)
        assert store.puts == 2
        assert tracker.latest()[HOST] == QuotaReading(19746.0, 102.0, 2.0)
        assert await store.get(QUOTA_NAMESPACE, HOST) == {"remaining": 19746.0, "used": 102.0, "last": 2.0}

    asyncio.run(scenario())


def test_responses_without_headers_or_policy_leave_the_reading_alone() -> None:
    async def scenario() -> None:
        store = CountingStore()
        tracker = QuotaTracker(store)
        await tracker.observe(HOST, _headers("900"), SETTINGS)
        await tracker.observe(HOST, {"content-type": "text/html"}, SETTINGS)  # a CDN error page
        await tracker.observe(HOST, _headers("1"), None)  # a source without quota headers
        assert store.puts == 1
        assert await tracker.remaining(HOST) == 900.0

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("remaining", "cost", "refused"),
    [
        (None, 40, False),  # unknown (first run, expired, replay): allow
        (540.0, 40, False),  # exactly the reserve is left afterwards
        (539.0, 40, True),
        (0.0, 0, False),  # quota-free jobs always run and refresh the reading
        (10.0, 1, True),
    ],
)
def test_reserve_check(remaining: float | None, cost: int, refused: bool) -> None:
    async def scenario() -> None:
        tracker = QuotaTracker(MemoryStore())
        if remaining is not None:
            await tracker.observe(HOST, {"x-requests-remaining": str(remaining)}, SETTINGS)
        if refused:
            with pytest.raises(ScrapeError) as caught:
                await tracker.ensure_reserve(SETTINGS, [HOST], cost)
            assert caught.value.outcome is Outcome.AUTH
            assert "quota reserve" in str(caught.value)
        else:
            await tracker.ensure_reserve(SETTINGS, [HOST], cost)

    asyncio.run(scenario())


def test_no_quota_settings_means_no_check() -> None:
    async def scenario() -> None:
        tracker = QuotaTracker(MemoryStore())
        await tracker.observe(HOST, {"x-requests-remaining": "0"}, SETTINGS)
        await tracker.ensure_reserve(None, [HOST], 100)

    asyncio.run(scenario())


# --- the runner's pre-check ---------------------------------------------------------------------


def _run_jobs(
    tmp_path: Path,
    store: MemoryStore,
    handler: Callable[[httpx.Request], httpx.Response],
    *jobs: tuple[str, dict[str, str]],
) -> list[RunResult]:
    registry = load_registry()

    async def go() -> list[RunResult]:
        fetcher = Fetcher(
            transport=httpx.MockTransport(handler), store=store, secrets={"ODDS_API_KEY": CANARY_KEY}.get
        )
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(tmp_path / "out"),
            events=local_delivery(tmp_path / "out"),
            clock=CLOCK,
            redactor=fetcher.redactor,
        )
        try:
            return [await run_job(prepare(registry, name, options, CLOCK), ctx) for name, options in jobs]
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


PROPS_JOB = ("oddsa_player_props", {"event_id": HOU_AT_PHI, "game_date": "2024-01-15"})
EVENTS_JOB = ("oddsa_events", {"game_date": "2024-01-15"})


def test_a_job_over_the_reserve_fails_auth_before_sending(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[], headers={"x-requests-remaining": "400"})

    store = CountingStore()
    asyncio.run(store.put(QUOTA_NAMESPACE, HOST, {"remaining": 501}))
    (result,) = _run_jobs(tmp_path, store, handler, PROPS_JOB)
    assert result.status is RunStatus.FAILED
    assert result.failure_class is Outcome.AUTH
    assert result.error_message is not None
    assert "quota reserve" in result.error_message
    assert sent == []
    assert result.landed == ()
    [event] = [json.loads(line) for line in (tmp_path / "out" / "_events" / "completions.jsonl").open()]
    assert event["error_type"] == "auth"
    assert CANARY_KEY not in json.dumps(event)


def test_quota_free_jobs_still_run_and_refresh_the_reading(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/odds"):
            return httpx.Response(200, json=fixture_json("oddsa_player_props-2024-01-15-HOUPHI"))
        # The monthly quota has reset since the last reading.
        return httpx.Response(200, json=[], headers={"x-requests-remaining": "20000", "x-requests-last": "0"})

    store = CountingStore()
    asyncio.run(store.put(QUOTA_NAMESPACE, HOST, {"remaining": 3}))
    events, props = _run_jobs(tmp_path, store, handler, EVENTS_JOB, PROPS_JOB)
    assert events.status is RunStatus.NO_DATA
    assert props.status is RunStatus.SUCCESS
