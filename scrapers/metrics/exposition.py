"""Getting metrics out: `/metrics` for the service, a Pushgateway push for one-job containers.

Neither carries `_created` series: prometheus_client adds one per counter and histogram series (a
creation timestamp Prometheus stores as one more series), nearly half of the exposition's lines.
They are dropped from what this module exposes rather than switched off with the library's
process-wide `disable_created_metrics()`, so the result does not depend on who imported what first.

A job container pushes grouped by scraper only (no run or instance label), so each scraper has one
group that the next run replaces instead of an ever-growing set of dead series; its counting series
are the fleet's totals from the state store, so the replaced counter still only grows
(scrapers/metrics/totals.py).

A process that ran several scrapers (`run-many`, each task of a sharded job) pushes once per scraper
into those same groups, and once into a group of its own for the counting series that no scraper
label divides (`push_by_scraper`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest, push_to_gateway
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from proxy.state import StateStore, StateStoreError
from scrapers.core.errors import CourtsideError
from scrapers.metrics.fleet import FleetMetrics
from scrapers.metrics.totals import (
    LeaseTimeout,
    SeriesFilter,
    counting,
    fold,
    group_families,
    group_lease,
    totals_registry,
    without_created,
)

PUSH_JOB = "courtside"
PUSH_TIMEOUT_SECONDS = 10.0
# A push holds its group's lease while it reads the totals and sends them; the lease outlives the
# push's own timeout, so it only expires early for a holder that died.
PUSH_LEASE_SECONDS = PUSH_TIMEOUT_SECONDS + 5.0
PUSH_LEASE_WAIT_SECONDS = PUSH_LEASE_SECONDS + 1.0
# A budgeted push whose lease came late still gets this long to send.
MIN_SEND_SECONDS = 0.5
SCRAPER_LABEL = "scraper"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class MetricsNotPushed(CourtsideError):
    """The push did not happen (state store or lease); what the run counted is kept when it can be."""


class _Exposed(Collector):
    """Several registries as one exposition, without `_created` samples."""

    def __init__(self, registries: Iterable[CollectorRegistry]) -> None:
        self._registries = tuple(registries)

    def collect(self) -> Iterable[Metric]:
        for registry in self._registries:
            for family in registry.collect():
                yield without_created(family)


def exposition(metrics: FleetMetrics) -> CollectorRegistry:
    """What GET /metrics serves: the fleet's series and the process's runtime series."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Exposed((metrics.registry, metrics.runtime)))
    return registry


def metrics_handler(metrics: FleetMetrics) -> Handler:
    exposed = exposition(metrics)

    async def handle(request: web.Request) -> web.Response:
        body = generate_latest(exposed)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


def metrics_app(metrics: FleetMetrics) -> web.Application:
    """A bare app serving GET /metrics; the trigger service mounts the same handler."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics))
    return app


def gateway_address(gateway: str) -> str:
    """`host:port` or a URL, as push_to_gateway wants it (scheme and path, no trailing slash)."""
    parts = urlsplit(gateway if "://" in gateway else f"http://{gateway}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


class Pushable(Protocol):
    """What a push needs of a set of metrics: its registry, and what its counting series already
    added to the fleet totals (FleetMetrics; the workflows' decision metrics)."""

    registry: CollectorRegistry
    folded: dict[str, float]


async def push(
    metrics: Pushable,
    store: StateStore,
    gateway: str,
    group: Mapping[str, str],
    *,
    keep: SeriesFilter | None = None,
    budget_seconds: float | None = None,
) -> None:
    """Replace `group` on the Pushgateway: this process's gauges and the group's counter totals.

    `group` is the grouping key: `{"scraper": name}` for a job container, the service's own at its
    shutdown, `{"instance": "tick"}` for `scrapers tick`. `keep` narrows the series this process
    pushes into it (`push_by_scraper`). `budget_seconds` bounds the wait for the group's lease and
    the send together (a stopping process); without it, a push may take up to
    PUSH_LEASE_WAIT_SECONDS + PUSH_TIMEOUT_SECONDS. Raises MetricsNotPushed (store or lease) or
    OSError (the gateway; urllib's errors).
    """
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    families = group_families(metrics.registry, group, keep)
    try:
        # Added first, outside the lease: even a push that cannot happen keeps this run's counts.
        await fold(store, group, families, metrics.folded)
        wait = PUSH_LEASE_WAIT_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
        async with group_lease(store, group, hold_seconds=PUSH_LEASE_SECONDS, wait_seconds=wait):
            registry = await totals_registry(store, group, families)
            timeout = PUSH_TIMEOUT_SECONDS
            if deadline is not None:
                timeout = min(timeout, max(MIN_SEND_SECONDS, deadline - time.monotonic()))
            await asyncio.to_thread(
                push_to_gateway,
                gateway_address(gateway),
                job=PUSH_JOB,
                registry=registry,
                grouping_key=dict(group),
                timeout=timeout,
            )
    except StateStoreError as exc:
        raise MetricsNotPushed(f"state store: {exc}") from exc
    except LeaseTimeout as exc:
        raise MetricsNotPushed(
            f"{exc}; this run's counts are in the totals, the next push sends them"
        ) from exc


@dataclass(frozen=True)
class GroupNotPushed:
    group: Mapping[str, str]
    error: MetricsNotPushed | OSError


async def push_by_scraper(
    metrics: Pushable,
    store: StateStore,
    gateway: str,
    scrapers: Iterable[str],
    own_group: Mapping[str, str],
    *,
    budget_seconds: float | None = None,
) -> list[GroupNotPushed]:
    """Push a process that ran several scrapers: one group per scraper, and `own_group`.

    Each scraper's group is the one a `scrapers run` container of that scraper pushes, so the
    scraper's counters add up across both kinds of container, and its gauges (last run, last
    success) are replaced only by a process that ran it: one group for the whole process would lose
    another shard's scrapers' gauges at every push. A scraper's group gets its own series and the
    gauges no scraper label names (build info, breaker states, limiter rates, as a one-job
    container pushes them), but not the counting series no scraper label names (HTTP attempts,
    retries and latencies by source, proxy traffic by tier, breaker transitions): made by all the
    scrapers together, they cannot be divided among them, and in every group they would be counted
    once per group. They go, with those gauges, into `own_group` only.

    The groups are pushed concurrently (their counting series are disjoint, so their folds are
    too), each within `budget_seconds`. Returns the groups that were not pushed, and why.
    """

    def of_scraper(family: Metric, sample: Sample) -> bool:
        return SCRAPER_LABEL in sample.labels or not counting(family)

    def unlabelled(family: Metric, sample: Sample) -> bool:
        return SCRAPER_LABEL not in sample.labels

    groups: list[tuple[Mapping[str, str], SeriesFilter]] = [
        ({SCRAPER_LABEL: name}, of_scraper) for name in sorted(set(scrapers))
    ]
    groups.append((own_group, unlabelled))
    outcomes = await asyncio.gather(
        *(
            push(metrics, store, gateway, group, keep=keep, budget_seconds=budget_seconds)
            for group, keep in groups
        ),
        return_exceptions=True,
    )
    failed = []
    for (group, _), outcome in zip(groups, outcomes, strict=True):
        if isinstance(outcome, MetricsNotPushed | OSError):
            failed.append(GroupNotPushed(group, outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
    return failed
