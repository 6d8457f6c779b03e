"""The routes. None of them takes a URL to fetch: a job names a scraper and its typed options.

POST /scrape          one job (JSON body, or the query string); ?wait=false answers 202
POST /batch           several jobs, validated together, all 202 or none started
GET  /runs/{run_id}   progress and results (fan-out children included); with a Redis state store,
                      any replica answers for a run of any other
POST /pubsub/push     a Pub/Sub push subscription's endpoint: the message's data is a job (pubsub.py)
GET  /scrapers        the registry: names, options, fan-out children
GET  /health          liveness: the process answers (no remote dependency)
GET  /ready           readiness: state store and sink reachable
GET  /metrics         Prometheus exposition of the fleet metrics the fetcher feeds
POST /republish       send pending completions from the outbox (as `scrapers republish`)
GET  /openapi.yaml    this API's description
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from proxy.state import StateStoreError
from scrapers.core.errors import InvalidOptions, OptionError, UnknownScraperError
from scrapers.metrics.exposition import metrics_handler
from scrapers.pipeline.jobs import MalformedJob, PlannedJob, job_from_query, plan_job, read_job
from scrapers.pipeline.runs import RunRecord
from scrapers.service.errors import (
    BadRequest,
    NotFound,
    RequestTimeout,
    ShuttingDown,
    TooManyRequests,
    Unavailable,
)
from scrapers.service.readiness import OK, readiness

if TYPE_CHECKING:
    from scrapers.service.app import Service

SERVICE: web.AppKey[Service] = web.AppKey("service")
OPENAPI: web.AppKey[str | None] = web.AppKey("openapi")
CONTROL_PARAMS = frozenset({"wait"})
# What run ids look like (RunManager): anything else is no run, without asking the shared store.
RUN_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
log = logging.getLogger("scrapers.service")


def add_routes(app: web.Application) -> None:
    service = app[SERVICE]
    app.router.add_post("/scrape", scrape)
    app.router.add_post("/batch", batch)
    app.router.add_get("/runs/{run_id}", run_status)
    app.router.add_post("/pubsub/push", pubsub_push)
    app.router.add_get("/scrapers", scrapers)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics_handler(service.core.metrics))
    app.router.add_post("/republish", republish)
    app.router.add_get("/openapi.yaml", openapi)


async def scrape(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    wait = _wait(request)
    body = await _read_body(request)
    if body.strip():
        if set(request.query) - CONTROL_PARAMS:
            raise BadRequest("send the job either as a JSON body or in the query string, not both")
        raw = _decode(body)
    else:
        raw = job_from_query(request.query.items(), CONTROL_PARAMS)
    planned = _plan(service, raw)
    record = _submit(service, [planned])[0]
    if not wait:
        await _shared(service)
        return _accepted(record)
    await record.finished.wait()
    return web.json_response(
        record.view(), status=record.http_status or 500, headers={"X-Run-Id": record.run_id}
    )


async def batch(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    raw = _decode(await _read_body(request))
    items = raw.get("jobs") if isinstance(raw, Mapping) else raw
    limit = service.settings.max_batch_jobs
    if not isinstance(items, list) or not 0 < len(items) <= limit:
        raise BadRequest(f'a batch is a list of 1 to {limit} jobs, or {{"jobs": [...]}}')
    _check_admissible(service, len(items))
    planned: list[PlannedJob] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            planned.append(_plan(service, item))
        except BadRequest as exc:
            problems.append({"index": index, **exc.body()})
    if problems:
        raise BadRequest(
            f"{len(problems)} of {len(items)} jobs are invalid; none was started", problems=problems
        )
    records = _submit(service, planned)
    await _shared(service)
    return web.json_response({"runs": [_summary(record) for record in records]}, status=202)


async def run_status(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    run_id = request.match_info["run_id"]
    view = None
    if RUN_ID_PATTERN.fullmatch(run_id):
        try:
            view = await service.manager.view(run_id)
        except StateStoreError as exc:
            raise Unavailable(
                service.core.redactor(f"runs of other replicas are unknown: state store: {exc}"),
                service.settings.retry_after_seconds,
            ) from None
    if view is None:
        raise NotFound("no such run (finished runs are kept for a while, then forgotten)")
    return web.json_response(view)


async def pubsub_push(request: web.Request) -> web.StreamResponse:
    """One job message from a Pub/Sub push subscription, through the ledger's claim (pubsub.py)."""
    service = request.app[SERVICE]
    body = await _read_body(request)
    if service.push is None:
        raise Unavailable(
            "the push route is not set up in this process", service.settings.retry_after_seconds
        )
    return await service.push.answer(body)


async def scrapers(request: web.Request) -> web.StreamResponse:
    registry = request.app[SERVICE].registry
    rows = []
    for name in registry.names():
        entry = registry.scrapers[name]
        fan_out = entry.load_class().fan_out
        default = [child.child for child in fan_out if child.default]
        rows.append(
            {
                "name": name,
                "source": entry.source,
                "description": entry.description,
                "aliases": list(entry.aliases),
                "path": entry.path,
                "fan_out": default[0] if default else None,
                "children": [{"scraper": child.child, "default": child.default} for child in fan_out],
                "options": [
                    {
                        "name": spec.name,
                        "type": spec.type.value,
                        "required": spec.required,
                        "default": spec.default,
                        "example": spec.example,
                        "help": spec.help,
                        "choices": list(spec.choices),
                        "deprecated_aliases": list(spec.aliases),
                    }
                    for spec in entry.options
                ],
            }
        )
    return web.json_response({"count": len(rows), "scrapers": rows})


