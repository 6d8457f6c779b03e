"""`scrapers worker` drains the jobs topic; `scrapers enqueue` puts a job on it.

    scrapers enqueue nbac_scoreboard_v2 --game_date 2024-01-15       # + its per-game children
    scrapers enqueue nbac_gamebook_pdf --game_code 20240115/GSWMEM --force   # although done
    scrapers worker --concurrency 8 --out gs://nba-scraped-data        # until SIGTERM

The worker pulls COURTSIDE_JOBS_SUBSCRIPTION with its concurrency as flow control: it never holds
more messages than `--concurrency` (unary Pull of the free slots; PullLoop says why not the
streaming client), each run through the one run path exactly once per job key
(scrapers/pipeline/queue.py says what is acked and what is nacked). A parent's fan-out children
are published back to the topic, so they spread over every worker. After
COURTSIDE_JOBS_MAX_ATTEMPTS retryable failures in a row the job's message goes to
COURTSIDE_JOBS_DEAD_LETTER_TOPIC (and is acked), marked so in the ledger.

It serves GET /metrics (Prometheus: the runs' series and scraper_queue_jobs_total by what became
of each message) and GET /health on `--port` (default $PORT, else 8080; 0: any free port): a
Deployment's pods are scraped where they run, as the service is, rather than pushing to a
Pushgateway, which is for jobs that end (a long-lived worker's pushed series would outlive it).

SIGTERM (or SIGINT): no more pulls (a pull in progress has its messages nacked at once, for
another worker), runs in flight get COURTSIDE_SHUTDOWN_GRACE_SECONDS to finish and be acked, the
rest are cut off with their completion and nacked; the process exits 0. A second signal cuts off
at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid

from aiohttp import web

from scrapers.cli.common import (
    EXIT_OK,
    add_output_flags,
    add_replay_flags,
    parse_option_flags,
    read_settings,
    replay_clock,
    signals_interrupt,
    tell,
)
from scrapers.cli.serve import listen_host
from scrapers.core.clock import Clock
from scrapers.core.errors import MissingCredentialsError, UsageError
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, load_registry
from scrapers.core.settings import Locations, Settings, locations
from scrapers.http.replay import ReplayTransport
from scrapers.metrics.exposition import metrics_handler
from scrapers.metrics.fleet import FleetMetrics
from scrapers.pipeline.fanout import select_fan_outs
from scrapers.pipeline.once import OnceRunner, claim_owner
from scrapers.pipeline.queue import DeadLetter, JobMessage, PubSubJobsTopic, PullLoop, QueueMetrics, Worker
from scrapers.pipeline.runner import prepare
from scrapers.pipeline.runs import Interrupt, RunManager
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import open_core

DEFAULT_CONCURRENCY = 4
log = logging.getLogger("scrapers.worker")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker",
        help="drain the jobs topic: each job exactly once per key, children published back",
        description="Pull-subscribes to COURTSIDE_JOBS_SUBSCRIPTION until SIGTERM.",
        allow_abbrev=False,
    )
    worker.add_argument("--subscription", help="the pull subscription (default COURTSIDE_JOBS_SUBSCRIPTION)")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"messages outstanding at once: Pub/Sub flow control (default {DEFAULT_CONCURRENCY})",
    )
    worker.add_argument(
        "--host",
        help=f"address of /metrics and /health (default as `serve`: ${Settings.variable('service_host')}, "
        "else every interface on a platform, loopback elsewhere)",
    )
    worker.add_argument(
        "--port",
        type=int,
        help=f"port of /metrics and /health (default {Settings.fallback('port')}; 0: any free port, printed)",
    )
    add_replay_flags(worker)
    add_output_flags(worker)
    worker.set_defaults(handler=_cmd_worker)

    enqueue = commands.add_parser(
        "enqueue",
        help="publish one job to the jobs topic (a parent with its children, as run-many)",
        allow_abbrev=False,
    )
    enqueue.add_argument("scraper", help="a scraper; its --options follow")
    enqueue.add_argument("--no-fan-out", action="store_true", help="the parent alone, without its children")
    enqueue.add_argument("--children", metavar="A,B", help="the children to run (default: the declared ones)")
    enqueue.add_argument(
        "--force",
        action="store_true",
        help="run the job (and its children) although the ledger says it is done: once more, not on "
        "every redelivery",
    )
    enqueue.set_defaults(handler=_cmd_enqueue)


def jobs_topic(env: Settings) -> PubSubJobsTopic:
    return PubSubJobsTopic(_project(env, "the jobs topic"), env.jobs_topic, env.publish_timeout)


def dead_letter_topic(env: Settings) -> PubSubJobsTopic:
    return PubSubJobsTopic(
        _project(env, "the dead-letter topic"),
        env.jobs_dead_letter_topic,
        env.publish_timeout,
        what="dead-letter topic",
    )


def force_token() -> str:
    """One `--force` pass: its jobs run once more, and a redelivery within the pass does not."""
    return f"force-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"


def _project(env: Settings, what: str) -> str:
    project = (env.project or "").strip()
    if not project:
        names = " or ".join(Settings.variables("project"))
        raise MissingCredentialsError(
            f"{names} is required for {what}",
            f"export {Settings.variable('project')}=nba-props-platform",
        )
    return project


def _cmd_enqueue(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    env = read_settings()
    registry = load_registry(env.registry)
    job = prepare(registry, args.scraper, parse_option_flags(extra), replay_clock(None, False))
    fan_out = fan_out_selection(registry, args.scraper, args.no_fan_out, args.children)
    force = force_token() if args.force else None
    message = JobMessage.of(job, fan_out=fan_out, trigger="enqueue", force=force)
    topic = jobs_topic(env)
    try:
        asyncio.run(topic.publish(message))
    finally:
        topic.close()
    forced = f" (--force: {force})" if force else ""
    print(f"enqueued {job.key} on {topic.description}{forced}")
    return EXIT_OK


def fan_out_selection(
    registry: Registry, name: str, alone: bool, children: str | None
) -> bool | tuple[str, ...]:
    """--no-fan-out / --children A,B as a message's `fan_out` (checked against the declared children)."""
    if alone and children:
        raise UsageError("--no-fan-out runs the parent alone: drop --children")
    if alone:
        return False
    selection: bool | tuple[str, ...] = (
        tuple(c.strip() for c in children.split(",") if c.strip()) if children else True
    )
    return selection if select_fan_outs(registry.get(name), selection) else False


