"""Counters that add up across one-job containers (scrapers/metrics/totals.py), against real servers.

The store primitives (`add_totals`, the push lease) run against a dict, a SQLite file and a real
redis-server. The pushes go to a real prometheus-pushgateway. The end-to-end test runs real
`scrapers run` processes sharing a real redis-server, pushing to a real Pushgateway that a real
Prometheus scrapes every second, and asks Prometheus what the dashboards and alerts would see.

Waiting is polling with a deadline; nothing sleeps for a fixed time and nothing asserts on durations.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from proxy.state import (
    MemoryStore,
    StateStore,
    acquire_lease,
    add_totals,
    open_store,
    release_lease,
)
from scrapers.core.outcome import RunStatus
from scrapers.metrics.exposition import PUSH_JOB, push
from scrapers.metrics.fleet import FleetMetrics
from scrapers.metrics.totals import TOTALS_NAMESPACE
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Upstream, respond
from tests.integration.prometheus_server import (
    PROMETHEUS,
    PrometheusAPI,
    PrometheusServer,
    find_binary,
    missing_reason,
    running_prometheus,
)

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.1
LEASE_TTL = 0.2

# --- the store primitives --------------------------------------------------------------------------------


def _with_stores(url: str, count: int, body: Callable[[list[StateStore]], Awaitable[None]]) -> None:
    """`count` separately opened stores on one URL (separate connections), always closed."""

    async def main() -> None:
        stores = [open_store(url) for _ in range(count)]
        try:
            await body(stores)
        finally:
            for store in stores:
                await store.aclose()

    asyncio.run(main())


def test_totals_add_up_start_at_zero_and_read_back_as_an_ordinary_value(store_url: str) -> None:
    async def body(stores: list[StateStore]) -> None:
        (store,) = stores
        first = await add_totals(store, TOTALS_NAMESPACE, "scraper=a", {"runs": 1.0, "bytes": 0.0})
        second = await add_totals(store, TOTALS_NAMESPACE, "scraper=a", {"runs": 2.5, "new": 1.0})

        assert first == {"runs": 1.0, "bytes": 0.0}
        assert second == {"runs": 3.5, "bytes": 0.0, "new": 1.0}
        assert await store.get(TOTALS_NAMESPACE, "scraper=a") == second
        assert await add_totals(store, TOTALS_NAMESPACE, "scraper=b", {}) == {}

    _with_stores(store_url, 1, body)


def test_concurrent_additions_through_two_connections_lose_nothing(shared_store_url: str) -> None:
    """A read-then-write addition would lose updates here: both connections interleave 100 adds."""
    adds = 50

    async def body(stores: list[StateStore]) -> None:
        await asyncio.gather(
            *(add_totals(store, TOTALS_NAMESPACE, "g", {"n": 1.0}) for store in stores for _ in range(adds))
        )
        assert await stores[0].get(TOTALS_NAMESPACE, "g") == {"n": 2.0 * adds}

    _with_stores(shared_store_url, 2, body)


def test_a_lease_has_one_holder_until_it_is_released_or_expires(store_url: str) -> None:
    async def body(stores: list[StateStore]) -> None:
        (store,) = stores
        assert await acquire_lease(store, "lease", "g", "a", 30.0)
        assert not await acquire_lease(store, "lease", "g", "b", 30.0)
        await release_lease(store, "lease", "g", "b")  # not b's: nothing happens
        assert not await acquire_lease(store, "lease", "g", "c", 30.0)
        await release_lease(store, "lease", "g", "a")
        assert await acquire_lease(store, "lease", "g", "b", LEASE_TTL)
        # b dies holding it: the lease expires by itself (polled, bounded).
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not await acquire_lease(store, "lease", "g", "c", 30.0):
            assert time.monotonic() < deadline, "the lease never expired"
            await asyncio.sleep(0.02)
        await release_lease(store, "lease", "g", "b")  # b's lease expired and is c's now
        assert not await acquire_lease(store, "lease", "g", "d", 30.0)

    _with_stores(store_url, 1, body)


# --- pushes to a real Pushgateway --------------------------------------------------------------------------

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def _gateway_text(gateway: str) -> str:
    response = httpx.get(f"{gateway}/metrics", timeout=10.0)
    response.raise_for_status()
    return response.text


def _samples(text: str) -> Samples:
    """What we pushed (job `courtside`, not the gateway's own series), as {sample name: {sorted
    labels without empty ones and job: value}}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("job") != PUSH_JOB:
                continue
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if v != "" and k != "job"))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_each_push_sends_the_totals_and_a_process_adds_only_what_it_gained(pushgateway: str) -> None:
    async def scenario() -> None:
        store = MemoryStore()  # what three containers sharing COURTSIDE_STATE would see
        first = FleetMetrics()
        first.runs.labels("bdl_games", "failed").inc()
        first.failed_runs.labels("bdl_games", "transient").inc()
        first.request_duration.labels("bdl").observe(0.3)
        await push(first, store, pushgateway, {"scraper": "bdl_games"})
        # The same process pushes again after a second run: only the second run is added.
        first.runs.labels("bdl_games", "failed").inc()
        await push(first, store, pushgateway, {"scraper": "bdl_games"})

        second = FleetMetrics()
        second.runs.labels("bdl_games", "failed").inc()
        second.failed_runs.labels("bdl_games", "blocked").inc()
        second.request_duration.labels("bdl").observe(3.0)
        second.last_run.labels("bdl_games").set(1_705_370_400)
        await push(second, store, pushgateway.removeprefix("http://"), {"scraper": "bdl_games"})

        text = _gateway_text(pushgateway)
        pushed = _samples(text)
        assert pushed["scraper_runs_total"] == {(("scraper", "bdl_games"), ("status", "failed")): 3.0}
        assert pushed["scraper_failed_runs_total"] == {
            (("failure_class", "transient"), ("scraper", "bdl_games")): 1.0,
            (("failure_class", "blocked"), ("scraper", "bdl_games")): 1.0,
        }
        source = (("scraper", "bdl_games"), ("source", "bdl"))
        assert pushed["scraper_request_duration_seconds_count"] == {source: 2.0}
        assert pushed["scraper_request_duration_seconds_sum"] == {source: pytest.approx(3.3)}
        buckets = {
            float(dict(labels)["le"]): value  # the gateway writes bounds its own way ("5", "+Inf")
            for labels, value in pushed["scraper_request_duration_seconds_bucket"].items()
        }
        assert (buckets[0.25], buckets[0.5], buckets[2.5], buckets[5.0], buckets[float("inf")]) == (
            0.0,
            1.0,
            1.0,
            2.0,
            2.0,
        )
        # A gauge is the last container's: replaced, not added.
        assert pushed["scraper_last_run_timestamp_seconds"] == {(("scraper", "bdl_games"),): 1_705_370_400.0}
        assert "_created" not in text
        info = pushed["scraper_build_info"]
        assert list(info.values()) == [1.0]
        assert not any(name.startswith("process_") for name in pushed), "a finished process's own series"

    asyncio.run(scenario())


