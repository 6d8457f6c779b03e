"""The fleet's metrics, dashboard and alert rules against a real Prometheus and Pushgateway.

The end-to-end test serves `metrics_app(FleetMetrics())` on loopback, pushes a tick's decisions to
a real Pushgateway (as `scrapers tick` does), lets the session's real prometheus scrape both every
second, and drives jobs through the real core: replayed fixtures (as `scrapers demo` does) and
nbac_scoreboard_v2 against the loopback fault Upstream behind real forward proxies. Then it asks
Prometheus's HTTP API for the values those runs must have produced, and evaluates every PromQL
expression of dashboards/courtside.json and dashboards/alerts.yml.

Waiting is polling with a deadline (Prometheus discovers a new target within ~5 s, then scrapes
every second); nothing sleeps for a fixed time and nothing asserts on durations.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from proxy.config import ProxyConfig, ProxyEndpoint, Tier
from proxy.state import MemoryStore
from scrapers.core.clock import SystemClock
from scrapers.core.outcome import FALSE_POSITIVE_CLASSES, Outcome, RunStatus
from scrapers.core.registry import Registry, load_registry
from scrapers.core.settings import Settings
from scrapers.http.fetch import Fetcher
from scrapers.http.replay import ReplayTransport
from scrapers.metrics.exposition import PUSH_JOB, metrics_app, push
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics
from scrapers.pipeline.outputs import open_output
from scrapers.pipeline.queue import QueueMetrics
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.workflows.decide import Decision, Kind
from scrapers.workflows.metrics import WorkflowMetrics, push_groups
from scrapers.workflows.model import default_workflows_path, read_workflows
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Behaviour, ForwardProxy, Upstream, respond, sequence
from tests.integration.prometheus_server import (
    PROMTOOL,
    SCRAPE_JOB,
    PrometheusAPI,
    PrometheusServer,
    find_binary,
    missing_reason,
)

pytestmark = pytest.mark.integration

DASHBOARDS = PROJECT_ROOT / "dashboards"
DASHBOARD = DASHBOARDS / "courtside.json"
ALERTS = DASHBOARDS / "alerts.yml"
# promtool unit tests: minute-scale cases, and the scenarios over days (evaluated every 15 minutes).
ALERTS_TESTS = (DASHBOARDS / "alerts_test.yml", DASHBOARDS / "alerts_days_test.yml")
# Bounds a wait that should take seconds; a passing run never gets near it.
DEADLINE_SECONDS = 45.0
POLL_SECONDS = 0.2
SCRAPE_TIMESTAMP_MARGIN_SECONDS = 0.05

# Concrete values for the dashboard's variables when its queries run here. `$window` and the
# range variables cover the whole test (Prometheus holds only this test's minute of data).
GRAFANA_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
    "window": "1h",
    "scraper": ".*",
}
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")

# An alert's expression returns series only while its condition holds, and after the runs below
# no alert may hold (the test asserts that). So each alert is evaluated twice: whole, where it must
# parse, and as the part(s) before its threshold comparison, listed here, which must return series.
# Each part must occur verbatim (up to whitespace) in the rule, so the two cannot drift apart.
FALSE_POSITIVE_SHARE_1H = (
    'sum(increase(scraper_failed_runs_total{failure_class=~"blocked|proxy|rate_limited|transient"}[1h])) '
    "/ sum(increase(scraper_failed_runs_total[1h]))"
)
ALERT_PROBES: Mapping[str, tuple[str, ...]] = {
    "ScraperStale": ("time() - max by (scraper) (scraper_last_success_timestamp_seconds)",),
    "ScraperFalsePositiveShareHigh": (
        FALSE_POSITIVE_SHARE_1H,
        "sum(increase(scraper_failed_runs_total[1h]))",
    ),
    "ScraperProxyTierAllOpen": (
        'sum by (tier) (scraper_breaker_circuits{state="open"})',
        'sum by (tier) (scraper_breaker_circuits{state=~"closed|half-open"})',
    ),
    "ScraperQuotaLow": ("min by (source) (scraper_quota_remaining_requests)",),
    "ScraperQuotaReserveReached": ("min by (source) (scraper_quota_remaining_requests)",),
    "ScraperSuspiciousNoData": ("sum by (scraper) (increase(scraper_suspicious_no_data_total[1h]))",),
    # The gauge half has series only after a fail, which must not happen in these runs.
    "ScraperQualityFail": ('sum by (scraper) (increase(scraper_quality_verdicts_total{status="fail"}[1h]))',),
    "WorkflowDecisionsStalled": (
        "time() - max by (workflow) (scraper_workflow_last_decision_timestamp_seconds)",
    ),
    # The queue series are a worker's (QueueMetrics, registered below as `scrapers worker` does):
    # their known labels start at zero, so every part returns series with no job run through it.
    "QueueJobsDeadLettered": ('sum(increase(scraper_queue_jobs_total{result="dead_lettered"}[1h]))',),
    "QueueNotDraining": (
        "min by (instance) (scraper_queue_jobs_in_hand)",
        "sum by (instance) (increase(scraper_queue_answers_total[5m]))",
        'sum(increase(scraper_queue_answers_total{answer="nack"}[15m]))',
        'sum(increase(scraper_queue_answers_total{answer="ack"}[15m]))',
    ),
}

# --- the runs ------------------------------------------------------------------------------------------

STATS = "https://stats.nba.com"
SCOREBOARD_PATH = "/stats/scoreboardV2"
SCOREBOARD_BODY = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
FAULT_SCRAPER = "nbac_scoreboard_v2"
FAULT_SOURCE = "nbac"
TIERS = ("direct", "datacenter", "residential")
PROVIDERS = (("datacenter", "dc1"), ("residential", "res1"))


@dataclass(frozen=True)
class Replayed:
    scraper: str
    options: Mapping[str, str]
    status: RunStatus


@dataclass(frozen=True)
class Faulted:
    """One nbac_scoreboard_v2 run against the Upstream; `route` answers its scoreboard requests."""

    why: str
    gamedate: str
    route: Callable[[], Behaviour]
    status: RunStatus
    failure_class: Outcome | None = None


REPLAYED = (
    Replayed("oddsa_events", {"game_date": "2024-01-15"}, RunStatus.SUCCESS),
    Replayed("oddsa_events", {"game_date": "2024-02-16"}, RunStatus.NO_DATA),  # All-Star break
    Replayed("bdl_games", {"startDate": "2024-01-15", "endDate": "2024-01-15"}, RunStatus.SUCCESS),
    Replayed("espn_scoreboard", {"gamedate": "2024-01-15"}, RunStatus.SUCCESS),
)
# The last oddsapi response replayed, whose x-requests-remaining the quota gauge must show.
LAST_ODDSAPI_EXCHANGE = PROJECT_FIXTURES / "oddsapi" / "oddsa_events-2024-02-16.exchange.json"


def _scoreboard() -> Behaviour:
    return respond(200, SCOREBOARD_BODY, {"Content-Type": "application/json"})


FAULTED = (
    Faulted(
        "a 429 with Retry-After, then the answer",
        "2024-01-15",
        lambda: sequence([respond(429, "Too Many Requests", {"Retry-After": "1"}), _scoreboard()]),
        RunStatus.SUCCESS,
    ),
    Faulted(
        "503 forever: a false positive (the data exists)",
        "2024-01-15",
        lambda: respond(503, "Service Unavailable"),
        RunStatus.FAILED,
        Outcome.TRANSIENT,
    ),
    Faulted(
        "the same job key again, now answered: a recovered failure",
        "2024-01-15",
        _scoreboard,
        RunStatus.SUCCESS,
    ),
    Faulted(
        "403 on every tier: the endpoint changed, a real failure",
        "2024-01-16",
        lambda: respond(403, "Forbidden"),
        RunStatus.FAILED,
        Outcome.STRUCTURAL,
    ),
)
# What the runs above must have counted (attempts: 429+ok, 503 x4 = first try + 3 transient
# retries, ok, 403 via datacenter then residential).
FAULT_ATTEMPTS = {"ok": 2, "rate_limited": 1, "transient": 4, "blocked": 2}
FAULT_ATTEMPTS_BY_TIER = {"datacenter": 8, "residential": 1}


# --- static checks and promtool -------------------------------------------------------------------------


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = find_binary(PROMTOOL)
    if binary is None:
        pytest.skip(missing_reason(PROMTOOL))
    return subprocess.run(
        [binary, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_checks_the_alert_rules() -> None:
    done = _promtool("check", "rules", str(ALERTS.relative_to(PROJECT_ROOT)))

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alert_rules())} rules found" in done.stdout


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    done = _promtool("test", "rules", *(str(path.relative_to(PROJECT_ROOT)) for path in ALERTS_TESTS))

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(ALERTS_TESTS)
    tested = [
        case for path in ALERTS_TESTS for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    ]
    firing: set[str] = set()
    silent: set[str] = set()
    for case in tested:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in _alert_rules()}
    assert firing == names, "every alert needs a firing case"
    assert silent == names, "every alert needs a non-firing case"


def test_every_alert_has_a_runbook_url_naming_its_readme_section() -> None:
    headings = set()
    fenced = False
    for line in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("#"):
            # GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
            headings.add(re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-"))
    for rule in _alert_rules():
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert (page, anchor) == ("README.md", rule["alert"].lower())
        assert anchor in headings, f"README.md has no section for {rule['alert']}"


def test_the_scraped_exposition_has_no_created_series_and_has_process_and_build_series() -> None:
    """What Prometheus scrapes from GET /metrics (the service's and a worker's handler, served here on
    loopback): no `_created` sample (prometheus_client writes one per counter and histogram series,
    54 of the 140 lines of this registry), the process and Python series, and the build info."""
    metrics = FleetMetrics(revision="abc1234")
    metrics.initialise([("bdl_games", "bdl")], ["direct"], [])
    metrics.runs.labels("bdl_games", "failed").inc()
    metrics.request_duration.labels("bdl").observe(0.3)

    async def scrape() -> str:
        async with _serving(metrics_app(metrics)) as port, httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
            response.raise_for_status()
            return response.text

    text = asyncio.run(scrape())
    assert "_created" not in text
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
    runs = {s.labels["status"]: s.value for s in samples if s.name == "scraper_runs_total"}
    assert runs["failed"] == 1.0
    names = {sample.name for sample in samples}
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"} <= names
    [build] = [sample for sample in samples if sample.name == "scraper_build_info"]
    assert (build.labels["revision"], build.value) == ("abc1234", 1.0)


def test_quota_reserve_alert_matches_the_registry_reserve() -> None:
    quota = load_registry().sources["oddsapi"].settings.quota
    assert quota is not None
    reserve = quota.reserve
    (rule,) = [rule for rule in _alert_rules() if rule["alert"] == "ScraperQuotaReserveReached"]

    assert rule["expr"].strip().endswith(f"<= {reserve}")


def test_dashboard_is_importable_and_every_panel_uses_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))

    assert dashboard["schemaVersion"] >= 36
    assert dashboard["id"] is None  # importable as a new dashboard; the uid keeps re-imports in place
    assert dashboard["uid"]
    assert "__inputs" not in dashboard  # no import-time prompt: the variable picks the datasource
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == ("datasource", "prometheus")
    uses_variable = {"type": "prometheus", "uid": "${datasource}"}
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["description"].strip(), panel["title"]
        assert panel["datasource"] == uses_variable, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == uses_variable, panel["title"]
            assert target["expr"].strip(), panel["title"]
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == uses_variable
    every_expr = " ".join(_dashboard_exprs().values())
    for required in ("rate(", "increase(", "histogram_quantile(", " / "):
        assert required in every_expr.replace("\n", " ")


def test_false_positive_classes_in_the_dashboard_and_rules_are_the_codes() -> None:
    """Every `failure_class=~"..."` matcher names exactly the classes of Outcome.is_false_positive_class."""
    texts = [*_dashboard_exprs().values(), *(rule["expr"] for rule in _alert_rules())]
    matchers = [found for text in texts for found in re.findall(r'failure_class=~"([^"]+)"', text)]

    assert matchers
    for matcher in matchers:
        assert set(matcher.split("|")) == {outcome.value for outcome in FALSE_POSITIVE_CLASSES}


# --- end to end against a real Prometheus ----------------------------------------------------------------


def test_runs_reach_prometheus_and_every_dashboard_and_alert_expression_returns_series(
    prometheus: PrometheusServer, pushgateway: str, tmp_path: Path
) -> None:
    asyncio.run(_end_to_end(prometheus, pushgateway, tmp_path))


async def _end_to_end(prometheus: PrometheusServer, gateway: str, tmp_path: Path) -> None:
    registry = load_registry()
    metrics = FleetMetrics()
    metrics.initialise(((name, entry.source) for name, entry in registry.scrapers.items()), TIERS, PROVIDERS)
    QueueMetrics(metrics.registry)  # the work queue's series, on the same /metrics as a worker's
    started = time.time()
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
        api = PrometheusAPI(prometheus.url, client)
        port = await stack.enter_async_context(_serving(metrics_app(metrics)))
        instance = f"127.0.0.1:{port}"
        # A tick that just decided every workflow, pushed as `scrapers tick` pushes it.
        await _push_tick(gateway)
        prometheus.scrape(instance, gateway.removeprefix("http://"))

        # increase() only counts what happened after a series' first sample, so Prometheus must
        # see the pre-initialised zeros before the first run.
        up = f'up{{job="{SCRAPE_JOB}",instance="{instance}"}}'
        await _until(lambda: _has_value(api, up, 1.0), f"Prometheus scraping {instance}", prometheus)

        await _run_everything(registry, metrics, tmp_path, stack)
        finished = time.time()

        # A scrape that started after the last run holds the final values. Prometheus may shift a
        # scrape's timestamp by a few milliseconds to align it, hence the margin.
        latest = f'timestamp(scraper_runs_total{{instance="{instance}",scraper="{FAULT_SCRAPER}"}})'
        after = finished + SCRAPE_TIMESTAMP_MARGIN_SECONDS
        await _until(lambda: _at_least(api, latest, after), "a scrape after the runs", prometheus)

        await _assert_run_values(api, started)
        await _assert_dashboard_expressions_return_series(api)
        await _assert_alert_expressions_return_series(api)
        await _assert_rules_evaluate_and_nothing_alerts(api, prometheus)


async def _run_everything(
    registry: Registry, metrics: FleetMetrics, tmp_path: Path, stack: AsyncExitStack
) -> None:
    output = open_output(str(tmp_path / "out"), Settings.from_env({}))
    stack.callback(output.close)

    # Replay, as `scrapers demo` runs it: recorded exchanges, no proxies, no throttle, no secrets.
    replay = Fetcher(
        transport=ReplayTransport(PROJECT_FIXTURES),
        store=MemoryStore(),
        require_secrets=False,
        throttle=False,
        observer=FetchMetrics(metrics),
    )
    stack.push_async_callback(replay.aclose)
    replay_ctx = RunContext(
        registry=registry,
        fetcher=replay,
        sink=output.sink,
        events=output.delivery,
        trigger_source="replay",
        metrics=metrics,
    )
    for replayed in REPLAYED:
        job = prepare(registry, replayed.scraper, replayed.options, SystemClock())
        result = await run_job(job, replay_ctx)
        assert result.status is replayed.status, (replayed, result.error_message)

    # Faults: the loopback Upstream plays stats.nba.com behind two real forward proxy tiers. One
    # store for all four runs, as a fleet shares one, so the failed job key is remembered.
    upstream = await stack.enter_async_context(Upstream({SCOREBOARD_PATH: _scoreboard()}))
    endpoints = {}
    for tier, name in PROVIDERS:
        proxy = await stack.enter_async_context(ForwardProxy(name))
        endpoints[tier] = ProxyEndpoint(name, tier, proxy.url)
    tiers = tuple(Tier(tier, (endpoint,)) for tier, endpoint in endpoints.items())
    live = Fetcher(
        proxies=ProxyConfig(tiers),
        store=MemoryStore(),
        upstream_overrides={STATS: upstream.url},
        # Unthrottled, the limiter still holds the Retry-After pause but no longer paces
        # stats.nba.com at 1 request/s, which would only add ~13 s of waiting here.
        throttle=False,
        observer=FetchMetrics(metrics),
    )
    stack.push_async_callback(live.aclose)
    live_ctx = RunContext(
        registry=registry,
        fetcher=live,
        sink=output.sink,
        events=output.delivery,
        trigger_source="test",
        metrics=metrics,
    )
    for faulted in FAULTED:
        upstream.route(SCOREBOARD_PATH, faulted.route())
        job = prepare(registry, FAULT_SCRAPER, {"gamedate": faulted.gamedate}, SystemClock())
        result = await run_job(job, live_ctx)
        assert (result.status, result.failure_class) == (faulted.status, faulted.failure_class), (
            faulted.why,
            result.error_message,
        )


async def _assert_run_values(api: PrometheusAPI, started: float) -> None:
    runs = await _by_labels(api, "scraper_runs_total", ("scraper", "status"))
    expected_runs: dict[tuple[str, str], float] = {}
    for run in (*REPLAYED, *FAULTED):
        scraper = run.scraper if isinstance(run, Replayed) else FAULT_SCRAPER
        key = (scraper, run.status.value)
        expected_runs[key] = expected_runs.get(key, 0.0) + 1
    assert {key: value for key, value in runs.items() if value} == expected_runs

    failed = await _by_labels(api, "scraper_failed_runs_total", ("scraper", "failure_class"))
    assert {key: value for key, value in failed.items() if value} == {
        (FAULT_SCRAPER, "transient"): 1.0,
        (FAULT_SCRAPER, "structural"): 1.0,
    }
    # Pre-initialised at zero: every known scraper and class is a series before its first failure.
    assert failed[("bdl_games", "blocked")] == 0.0

    recovered = await _by_labels(api, "scraper_recovered_failures_total", ("scraper",))
    assert {key: value for key, value in recovered.items() if value} == {(FAULT_SCRAPER,): 1.0}

    assert (await api.query("sum(scraper_suspicious_no_data_total)")).values == [0.0]

    attempts = await _by_labels(
        api, f'sum by (outcome) (scraper_attempts_total{{source="{FAULT_SOURCE}"}})', ("outcome",)
    )
    assert {key[0]: value for key, value in attempts.items() if value} == FAULT_ATTEMPTS
    by_tier = await _by_labels(
        api, f'sum by (tier) (scraper_attempts_total{{source="{FAULT_SOURCE}"}})', ("tier",)
    )
    assert {key[0]: value for key, value in by_tier.items() if value} == FAULT_ATTEMPTS_BY_TIER

    # The false-positive share, exactly as the dashboard's stat panel computes it: 1 of 2 failures.
    share = _dashboard_exprs()["False-positive share of failed runs"]
    assert (await api.query(_substitute(share))).values == [pytest.approx(0.5)]
    assert (await api.query(FALSE_POSITIVE_SHARE_1H)).values == [pytest.approx(0.5)]

    remaining = json.loads(LAST_ODDSAPI_EXCHANGE.read_text(encoding="utf-8"))["response"]["headers"]
    quota = await api.query('scraper_quota_remaining_requests{source="oddsapi"}')
    assert quota.values == [float(remaining["x-requests-remaining"])]

    scrapers_run = {run.scraper for run in REPLAYED} | {FAULT_SCRAPER}
    for name in ("scraper_last_success_timestamp_seconds", "scraper_last_run_timestamp_seconds"):
        stamps = await _by_labels(api, name, ("scraper",))
        assert {key[0] for key in stamps} == scrapers_run, name
        assert all(started <= stamp <= time.time() for stamp in stamps.values()), (name, stamps)

    landed = await _by_labels(api, "scraper_landed_records_total", ("scraper",))
    assert landed[("espn_scoreboard",)] > 0
    assert landed[(FAULT_SCRAPER,)] > 0


async def _assert_dashboard_expressions_return_series(api: PrometheusAPI) -> None:
    failures = []
    for where, expr in _dashboard_exprs().items():
        result = await api.query(_substitute(expr))
        if result.status != "success" or not result.series:
            failures.append(f"{where}: {result.status} {result.error or 'no series'}: {expr}")
    assert not failures, "\n".join(failures)


async def _assert_alert_expressions_return_series(api: PrometheusAPI) -> None:
    rules = _alert_rules()
    assert {rule["alert"] for rule in rules} == set(ALERT_PROBES), "every alert needs its probes"
    failures = []
    for rule in rules:
        whole = await api.query(rule["expr"])
        if whole.status != "success":
            failures.append(f"{rule['alert']}: {whole.error}")
        for probe in ALERT_PROBES[rule["alert"]]:
            assert _squeeze(probe) in _squeeze(rule["expr"]), (rule["alert"], probe)
            part = await api.query(probe)
            if part.status != "success" or not part.series:
                failures.append(f"{rule['alert']}: {part.status} {part.error or 'no series'}: {probe}")
    assert not failures, "\n".join(failures)


async def _assert_rules_evaluate_and_nothing_alerts(api: PrometheusAPI, prometheus: PrometheusServer) -> None:
    names = {rule["alert"] for rule in _alert_rules()}

    async def evaluated() -> bool:
        groups = (await api.data("/api/v1/rules"))["groups"]
        loaded = [rule for group in groups for rule in group["rules"]]
        assert {rule["name"] for rule in loaded} == names
        errors = [f"{rule['name']}: {rule.get('lastError')}" for rule in loaded if rule["health"] == "err"]
        assert not errors, errors
        return all(rule["health"] == "ok" for rule in loaded)

    await _until(evaluated, "every alert rule evaluated", prometheus)
    # A few faults, no suspicious no_data, plenty of quota, no open circuit: nothing pending or firing.
    alerts = (await api.data("/api/v1/alerts"))["alerts"]
    assert alerts == []


async def _push_tick(gateway: str) -> None:
    workflows = read_workflows(default_workflows_path()).names()
    metrics = WorkflowMetrics(workflows)
    for name in workflows:
        metrics.decided(Decision(name, Kind.NOTHING_DUE, "no game today", datetime.now(UTC)))
    metrics.games("today", 0)
    metrics.games("yesterday", 9)
    await push_groups(metrics, MemoryStore(), gateway)


# --- Pushgateway ------------------------------------------------------------------------------------------


def test_push_groups_by_scraper_only_and_the_next_push_replaces_gauges_and_adds_to_counters(
    pushgateway: str,
) -> None:
    async def scenario() -> None:
        store = MemoryStore()  # the state store the containers share (Redis in a fleet)
        first = FleetMetrics()
        first.runs.labels("bdl_games", "failed").inc()
        first.failed_runs.labels("bdl_games", "transient").inc()
        first.last_run.labels("bdl_games").set(1_705_370_400)
        await push(first, store, pushgateway, {"scraper": "bdl_games"})

        other = FleetMetrics()
        other.runs.labels("espn_scoreboard", "success").inc()
        # host:port works too
        await push(other, store, pushgateway.removeprefix("http://"), {"scraper": "espn_scoreboard"})

        pushed = await _pushed_samples(pushgateway)
        assert pushed["scraper_runs_total"] == {
            (("job", PUSH_JOB), ("scraper", "bdl_games"), ("status", "failed")): 1.0,
            (("job", PUSH_JOB), ("scraper", "espn_scoreboard"), ("status", "success")): 1.0,
        }
        assert pushed["scraper_last_run_timestamp_seconds"] == {
            (("job", PUSH_JOB), ("scraper", "bdl_games")): 1_705_370_400.0
        }
        # One group per scraper: no instance, run or host label, so a finished job leaves no dead group.
        assert set(pushed["push_time_seconds"]) == {
            (("job", PUSH_JOB), ("scraper", "bdl_games")),
            (("job", PUSH_JOB), ("scraper", "espn_scoreboard")),
        }

        again = FleetMetrics()
        again.runs.labels("bdl_games", "success").inc()
        await push(again, store, pushgateway, {"scraper": "bdl_games"})

        replaced = await _pushed_samples(pushgateway)
        # Counters are the group's totals, so the next container's push adds to them...
        assert replaced["scraper_runs_total"] == {
            (("job", PUSH_JOB), ("scraper", "bdl_games"), ("status", "failed")): 1.0,
            (("job", PUSH_JOB), ("scraper", "bdl_games"), ("status", "success")): 1.0,
            (("job", PUSH_JOB), ("scraper", "espn_scoreboard"), ("status", "success")): 1.0,
        }
        assert replaced["scraper_failed_runs_total"] == {
            (("failure_class", "transient"), ("job", PUSH_JOB), ("scraper", "bdl_games")): 1.0
        }
        # ...and gauges are the last container's view.
        assert "scraper_last_run_timestamp_seconds" not in replaced

    asyncio.run(scenario())


async def _pushed_samples(gateway: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The gateway's /metrics as {sample name: {sorted labels: value}}; empty labels dropped.

    The Pushgateway adds `instance=""` to groups without an instance; an empty label is no label
    in Prometheus, so dropping it here keeps the assertions about what we pushed.
    """
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"{gateway}/metrics")
    response.raise_for_status()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if v != ""))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


