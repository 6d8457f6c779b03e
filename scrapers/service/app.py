"""The service object (one per process) and the aiohttp application around it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

import httpx
import yaml
from aiohttp import web

from proxy.state import RedisStore
from scrapers.core.clock import Clock
from scrapers.core.errors import RegistryError, SettingsError
from scrapers.core.options import OptionSpec, OptionType
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry
from scrapers.core.settings import Locations, Settings
from scrapers.pipeline.jobs import RESERVED_KEYS
from scrapers.pipeline.once import OnceRunner, claim_owner
from scrapers.pipeline.queue import DeadLetter, LazyJobsTopic, QueueMetrics
from scrapers.pipeline.runs import RunBoard, RunManager
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import Core, open_core
from scrapers.service import routes
from scrapers.service.middleware import access_log_middleware, error_middleware, trace_middleware
from scrapers.service.protection import auth_middleware, body_limit_middleware
from scrapers.service.pubsub import PushRoute
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
    push: PushRoute | None = None  # POST /pubsub/push: job messages through the ledger's claim

    async def aclose(self) -> None:
        try:
            if self.push is not None:
                await self.push.aclose()
        finally:
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
    env: Settings,
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
    # A Redis store is shared by the replicas behind one load balancer: each writes its runs' views
    # there, so any of them answers GET /runs/{id}. SQLite and memory are one machine's, one process's.
    shared = isinstance(core.store, RedisStore)
    board = RunBoard(core.store, settings.shared_run_ttl_seconds) if shared else None
    manager = RunManager(core, settings, trigger_source=core.context.trigger_source, board=board)
    metrics = ServiceMetrics(core.metrics, lambda: manager.in_flight)
    service = Service(registry, settings, core, manager, metrics, replay, _version(), time.time())
    service.push = _push_route(core, manager, env, settings)
    return service


def _push_route(core: Core, manager: RunManager, env: Settings, settings: ServiceSettings) -> PushRoute:
    """The push route runs on the service's own run manager (its in-flight cap and shutdown drain)
    and ledger; children and dead letters go to the jobs topics when a project names them."""
    assert core.ledger is not None
    project = (env.project or "").strip()
    # Opened at first use: a service whose pushes never fan out nor dead-letter needs no Pub/Sub.
    jobs = LazyJobsTopic(project, env.jobs_topic, env.publish_timeout) if project else None
    dead = (
        DeadLetter(
            LazyJobsTopic(project, env.jobs_dead_letter_topic, env.publish_timeout, what="dead-letter topic"),
            env.jobs_max_attempts,
        )
        if project
        else None
    )
    return PushRoute(
        OnceRunner(manager, core.ledger, owner=claim_owner(), claim_seconds=env.claim_seconds),
        core.context.registry,
        core.context.clock,
        jobs=jobs,
        dead_letter=dead,
        metrics=QueueMetrics(core.metrics.registry),
        fan_out_concurrency=settings.fan_out_concurrency,
    )


def create_app(service: Service) -> web.Application:
    app = web.Application(
        # aiohttp answers 413 itself past this, also for bodies that do not declare their length.
        client_max_size=service.settings.max_body_bytes,
        middlewares=[
            trace_middleware(),
            access_log_middleware(),
            error_middleware(service.metrics),
            auth_middleware(service.settings.token),
            body_limit_middleware(service.settings.max_body_bytes),
        ],
    )
    app[routes.SERVICE] = service
    app[routes.OPENAPI] = _openapi_text(service.registry)
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
    problems = settings.problems(registry)
    if problems:
        raise SettingsError(problems)


def _openapi_text(registry: Registry) -> str | None:
    """The hand-written description plus one schema per scraper's options, from its options model."""
    try:
        text = resources.files("scrapers.service").joinpath(OPENAPI_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # an install without package data: GET /openapi.yaml answers 404
    document = yaml.safe_load(text)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in registry.names():
        schemas[f"options_{name}"] = _options_schema(name, registry.scrapers[name].options)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


# Every option travels as text in a job (dates may be keywords like TODAY); ints and bools may be
# JSON numbers and booleans, lists a JSON array or comma-separated text.
_JSON_TYPES = {OptionType.INT: ["integer", "string"], OptionType.BOOL: ["boolean", "string"]}


def _options_schema(name: str, specs: tuple[OptionSpec, ...]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for spec in specs:
        schema: dict[str, Any] = {"description": spec.help or spec.type.value, "examples": [spec.example]}
        if spec.type is OptionType.LIST:
            schema["oneOf"] = [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
        else:
            schema["type"] = _JSON_TYPES.get(spec.type, "string")
        if spec.choices:
            schema["enum"] = list(spec.choices)
        if spec.default is not None:
            schema["default"] = spec.default
        properties[spec.name] = schema
        for alias in spec.aliases:
            properties[alias] = {**schema, "deprecated": True, "description": f"old spelling of {spec.name}"}
    required = [spec.name for spec in specs if spec.required]
    return {"title": f"{name} options", "type": "object", "properties": properties, "required": required}


def _version() -> str:
    try:
        return metadata.version("courtside")
    except metadata.PackageNotFoundError:
        return "unknown"
