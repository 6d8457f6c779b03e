"""WorkflowDecisionsStalled in a real Prometheus, from series pushed the way `scrapers tick` pushes them.

A real prometheus-pushgateway gets what a tick records and pushes: WorkflowMetrics with one decision
per workflow of the project's workflows.yaml (every tick decides every workflow) and the league's
games, pushed by scrapers.metrics.exposition.push under the tick's group. A real prometheus with the
project's dashboards/alerts.yml scrapes the gateway and evaluates the rules every second
(tests/integration/prometheus_server.py). The test asks its HTTP API:

1. a tick that decided just now: the rule is evaluated on those series and stays inactive;
2. the last tick decided 2 hours ago (the controller stopped, the gateway still serves its last
   push): the alert fires for every workflow, at once (the rule has no `for`);
3. ticks come back: it resolves.

Waiting is polling with a deadline; nothing sleeps for a fixed time or asserts on a duration.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.state import MemoryStore
from scrapers.workflows.decide import Decision, Kind
from scrapers.workflows.metrics import WorkflowMetrics, push_groups
from scrapers.workflows.model import default_workflows_path, read_workflows
from tests.integration.prometheus_server import (
    PROMETHEUS,
    PrometheusAPI,
    PrometheusServer,
    find_binary,
    missing_reason,
    running_prometheus,
)

pytestmark = pytest.mark.integration

ALERT = "WorkflowDecisionsStalled"
LAST_DECISION = "scraper_workflow_last_decision_timestamp_seconds"
STOPPED_FOR = timedelta(hours=2)
# Bounds a wait that takes seconds (target discovery ~5 s, then scrapes and evaluations every
# second); a passing run never gets near it.
DEADLINE_SECONDS = 45.0
POLL_SECONDS = 0.2
# RFC 3339 with Prometheus's nanoseconds; Python reads microseconds.
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
def prometheus_here(tmp_path: Path) -> Iterator[PrometheusServer]:
    """A prometheus of this test's own, so its alert states are nobody else's."""
    if find_binary(PROMETHEUS) is None:
        pytest.skip(missing_reason(PROMETHEUS))
    with running_prometheus(tmp_path) as server:
        yield server


def test_stall_alert_fires_for_a_two_hour_old_decision_and_not_for_a_recent_one(
    prometheus_here: PrometheusServer, pushgateway: str
) -> None:
    asyncio.run(_scenario(prometheus_here, pushgateway))


async def _scenario(prometheus: PrometheusServer, gateway: str) -> None:
    workflows = read_workflows(default_workflows_path()).names()
    assert workflows, "workflows.yaml names no workflow"
    store = MemoryStore()  # the state store the tick containers share (Redis in a deployment)
    # Picked up at the next target discovery update, about 5 s from now.
    prometheus.scrape(gateway.removeprefix("http://"))
    async with httpx.AsyncClient(timeout=10.0) as client:
        api = PrometheusAPI(prometheus.url, client)

        async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while not await check():
                if time.monotonic() > deadline:
                    log = prometheus.log.read_text(errors="replace")[-1500:]
                    pytest.fail(f"no {what} within {DEADLINE_SECONDS}s; prometheus log:\n{log}")
                await asyncio.sleep(POLL_SECONDS)  # the poll interval, not a wait for something to happen

        # 1. A tick just decided: the rule sees the series and stays inactive.
        now = datetime.now(UTC).replace(microsecond=0)
        await _push_tick(store, gateway, workflows, now)
        seen = await _scraped(api, until, workflows, now)
        await until(lambda: _evaluated_after(api, seen), f"an evaluation of {ALERT} after the scrape")
        assert await _rule_state(api) == "inactive"
        assert await _stall_alerts(api) == []

        # 2. The last tick decided 2 hours ago: every workflow pages, at the first evaluation.
        stopped = datetime.now(UTC).replace(microsecond=0) - STOPPED_FOR
        await _push_tick(store, gateway, workflows, stopped)
        await _scraped(api, until, workflows, stopped)

        async def firing_for_every_workflow() -> bool:
            alerts = await _stall_alerts(api)
            return sorted(
                a["labels"].get("workflow", "") for a in alerts if a["state"] == "firing"
            ) == sorted(workflows)

        await until(firing_for_every_workflow, f"{ALERT} firing for {workflows}")
        alerts = await _stall_alerts(api)
        for alert in alerts:
            assert alert["labels"]["severity"] == "critical"
            assert alert["annotations"]["runbook_url"] == "README.md#workflowdecisionsstalled"
            age = float(alert["value"])
            assert STOPPED_FOR.total_seconds() <= age <= STOPPED_FOR.total_seconds() + DEADLINE_SECONDS * 2
            assert alert["annotations"]["summary"].startswith(
                f"No workflow decision for {alert['labels']['workflow']} in 2h"
            )
        assert await _rule_state(api) == "firing"

        # 3. Ticks are back: the alert resolves.
        back = datetime.now(UTC).replace(microsecond=0)
        await _push_tick(store, gateway, workflows, back)

        async def resolved() -> bool:
            return await _stall_alerts(api) == []

        await until(resolved, f"{ALERT} resolved after a recent tick")


async def _push_tick(store: MemoryStore, gateway: str, workflows: list[str], decided_at: datetime) -> None:
    """What one tick records and pushes: a decision per workflow, the league's games, one group."""
    metrics = WorkflowMetrics(workflows)
    for name in workflows:
        metrics.decided(Decision(name, Kind.NOTHING_DUE, "no game today", decided_at))
    metrics.games("today", 0)
    metrics.games("yesterday", 9)
    await push_groups(metrics, store, gateway)


async def _scraped(
    api: PrometheusAPI,
    until: Callable[[Callable[[], Awaitable[bool]], str], Awaitable[None]],
    workflows: list[str],
    decided_at: datetime,
) -> float:
    """Wait until Prometheus holds `decided_at` for every workflow; return that scrape's time."""
    expected = decided_at.timestamp()
    scraped_at: list[float] = []

    async def holds() -> bool:
        result = await api.query(f"{LAST_DECISION} == {expected!r}")
        found = {labels.get("workflow") for labels, _ in result.series}
        if found != set(workflows):
            return False
        stamps = await api.query(f"timestamp({LAST_DECISION} == {expected!r})")
        scraped_at.append(max(stamps.values))
        return True

    await until(holds, f"a scrape of the tick decided at {decided_at.isoformat()}")
    return scraped_at[-1]


async def _rule(api: PrometheusAPI) -> dict[str, Any]:
    groups = (await api.data("/api/v1/rules"))["groups"]
    [rule] = [rule for group in groups for rule in group["rules"] if rule["name"] == ALERT]
    assert rule["health"] != "err", rule.get("lastError")
    return dict(rule)


async def _rule_state(api: PrometheusAPI) -> str:
    return str((await _rule(api))["state"])


async def _evaluated_after(api: PrometheusAPI, moment: float) -> bool:
    rule = await _rule(api)
    return rule["health"] == "ok" and _unix(rule["lastEvaluation"]) > moment


async def _stall_alerts(api: PrometheusAPI) -> list[dict[str, Any]]:
    """Pending and firing alerts of the rule (a resolved one is not listed)."""
    alerts = (await api.data("/api/v1/alerts"))["alerts"]
    return [alert for alert in alerts if alert["labels"]["alertname"] == ALERT]


def _unix(text: str) -> float:
    match = _RFC3339.match(text)
    assert match, text
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(f"{whole}{'+00:00' if zone == 'Z' else zone}")
    return moment.timestamp() + float(f"0.{fraction or '0'}")