def _cmd_worker(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    if extra:
        raise UsageError(f"unexpected arguments: {' '.join(extra)}")
    if args.concurrency < 1:
        raise UsageError("--concurrency is 1 or more")
    env = read_settings()
    registry = load_registry(env.registry)
    replay = args.replay is not None
    clock = replay_clock(args.at, replay)
    where = locations(registry, args.out, args.replay or None, env)
    host = listen_host(args.host, env)
    port = args.port if args.port is not None else env.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port (0 to 65535)")
    topic = jobs_topic(env)
    dead = dead_letter_topic(env)
    subscription = args.subscription or env.jobs_subscription
    try:
        asyncio.run(
            _serve(
                registry,
                where,
                env,
                (topic, dead),
                subscription,
                args.concurrency,
                replay,
                clock,
                redactor,
                (host, port),
            )
        )
    finally:
        topic.close()
        dead.close()
    return EXIT_OK


async def _serve(
    registry: Registry,
    where: Locations,
    env: Settings,
    topics: tuple[PubSubJobsTopic, PubSubJobsTopic],
    subscription: str,
    concurrency: int,
    replay: bool,
    clock: Clock,
    redactor: Redactor,
    address: tuple[str, int],
) -> None:
    from google.cloud import pubsub_v1  # imported here: only a worker loads the subscriber

    transport = ReplayTransport(where.fixtures) if replay else None
    settings = ServiceSettings.for_command(concurrency, env)
    interrupt = Interrupt(env.shutdown_grace)
    with signals_interrupt(interrupt):
        core = await open_core(
            registry,
            where,
            list(registry.scrapers.values()),
            transport,
            redactor,
            replay=replay,
            clock=clock,
            trigger_source="worker",
            env=env,
        )
        try:
            assert core.ledger is not None
            # Completions a dead worker left behind (its document landed, its publish did not).
            await core.output.delivery.sweep(env.claim_seconds)
            manager = RunManager(core, settings, trigger_source="worker")
            once = OnceRunner(manager, core.ledger, owner=claim_owner(), claim_seconds=env.claim_seconds)
            topic, dead = topics
            worker = Worker(
                once,
                registry,
                clock,
                topic,
                dead_letter=DeadLetter(dead, env.jobs_max_attempts),
                metrics=QueueMetrics(core.metrics.registry),
            )
            http = await _open_http(core.metrics, worker, *address)
            subscriber = pubsub_v1.SubscriberClient()
            path = (
                subscription
                if subscription.startswith("projects/")
                else subscriber.subscription_path(env.project, subscription)
            )
            loop = PullLoop(worker, subscriber, path, concurrency)
            loop.on_handled = lambda handled: tell(f"worker: {handled.line}", logging.INFO)
            print(f"worker: pulling {path}, {concurrency} at a time", file=sys.stderr, flush=True)
            stop = asyncio.Event()
            pulling = asyncio.create_task(loop.run(stop))
            try:
                stopped = asyncio.ensure_future(interrupt.requested.wait())
                await asyncio.wait({pulling, stopped}, return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                stop.set()
                if pulling.done():
                    pulling.result()  # the subscription is gone, or credentials: raised as itself
                manager.stopped_by = interrupt.cause
                cut = await manager.drain(interrupt.grace_seconds, now=interrupt.now)
                await pulling
                if cut:
                    print(f"worker: {cut} run(s) cut off and nacked", file=sys.stderr)
            finally:
                if not pulling.done():
                    pulling.cancel()
                subscriber.close()
                await http.cleanup()
        finally:
            await core.aclose()


async def _open_http(metrics: FleetMetrics, worker: Worker, host: str, port: int) -> web.AppRunner:
    """GET /metrics and GET /health on host:port; exit 2 when the address cannot be had."""
    started = time.time()

    async def health(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ok",
                "mode": "worker",
                "in_hand": worker.in_hand,
                "uptime_seconds": round(time.time() - started, 3),
            }
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics))
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(
            f"the worker cannot serve /metrics on {host}:{port}: {exc.strerror or exc} "
            f"(set --port or {Settings.variable('port')}; 0 takes any free port)"
        ) from None
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"worker: /metrics and /health on http://{host}:{bound}", file=sys.stderr, flush=True)
    return runner
