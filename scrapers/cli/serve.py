"""`scrapers serve`: the HTTP trigger service, registered by scrapers/cli.

    scrapers serve [--host 127.0.0.1] [--port 8080] [--replay [DIR] [--at ISO]] [--out DIR|gs://...]

`--port` defaults to $PORT (set by Cloud Run), else 8080; `--port 0` takes a free port and logs it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping

from scrapers.cli.common import add_output_flags, add_replay_flags, no_extra, replay_clock
from scrapers.core.errors import UsageError
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import environ, locations
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from scrapers.service.app import open_service
from scrapers.service.lifecycle import ListenError, run_service
from scrapers.service.logs import configure_json_logging

HOST_ENV = "COURTSIDE_SERVICE_HOST"
PORT_ENV = "PORT"  # Cloud Run's
DEFAULT_HOST = "127.0.0.1"  # loopback unless asked: a container says --host 0.0.0.0
DEFAULT_PORT = 8080


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="the HTTP trigger service: POST /scrape, /batch, GET /runs/ID ...", allow_abbrev=False
    )
    serve.add_argument("--host", help=f"address to listen on (default ${HOST_ENV} or {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, help=f"port (default ${PORT_ENV} or {DEFAULT_PORT}; 0: any free port)"
    )
    add_replay_flags(serve)
    add_output_flags(serve)
    serve.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    env = environ()
    registry = load_registry()
    replay = args.replay is not None
    where = locations(registry, args.out, args.replay or None, env)
    settings = ServiceSettings.from_env(env)
    clock = replay_clock(args.at, replay)
    host = args.host or env.get(HOST_ENV) or DEFAULT_HOST
    port = args.port if args.port is not None else _port(env)
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port (0 to 65535)")
    configure_json_logging(redactor, verbose=args.verbose)
    transport = ReplayTransport(where.fixtures) if replay else None

    async def serve() -> int:
        service = await open_service(
            registry, where, settings, redactor, transport=transport, replay=replay, clock=clock
        )
        try:
            return await run_service(service, host, port)
        except ListenError as exc:
            raise UsageError(str(exc)) from None

    return asyncio.run(serve())


def _port(env: Mapping[str, str]) -> int:
    raw = (env.get(PORT_ENV) or "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"${PORT_ENV} '{raw}' is not a port number") from None