async def health(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    return web.json_response(
        {
            "status": "ok",
            "service": "courtside",
            "version": service.version,
            "mode": "replay" if service.replay else "live",
            "accepting": service.manager.accepting,
            "in_flight": service.manager.in_flight,
            "uptime_seconds": round(time.time() - service.started, 3),
        }
    )


async def ready(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    if not service.manager.accepting:
        return web.json_response({"status": "draining", "checks": {}}, status=503)
    checks = await readiness(service.core, service.settings.ready_timeout_seconds)
    checks = {name: service.core.redactor(value) for name, value in checks.items()}
    ok = all(value == OK for value in checks.values())
    return web.json_response(
        {"status": "ready" if ok else "not_ready", "checks": checks}, status=200 if ok else 503
    )


async def republish(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    delivery = service.core.output.delivery
    older_than = _seconds_param(request, "older_than", 0.0)
    report = await delivery.sweep(older_than)
    body = {
        "sent": len(report.sent),
        "failed": len(report.failed),
        "skipped": report.skipped,
        "settled": len(report.settled),
        "pruned": report.pruned,
        "uncertain": report.uncertain,
        "errors": sorted({service.core.redactor(error) for error in report.errors}),
        "older_than_seconds": older_than,
    }
    # Some completions are still pending: a scheduler's retry is the right reaction.
    return web.json_response(body, status=503 if report.failed else 200)


async def openapi(request: web.Request) -> web.StreamResponse:
    text = request.app[OPENAPI]
    if text is None:
        raise NotFound("this installation has no openapi.yaml (install the package with its data files)")
    return web.Response(text=text, content_type="application/yaml", charset="utf-8")


# ---------------------------------------------------------------------------------------- helpers


async def _read_body(request: web.Request) -> bytes:
    """The whole body within the body timeout. The header timeout ends once the head is in, and
    aiohttp bounds a body's size but not its pace: one dripped a byte every few seconds would hold
    this handler (and its connection) for as long as the client likes."""
    seconds = request.app[SERVICE].settings.body_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {seconds:g}s", body_timeout_seconds=seconds
        ) from None


def _decode(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("the request body is empty; send a JSON job")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadRequest(f"the body is not JSON: {exc}") from None


def _plan(service: Service, raw: object) -> PlannedJob:
    """A job planned exactly as the CLI plans `scrapers run`, or BadRequest with the CLI's message."""
    registry = service.registry
    try:
        return plan_job(read_job(raw, registry.names()), registry, service.core.context.clock)
    except MalformedJob as exc:
        details = {"available_scrapers": exc.available} if exc.available else {}
        raise BadRequest(str(exc), **details) from None
    except UnknownScraperError as exc:
        raise BadRequest(str(exc), available_scrapers=exc.known) from None
    except (InvalidOptions, OptionError) as exc:
        problems = exc.problems if isinstance(exc, InvalidOptions) else [exc]
        raise BadRequest(
            service.core.redactor(str(exc)),
            problems=[
                {"option": p.option, "problem": service.core.redactor(p.problem), "example": p.example}
                for p in problems
            ],
        ) from None


def _check_admissible(service: Service, jobs: int) -> None:
    """A batch takes one in-flight place per job, all at once: past the cap it could never be
    admitted, so 429's "send it again later" would be a lie."""
    cap = service.settings.max_in_flight
    if jobs > cap:
        raise BadRequest(
            f"a batch of {jobs} jobs can never be admitted: at most {cap} runs are in flight at once "
            f"(COURTSIDE_SERVICE_MAX_IN_FLIGHT={cap}); send it in batches of {cap} or fewer",
            jobs=jobs,
            max_in_flight=cap,
        )


def _submit(service: Service, planned: list[PlannedJob]) -> list[RunRecord]:
    manager = service.manager
    if not manager.accepting:
        raise ShuttingDown(service.settings.retry_after_seconds)
    if not manager.try_admit(len(planned)):
        raise TooManyRequests(
            f"{manager.in_flight} runs in flight, the limit is {service.settings.max_in_flight}; "
            "send it again later",
            service.settings.retry_after_seconds,
            in_flight=manager.in_flight,
            max_in_flight=service.settings.max_in_flight,
        )
    return [manager.submit(job) for job in planned]


async def _shared(service: Service) -> None:
    """With a shared store, the runs just admitted are written there before the answer goes out,
    so a poll of their URL through a load balancer finds them on any replica."""
    if service.manager.board is not None:
        await service.manager.board.flush()


def _summary(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "scraper": record.scraper,
        "state": record.state.value,
        "url": _url(record),
    }


def _accepted(record: RunRecord) -> web.StreamResponse:
    return web.json_response(
        _summary(record), status=202, headers={"Location": _url(record), "X-Run-Id": record.run_id}
    )


def _url(record: RunRecord) -> str:
    return f"/runs/{record.run_id}"


def _wait(request: web.Request) -> bool:
    value = request.query.get("wait", "true")
    if value not in ("true", "false"):
        raise BadRequest("'wait' is true or false")
    return value == "true"


def _seconds_param(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"'{name}' is a number of seconds, 0 or more")
    return value
