"""Getting metrics out: `/metrics` for the service, a Pushgateway push for one-job containers.

A job container pushes grouped by scraper only (no run or instance label), so each scraper has
one group that the next run replaces instead of an ever-growing set of dead series.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, push_to_gateway

from scrapers.metrics.fleet import FleetMetrics

PUSH_JOB = "courtside"
PUSH_TIMEOUT_SECONDS = 10.0


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def metrics_handler(metrics: FleetMetrics) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


def metrics_app(metrics: FleetMetrics) -> web.Application:
    """A bare app serving GET /metrics; the trigger service mounts the same handler."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics))
    return app


async def push(metrics: FleetMetrics, gateway: str, scraper: str) -> None:
    """Replace the scraper's group on the Pushgateway with this process's metrics."""
    parts = urlsplit(gateway if "://" in gateway else f"http://{gateway}")
    address = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    await asyncio.to_thread(
        push_to_gateway,
        address,
        job=PUSH_JOB,
        registry=metrics.registry,
        grouping_key={"scraper": scraper},
        timeout=PUSH_TIMEOUT_SECONDS,
    )
