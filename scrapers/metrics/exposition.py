"""Getting metrics out: `/metrics` for the service, a Pushgateway push for one-job containers.

Neither carries `_created` series: prometheus_client adds one per counter and histogram series (a
creation timestamp Prometheus stores as one more series), nearly half of the exposition's lines.
They are dropped from what this module exposes rather than switched off with the library's
process-wide `disable_created_metrics()`, so the result does not depend on who imported what first.

A job container pushes grouped by scraper only (no run or instance label), so each scraper has one
group that the next run replaces instead of an ever-growing set of dead series; its counting series
are the fleet's totals from the state store, so the replaced counter still only grows
(scrapers/metrics/totals.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest, push_to_gateway
from prometheus_client.registry import Collector

from proxy.state import StateStore, StateStoreError
from scrapers.core.errors import CourtsideError
from scrapers.metrics.fleet import FleetMetrics
from scrapers.metrics.totals import (
    LeaseTimeout,
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


async def push(metrics: Pushable, store: StateStore, gateway: str, group: Mapping[str, str]) -> None:
    """Replace `group` on the Pushgateway: this process's gauges and the group's counter totals.

    `group` is the grouping key: `{"scraper": name}` for a job container, the service's own at its
    shutdown, `{"instance": "tick"}` for `scrapers tick`. Raises MetricsNotPushed (store or lease)
    or OSError (the gateway; urllib's errors).
    """
    families = group_families(metrics.registry, group)
    try:
        # Added first, outside the lease: even a push that cannot happen keeps this run's counts.
        await fold(store, group, families, metrics.folded)
        async with group_lease(
            store, group, hold_seconds=PUSH_LEASE_SECONDS, wait_seconds=PUSH_LEASE_WAIT_SECONDS
        ):
            registry = await totals_registry(store, group, families)
            await asyncio.to_thread(
                push_to_gateway,
                gateway_address(gateway),
                job=PUSH_JOB,
                registry=registry,
                grouping_key=dict(group),
                timeout=PUSH_TIMEOUT_SECONDS,
            )
    except StateStoreError as exc:
        raise MetricsNotPushed(f"state store: {exc}") from exc
    except LeaseTimeout as exc:
        raise MetricsNotPushed(
            f"{exc}; this run's counts are in the totals, the next push sends them"
        ) from exc