def test_a_push_carries_only_its_own_group_and_groups_keep_their_own_totals(pushgateway: str) -> None:
    """A demo or fan-out process has series of several scrapers: each group pushes its own (the
    gateway would overwrite a foreign `scraper` label with the group's and refuse the duplicates)."""

    async def scenario() -> None:
        store = MemoryStore()
        metrics = FleetMetrics()
        metrics.initialise([("bdl_games", "bdl"), ("espn_scoreboard", "espn")], ["direct"], [])
        metrics.runs.labels("bdl_games", "success").inc()
        metrics.runs.labels("espn_scoreboard", "failed").inc()
        await push(metrics, store, pushgateway, {"scraper": "bdl_games"})
        await push(metrics, store, pushgateway, {"scraper": "espn_scoreboard"})

        runs = _samples(_gateway_text(pushgateway))["scraper_runs_total"]
        assert {labels: value for labels, value in runs.items() if value} == {
            (("scraper", "bdl_games"), ("status", "success")): 1.0,
            (("scraper", "espn_scoreboard"), ("status", "failed")): 1.0,
        }
        # Zero series are totals too: each group shows every status of its scraper from its first push.
        assert len(runs) == 2 * len(RunStatus)
        totals = await store.get(TOTALS_NAMESPACE, "scraper=bdl_games")
        assert totals is not None
        assert not any("espn_scoreboard" in series for series in totals)

    asyncio.run(scenario())


