"""The service object (one per process) and the aiohttp application around it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata, resources

import httpx
from aiohttp import web

from scrapers.core.clock import Clock
from scrapers.core.errors import OptionError, RegistryError
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry
from scrapers.core.settings import Locations
from scrapers.pipeline.jobs import RESERVED_KEYS
from scrapers.pipeline.runs import RunManager
from scrapers.pipeline.settings import SCRAPER_CONCURRENCY_ENV, ServiceSettings
from scrapers.pipeline.wiring import Core, open_core
from scrapers.service import routes
from scrapers.service.middleware import access_log_middleware, error_middleware
from scrapers.service.protection import auth_middleware, body_limit_middleware
from scrapers.service.service_metrics import ServiceMetrics

OPENAPI_FILE = "openapi.yaml"


@dataclass
class Service:
    """Everything the routes share: one core (fetcher, limiters, breakers, state, output, metrics)."""

    registry: Registry
    settings: ServiceSettings
    core: Core
    manager: RunManager
    metrics: ServiceMetrics
    replay: bool
    version: str
    started: float

    async def aclose(self) -> None:
        await self.core.aclose()


async def open_service(
    registry: Registry,
    where: Locations,
    settings: ServiceSettings,
    redactor: Redactor,
    *,
    transport: httpx.AsyncBaseTransport | None,
    replay: bool,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
) -> Service:
    _check_names(registry, settings)
    if settings.token:
        redactor.add(settings.token)
    core = await open_core(
        registry,
        where,
        registry.scrapers.values(),
        transport,
        redactor,
        replay=replay,
        clock=clock,
        trigger_source="replay" if replay else "service",
        env=env,
    )
    manager = RunManager(core, settings, trigger_source=core.context.trigger_source)
    metrics = ServiceMetrics(core.metrics, lambda: manager.in_flight)
    return Service(registry, settings, core, manager, metrics, replay, _version(), time.time())


def create_app(service: Service) -> web.Application:
    app = web.Application(
        # aiohttp answers 413 itself past this, also for bodies that do not declare their length.
        client_max_size=service.settings.max_body_bytes,
        middlewares=[
            access_log_middleware(),
            error_middleware(service.metrics),
            auth_middleware(service.settings.token),
            body_limit_middleware(service.settings.max_body_bytes),
        ],
    )
    app[routes.SERVICE] = service
    app[routes.OPENAPI] = _openapi_text()
    routes.add_routes(app)
    return app


def _check_names(registry: Registry, settings: ServiceSettings) -> None:
    """Service keys must never shadow a scraper option, and limits must name real scrapers."""
    clashes = [
        f"{entry.name}: option '{spec.name}' is a reserved service key"
        for entry in registry.scrapers.values()
        for spec in entry.options
        if spec.name in RESERVED_KEYS
    ]
    if clashes:
        raise RegistryError(clashes)
    unknown = sorted(set(settings.scraper_concurrency_overrides) - set(registry.scrapers))
    if unknown:
        raise OptionError(
            SCRAPER_CONCURRENCY_ENV, f"unknown scraper(s): {', '.join(unknown)}", "4,bdl_games=1"
        )


def _openapi_text() -> str | None:
    try:
        return resources.files("scrapers.service").joinpath(OPENAPI_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # an install without package data: GET /openapi.yaml answers 404


def _version() -> str:
    try:
        return metadata.version("courtside")
    except metadata.PackageNotFoundError:
        return "unknown"
