"""Metrics as the core produces them, read from the registry Prometheus would scrape.

The faults are real (loopback upstream and proxies); the values asserted are exactly what the
fault scenario implies, so a metric that stops moving, or moves for the wrong label, fails here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from proxy.config import BreakerSettings, ProxyConfig, ProxyEndpoint, Tier
from proxy.state import MemoryStore, StateStore, open_store
from scrapers.core.clock import FrozenClock
from scrapers.core.outcome import RunStatus
from scrapers.core.registry import load_registry
from scrapers.core.request import Request
from scrapers.core.result import RunResult
from scrapers.events.delivery import local_delivery
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink
from tests.conftest import PROJECT_FIXTURES
from tests.harness import ForwardProxy, Upstream, respond, respond_json, sequence
from tests.integration.test_core_scenarios import BASE, HOST, PATH, policy

pytestmark = pytest.mark.integration

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
SCOREBOARD = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()


def sample(metrics: FleetMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_attempts_tiers_and_breakers_follow_a_403_escalation_and_a_407_proxy() -> None:
    async def scenario() -> None:
        metrics = FleetMetrics()
        async with (
            Upstream({PATH: respond_json({"ok": True})}) as up,
            ForwardProxy("dc1") as dc1,
            ForwardProxy("dc2") as dc2,
            ForwardProxy("res1") as res1,
        ):
            config = ProxyConfig(
                (
                    Tier("datacenter", (ProxyEndpoint("dc1", "datacenter", dc1.url),)),
                    Tier("datacenter2", (ProxyEndpoint("dc2", "datacenter2", dc2.url),)),
                    Tier("residential", (ProxyEndpoint("res1", "residential", res1.url),)),
                ),
                BreakerSettings(fail_max=1, reset_seconds=300),
            )
            fetcher = Fetcher(
                proxies=config,
                store=MemoryStore(),
                upstream_overrides={BASE: up.url},
                observer=FetchMetrics(metrics),
            )
            dc1.forbid_hosts({f"127.0.0.1:{up.port}"})
            dc2.auth_required()
            pol = policy(["datacenter", "datacenter2", "residential"])
            try:
                await fetcher.fetch(Request(BASE + PATH), pol, AttemptLog(), fetcher.budget(pol))
            finally:
                await fetcher.aclose()

        assert (
            sample(metrics, "scraper_attempts_total", source="test", tier="datacenter", outcome="blocked")
            == 1
        )
        assert (
            sample(metrics, "scraper_attempts_total", source="test", tier="datacenter2", outcome="proxy") == 1
        )
        assert sample(metrics, "scraper_attempts_total", source="test", tier="residential", outcome="ok") == 1
        assert sample(metrics, "scraper_proxy_tier_chosen_total", source="test", tier="datacenter") == 1
        # fail_max=1: both failing proxies' circuits opened, each counted once by tier and provider.
        for tier, provider in (("datacenter", "dc1"), ("datacenter2", "dc2")):
            labels = {"tier": tier, "provider": provider}
            assert sample(metrics, "scraper_breaker_transitions_total", **labels, to_state="open") == 1
            assert sample(metrics, "scraper_breaker_circuits", **labels, state="open") == 1
        assert (
            sample(metrics, "scraper_breaker_circuits", tier="residential", provider="res1", state="closed")
            == 1
        )
        assert sample(metrics, "scraper_requests_in_flight", source="test") == 0
        assert sample(metrics, "scraper_request_duration_seconds_count", source="test") == 3

    asyncio.run(scenario())


def test_retries_and_limiter_rate_after_a_429_burst() -> None:
    async def scenario() -> None:
        metrics = FleetMetrics()
        async with Upstream() as up:
            up.route(PATH, sequence([respond(429, "", {"Retry-After": "1"}), respond_json({"ok": True})]))
            fetcher = Fetcher(
                store=MemoryStore(), upstream_overrides={BASE: up.url}, observer=FetchMetrics(metrics)
            )
            pol = policy()
            try:
                await fetcher.fetch(Request(BASE + PATH), pol, AttemptLog(), fetcher.budget(pol))
            finally:
                await fetcher.aclose()

        assert sample(metrics, "scraper_retries_total", source="test", outcome="rate_limited") == 1
        rate = sample(metrics, "scraper_limiter_rate_requests_per_second", source="test", host=HOST)
        assert rate == pol.rate.rate * pol.rate.decrease_factor

    asyncio.run(scenario())


def run_scoreboard(
    tmp_path: Path, metrics: FleetMetrics, store: StateStore, answer: httpx.Response
) -> RunResult:
    """One nbac_scoreboard_v2 run whose upstream answers `answer` (MockTransport: run logic only)."""
    registry = load_registry()

    async def go() -> RunResult:
        fetcher = Fetcher(
            transport=httpx.MockTransport(lambda _request: answer),
            store=store,
            throttle=False,
            observer=FetchMetrics(metrics),
        )
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(tmp_path / "out"),
            events=local_delivery(tmp_path / "out"),
            clock=CLOCK,
            metrics=metrics,
        )
        try:
            job = prepare(registry, "nbac_scoreboard_v2", {"gamedate": "2024-01-15"}, CLOCK)
            return await run_job(job, ctx)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_a_failure_recovered_by_a_later_process_is_counted_there(tmp_path: Path) -> None:
    state = f"sqlite:{tmp_path / 'state.sqlite'}"
    ok = httpx.Response(200, content=SCOREBOARD, headers={"content-type": "application/json"})
    first, second = FleetMetrics(), FleetMetrics()  # two one-job containers sharing the store

    failed = run_scoreboard(tmp_path, first, open_store(state), httpx.Response(404))
    recovered = run_scoreboard(tmp_path, second, open_store(state), ok)
    again = run_scoreboard(tmp_path, second, open_store(state), ok)

    assert (failed.status, recovered.status, again.status) == (RunStatus.FAILED,) + (RunStatus.SUCCESS,) * 2
    scraper = {"scraper": "nbac_scoreboard_v2"}
    assert sample(first, "scraper_failed_runs_total", **scraper, failure_class="not_found") == 1
    assert sample(second, "scraper_recovered_failures_total", **scraper) == 1  # once, not per success
    assert sample(second, "scraper_runs_total", **scraper, status="success") == 2
    assert sample(second, "scraper_landed_records_total", **scraper) == 2 * recovered.record_count
    assert sample(second, "scraper_landed_bytes_total", **scraper) > 0
    assert sample(second, "scraper_last_success_timestamp_seconds", **scraper) > 0
    assert sample(second, "scraper_suspicious_no_data_total", **scraper) == 0


def test_clean_no_data_is_not_suspicious(tmp_path: Path) -> None:
    metrics = FleetMetrics()

    result = run_scoreboard(tmp_path, metrics, MemoryStore(), httpx.Response(204))

    assert result.status is RunStatus.NO_DATA
    assert sample(metrics, "scraper_runs_total", scraper="nbac_scoreboard_v2", status="no_data") == 1
    assert sample(metrics, "scraper_suspicious_no_data_total", scraper="nbac_scoreboard_v2") == 0


def test_known_label_combinations_start_at_zero() -> None:
    metrics = FleetMetrics()
    metrics.initialise([("bdl_games", "bdl")], ["direct", "residential"], [("residential", "decodo-1")])

    text = metrics.registry.get_sample_value(
        "scraper_failed_runs_total", {"scraper": "bdl_games", "failure_class": "rate_limited"}
    )
    assert text == 0.0
    assert sample(metrics, "scraper_attempts_total", source="bdl", tier="residential", outcome="ok") == 0
    assert (
        metrics.registry.get_sample_value(
            "scraper_breaker_circuits", {"tier": "residential", "provider": "decodo-1", "state": "open"}
        )
        == 0.0
    )


def test_a_failing_process_still_reports_the_last_success_of_an_earlier_one(tmp_path: Path) -> None:
    state = f"sqlite:{tmp_path / 'state.sqlite'}"
    ok = httpx.Response(200, content=SCOREBOARD, headers={"content-type": "application/json"})
    earlier, later = FleetMetrics(), FleetMetrics()

    run_scoreboard(tmp_path, earlier, open_store(state), ok)
    run_scoreboard(tmp_path, later, open_store(state), httpx.Response(404))

    scraper = {"scraper": "nbac_scoreboard_v2"}
    succeeded_at = sample(earlier, "scraper_last_success_timestamp_seconds", **scraper)
    assert succeeded_at > 0
    assert sample(later, "scraper_last_success_timestamp_seconds", **scraper) == succeeded_at