# --- N one-job containers, a real Pushgateway, a real Prometheus ------------------------------------------

STATS = "https://stats.nba.com"
SCRAPER = "nbac_scoreboard_v2"
SCOREBOARD_PATH = "/stats/scoreboardV2"
SCOREBOARD_BODY = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
# Five, because ScraperFalsePositiveShareHigh counts only an hour with at least 5 failed runs.
FAILING_CONTAINERS = 5
GROUP = f'scraper="{SCRAPER}"'


# Containers, a Pushgateway and a Prometheus end to end (15-30 s): `make test-slow`. `make test`
# keeps the push tests above against a real Pushgateway.
@pytest.mark.slow
def test_failing_containers_add_up_on_prometheus_scraping_the_pushgateway(
    redis_url: str, pushgateway: str, tmp_path: Path
) -> None:
    if find_binary(PROMETHEUS) is None:
        pytest.skip(missing_reason(PROMETHEUS))
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    with running_prometheus(workdir) as prometheus:
        asyncio.run(_containers_add_up(prometheus, redis_url, pushgateway, tmp_path))


async def _containers_add_up(
    prometheus: PrometheusServer, redis_url: str, gateway: str, tmp_path: Path
) -> None:
    prometheus.scrape(gateway.removeprefix("http://"))
    async with (
        httpx.AsyncClient(timeout=10.0) as client,
        Upstream(
            {SCOREBOARD_PATH: respond(200, SCOREBOARD_BODY, {"Content-Type": "application/json"})}
        ) as up,
    ):
        api = PrometheusAPI(prometheus.url, client)
        env = _container_env(redis_url, gateway, up.url)

        # The scraper's group exists before the failures, as in a fleet that has run before:
        # Prometheus counts increase() from a series' first sample, so a group's very first push
        # is its baseline (README "Metrics and dashboards").
        (baseline,) = await _containers(1, env, tmp_path / "baseline")
        assert baseline["status"] == "success", baseline
        failed = f"sum(scraper_failed_runs_total{{{GROUP}}})"
        await _until(lambda: _equals(api, failed, 0.0), "the baseline group scraped", prometheus)
        await _until(
            lambda: _equals(api, f'scraper_runs_total{{{GROUP},status="success"}}', 1.0),
            "the baseline run counted",
            prometheus,
        )

        up.route(SCOREBOARD_PATH, respond(403, "Forbidden"))
        results = await _containers(FAILING_CONTAINERS, env, tmp_path / "failing")
        assert [result["status"] for result in results] == ["failed"] * FAILING_CONTAINERS, results
        classes = sorted(str(result["failure_class"]) for result in results)

        await _until(
            lambda: _equals(api, failed, float(FAILING_CONTAINERS)), "every failure scraped", prometheus
        )
        # The counter never went down between scrapes: Prometheus saw no reset.
        resets = await api.query(f"sum(resets(scraper_failed_runs_total{{{GROUP}}}[5m]))")
        assert resets.values == [0.0]
        assert (await api.query(f"sum(resets(scraper_runs_total{{{GROUP}}}[5m]))")).values == [0.0]

        # increase() over exactly the span Prometheus has samples for (evaluated at the last sample,
        # so nothing is extrapolated): the number of failing containers.
        last = max((await api.query(f"timestamp(scraper_failed_runs_total{{{GROUP}}})")).values)
        first = await _first_sample_time(client, prometheus, last)
        span = last - first
        # 1 ms more than the span, so the first sample is inside whether the range's start is open
        # (Prometheus 3) or closed (2.x); its value is 0, so nothing is extrapolated towards it.
        window = f"{round(span * 1000) + 1}ms"
        exact = await _query_at(
            client, prometheus, f"sum(increase(scraper_failed_runs_total{{{GROUP}}}[{window}]))", last
        )
        assert exact == pytest.approx(FAILING_CONTAINERS)
        # What the dashboard's panel and the alert read now (extrapolated to the window's end).
        five_minutes = (await api.query(f"sum(increase(scraper_failed_runs_total{{{GROUP}}}[5m]))")).values
        assert len(five_minutes) == 1
        assert round(five_minutes[0]) >= FAILING_CONTAINERS
        by_status = await api.query(f"sum by (status) (scraper_runs_total{{{GROUP}}})")
        runs = {metric["status"]: value for metric, value in by_status.series if value}
        assert runs == {"success": 1.0, "failed": float(FAILING_CONTAINERS)}

        # The false-positive alert sees them: 403 is `blocked`, so the share is 100 % of >= 5 failures
        # and the rule goes pending (it fires after its `for: 15m`).
        async def pending() -> bool:
            alerts = (await api.data("/api/v1/alerts"))["alerts"]
            return any(alert["labels"]["alertname"] == "ScraperFalsePositiveShareHigh" for alert in alerts)

        await _until(pending, "ScraperFalsePositiveShareHigh pending", prometheus)

        created = await api.query('count({__name__=~".+_created"})')
        assert created.values == []
        assert "_created" not in _gateway_text(gateway)
        print(
            f"\n{FAILING_CONTAINERS} failing containers ({', '.join(classes)}) after 1 successful one: "
            f"increase over the {span:.1f}s of samples = {exact:g}, "
            f"increase[5m] now = {five_minutes[0]:.3f}, resets = 0"
        )


