"""`scrapers serve`: the HTTP trigger service, registered by scrapers/cli.

    scrapers serve [--host 127.0.0.1] [--port 8080] [--replay [DIR] [--at ISO]] [--out DIR|gs://...]

`--port` defaults to $PORT (set by Cloud Run), else 8080; `--port 0` takes a free port and logs it.
`--host` defaults to $COURTSIDE_SERVICE_HOST; unset, to every interface (0.0.0.0) where a platform
routes traffic to the container (K_SERVICE, PORT or KUBERNETES_SERVICE_HOST set: Cloud Run,
Kubernetes), and to loopback elsewhere. Logs: one JSON object a line on stdout
(COURTSIDE_LOG_FORMAT=text for text).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from scrapers.cli.common import add_output_flags, add_replay_flags, no_extra, read_settings, replay_clock
from scrapers.core.errors import UsageError
from scrapers.core.logs import LogFormat, choose_format, configure_logging
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import Settings, locations
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from scrapers.service.app import open_service
from scrapers.service.lifecycle import ListenError, run_service

EVERY_INTERFACE = "0.0.0.0"
LOOPBACK = "127.0.0.1"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="the HTTP trigger service: POST /scrape, /batch, GET /runs/ID ...", allow_abbrev=False
    )
    serve.add_argument(
        "--host",
        help=f"address to listen on (default ${Settings.variable('service_host')}; unset: {EVERY_INTERFACE} "
        f"when K_SERVICE, PORT or KUBERNETES_SERVICE_HOST is set, else {LOOPBACK})",
    )
    serve.add_argument(
        "--port", type=int, help=f"port (default {Settings.fallback('port')}; 0: any free port)"
    )
    add_replay_flags(serve)
    add_output_flags(serve)
    serve.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    env = read_settings()
    registry = load_registry(env.registry)
    replay = args.replay is not None
    where = locations(registry, args.out, args.replay or None, env)
    settings = ServiceSettings.from_settings(env)
    clock = replay_clock(args.at, replay)
    host = listen_host(args.host, env)
    port = args.port if args.port is not None else env.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port (0 to 65535)")
    configure_logging(
        redactor,
        choose_format(env.log_format, platform=env.platform, default=LogFormat.JSON),
        level=logging.DEBUG if args.verbose else logging.INFO,
        stdout=True,
        project=env.project,
    )
    transport = ReplayTransport(where.fixtures) if replay else None

    async def serve() -> int:
        service = await open_service(
            registry, where, settings, redactor, transport=transport, replay=replay, clock=clock, env=env
        )
        try:
            return await run_service(service, host, port)
        except ListenError as exc:
            raise UsageError(str(exc)) from None

    return asyncio.run(serve())


def listen_host(flag: str | None, env: Settings) -> str:
    """`--host`, else COURTSIDE_SERVICE_HOST, else every interface where a platform routes traffic to
    the container: Cloud Run sets K_SERVICE and PORT and sends requests to the container's address,
    as a Kubernetes Service sends them to the pod's, and loopback there would refuse them all.
    Elsewhere loopback, until someone asks for more."""
    if flag or env.service_host:
        return flag or str(env.service_host)
    routed = env.platform is not None or "port" in env.model_fields_set  # PORT set, even to 8080
    return EVERY_INTERFACE if routed else LOOPBACK
