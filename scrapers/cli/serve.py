"""`scrapers serve`: the HTTP trigger service, registered by scrapers/cli.

    scrapers serve [--host 127.0.0.1] [--port 8080] [--replay [DIR] [--at ISO]] [--out DIR|gs://...]

`--port` defaults to $PORT (set by Cloud Run), else 8080; `--port 0` takes a free port and logs it.
"""

from __future__ import annotations

import argparse
import asyncio

from scrapers.cli.common import add_output_flags, add_replay_flags, no_extra, read_settings, replay_clock
from scrapers.core.errors import UsageError
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import Settings, locations
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from scrapers.service.app import open_service
from scrapers.service.lifecycle import ListenError, run_service
from scrapers.service.logs import configure_json_logging


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="the HTTP trigger service: POST /scrape, /batch, GET /runs/ID ...", allow_abbrev=False
    )
    # Loopback unless asked: a container says --host 0.0.0.0.
    serve.add_argument("--host", help=f"address to listen on (default {Settings.fallback('service_host')})")
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
    host = args.host or env.service_host
    port = args.port if args.port is not None else env.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port (0 to 65535)")
    configure_json_logging(redactor, verbose=args.verbose)
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