def _container_env(redis_url: str, gateway: str, upstream: str) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    return {
        **base,
        "COURTSIDE_STATE": redis_url,
        "COURTSIDE_PUSHGATEWAY": gateway,
        "COURTSIDE_UPSTREAMS": f"{STATS}={upstream}",
    }


async def _containers(count: int, env: dict[str, str], out: Path) -> list[dict[str, Any]]:
    """`count` one-job `scrapers run` processes at once, each its own container's worth of process."""

    async def one(index: int) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scrapers",
            "run",
            SCRAPER,
            "--gamedate",
            "2024-01-15",
            "--json",
            "--out",
            str(out / str(index)),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), DEADLINE_SECONDS)
        said = stderr.decode(errors="replace")
        assert "metrics not pushed" not in said, said
        result: dict[str, Any] = json.loads(stdout)
        return result

    return list(await asyncio.gather(*(one(index) for index in range(count))))


async def _until(check: Callable[[], Awaitable[bool]], what: str, prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            log = prometheus.log.read_text(errors="replace")[-1500:]
            pytest.fail(f"no {what} within {DEADLINE_SECONDS}s; prometheus log:\n{log}")
        await asyncio.sleep(POLL_SECONDS)  # the poll interval, not a wait for something to happen


async def _equals(api: PrometheusAPI, expr: str, value: float) -> bool:
    return (await api.query(expr)).values == [value]


async def _query_at(client: httpx.AsyncClient, prometheus: PrometheusServer, expr: str, at: float) -> float:
    response = await client.get(f"{prometheus.url}/api/v1/query", params={"query": expr, "time": f"{at:.3f}"})
    response.raise_for_status()
    (result,) = response.json()["data"]["result"]
    return float(result["value"][1])


async def _first_sample_time(client: httpx.AsyncClient, prometheus: PrometheusServer, last: float) -> float:
    """When Prometheus first scraped the group's failed-runs series (a range query's first point)."""
    response = await client.get(
        f"{prometheus.url}/api/v1/query",
        params={
            "query": f'scraper_failed_runs_total{{{GROUP},failure_class="blocked"}}[10m]',
            "time": f"{last:.3f}",
        },
    )
    response.raise_for_status()
    (series,) = response.json()["data"]["result"]
    return float(series["values"][0][0])