# --- helpers --------------------------------------------------------------------------------------------


@asynccontextmanager
async def _serving(app: web.Application) -> AsyncIterator[int]:
    """Serve `app` on a loopback port the OS picks, in this event loop; yield the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def _until(check: Callable[[], Awaitable[bool]], what: str, prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            log = prometheus.log.read_text(errors="replace")[-1500:]
            pytest.fail(f"no {what} within {DEADLINE_SECONDS}s; prometheus log:\n{log}")
        await asyncio.sleep(POLL_SECONDS)  # the poll interval, not a wait for something to happen


async def _has_value(api: PrometheusAPI, expr: str, value: float) -> bool:
    return (await api.query(expr)).values == [value]


async def _at_least(api: PrometheusAPI, expr: str, bound: float) -> bool:
    values = (await api.query(expr)).values
    return bool(values) and min(values) >= bound


async def _by_labels(api: PrometheusAPI, expr: str, labels: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    result = await api.query(expr)
    assert result.status == "success", (expr, result.error)
    values: dict[tuple[str, ...], float] = {}
    for metric, value in result.series:
        key = tuple(metric.get(label, "") for label in labels)
        assert key not in values, f"{expr}: more than one series for {key}"
        values[key] = value
    return values


def _dashboard_exprs() -> dict[str, str]:
    """Every PromQL expression of the dashboard, keyed by panel title (and refId after the first)."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs: dict[str, str] = {}
    for panel in dashboard["panels"]:
        for index, target in enumerate(panel.get("targets", [])):
            key = panel["title"] if index == 0 else f"{panel['title']} ({target['refId']})"
            assert key not in exprs, f"two panels titled {key!r}"
            exprs[key] = target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            # label_values(metric, label) is Grafana's; the metric selector inside it is PromQL.
            found = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["definition"])
            assert found, variable["definition"]
            exprs[f"variable {variable['name']}"] = found.group(1)
    return exprs


def _substitute(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in GRAFANA_VARIABLES, f"no test value for dashboard variable ${name} in {expr}"
        return GRAFANA_VARIABLES[name]

    return _VARIABLE.sub(value, expr)


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def _squeeze(text: str) -> str:
    """Whitespace-insensitive form of an expression, for 'occurs verbatim in' checks."""
    return re.sub(r"\s+", "", text)
