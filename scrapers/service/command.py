"""`scrapers serve`: the HTTP trigger service, registered by scrapers/cli.py.

    scrapers serve [--host 127.0.0.1] [--port 8080] [--replay [DIR] [--at ISO]] [--out DIR|gs://...]

`--port` defaults to $PORT (set by Cloud Run), else 8080; `--port 0` takes a free port and logs it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from datetime import datetime

from scrapers.cli import UsageError, _add_output_flags
from scrapers.core.clock import Clock, FrozenClock, SystemClock
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import environ, locations
from scrapers.http.replay import ReplayTransport
from scrapers.service.app import open_service
from scrapers.service.lifecycle import ListenError, run_service
from scrapers.service.logs import configure_json_logging
from scrapers.service.settings import ServiceSettings

HOST_ENV = "COURTSIDE_SERVICE_HOST"
PORT_ENV = "PORT"  # Cloud Run's
DEFAULT_HOST = "127.0.0.1"  # loopback unless asked: a container says --host 0.0.0.0
DEFAULT_PORT = 8080


def add_serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="the HTTP trigger service: POST /scrape, /batch, GET /runs/ID ...", allow_abbrev=False
    )
    serve.add_argument("--host", help=f"address to listen on (default ${HOST_ENV} or {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, help=f"port (default ${PORT_ENV} or {DEFAULT_PORT}; 0: any free port)"
    )
    add_replay_flags(serve)
    _add_output_flags(serve)
    serve.set_defaults(handler=_cmd_serve)


def add_replay_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replay",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="serve recorded fixtures instead of the network (default tests/fixtures); no secrets needed",
    )
    parser.add_argument(
        "--at",
        metavar="ISO",
        help="with --replay: freeze the clock at this UTC time, e.g. 2024-01-16T03:00:00Z, so TODAY and "
        "landing timestamps are those of the recorded day",
    )


def replay_clock(at: str | None, replay: bool) -> Clock:
    if at is None:
        return SystemClock()
    if not replay:
        raise UsageError("--at only applies to --replay (a live run always uses the real clock)")
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(f"--at '{at}' is not an ISO time with a zone (example: 2024-01-16T03:00:00Z)")
    return FrozenClock(moment)


def _cmd_serve(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    if extra:
        raise UsageError(f"unexpected arguments: {' '.join(extra)}")
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
