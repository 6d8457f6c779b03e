"""`scrapers run`, `record` and `demo`: one job, one job recorded live, or the recorded game day.

All three go through the one run path (`scrapers.pipeline.runs.run_all`), as run-many and the
service do; a one-job container (`scrapers run` in Cloud Run or a Kubernetes job) pushes its
metrics to COURTSIDE_PUSHGATEWAY after the run.
"""

from __future__ import annotations

import argparse
from datetime import datetime

import httpx
import yaml

from scrapers.cli.common import (
    EXIT_OK,
    add_output_flags,
    finish,
    no_extra,
    parse_option_flags,
    read_settings,
    run_planned,
)
from scrapers.cli.listing import scraper_help
from scrapers.core.clock import FrozenClock, SystemClock
from scrapers.core.errors import UsageError
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import locations
from scrapers.http.replay import RecordingTransport, ReplayTransport
from scrapers.pipeline.jobs import JobRequest, plan_job

DEMO_FILE = "demo.yaml"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, helptext, handler in (
        ("run", "run one scraper: scrapers run NAME --option value ...", _cmd_run),
        ("record", "run one scraper live and write its exchanges as fixtures", _cmd_record),
    ):
        # Our own --help: after a scraper's name it lists that scraper's options.
        sub = commands.add_parser(name, help=helptext, allow_abbrev=False, add_help=False)
        sub.add_argument("-h", "--help", action="store_true", help="this help, or a scraper's options")
        sub.add_argument("scraper", nargs="?")
        sub.set_defaults(command_help=sub.format_help)
        add_output_flags(sub)
        sub.add_argument("--json", action="store_true", help="print the run result as JSON")
        if name == "run":
            sub.add_argument(
                "--replay",
                nargs="?",
                const="",
                default=None,
                metavar="DIR",
                help="serve recorded fixtures instead of the network (default tests/fixtures)",
            )
        else:
            sub.add_argument("--into", metavar="DIR", help="fixture folder (default tests/fixtures)")
        sub.set_defaults(handler=handler)

    demo = commands.add_parser(
        "demo", help="replay a recorded game day into the output folder", allow_abbrev=False
    )
    add_output_flags(demo)
    demo.add_argument(
        "--fixtures", metavar="DIR", help="fixture folder holding demo.yaml (default tests/fixtures)"
    )
    demo.set_defaults(handler=_cmd_demo)


def _scraper_or_help(args: argparse.Namespace, extra: list[str]) -> str | None:
    """The scraper to run, or None once help was printed (`run --help`, `run NAME --help`)."""
    asked = args.help or "-h" in extra or "--help" in extra
    if args.scraper is None and not asked:
        raise UsageError(
            f"name a scraper (example: scrapers {args.command} nbac_scoreboard_v2 --game_date 2024-01-15)"
        )
    if not asked:
        return str(args.scraper)
    if args.scraper is None:
        print(args.command_help())
    else:
        print(scraper_help(load_registry(read_settings().registry).get(args.scraper), args.command))
    return None


def _cmd_run(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    name = _scraper_or_help(args, extra)
    if name is None:
        return EXIT_OK
    env = read_settings()
    registry = load_registry(env.registry)
    replay = args.replay is not None
    where = locations(registry, args.out, args.replay or None, env)
    planned = plan_job(JobRequest(name, parse_option_flags(extra)), registry, SystemClock())
    transport = ReplayTransport(where.fixtures) if replay else None
    ran = run_planned(registry, where, env, [planned], transport, redactor, replay=replay, push_metrics=True)
    return finish(ran, as_json=args.json)


def _cmd_record(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    name = _scraper_or_help(args, extra)
    if name is None:
        return EXIT_OK
    env = read_settings()
    registry = load_registry(env.registry)
    where = locations(registry, args.out, args.into, env)
    planned = plan_job(JobRequest(name, parse_option_flags(extra)), registry, SystemClock())
    entry = planned.job.entry
    recorder = RecordingTransport(httpx.AsyncHTTPTransport(), where.fixtures / entry.source, entry.name)
    ran = run_planned(registry, where, env, [planned], recorder, redactor, replay=False, push_metrics=True)
    code = finish(ran, as_json=args.json)
    for path in recorder.written:
        print(f"recorded {path}")
    return code


def _cmd_demo(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    env = read_settings()
    registry = load_registry(env.registry)
    where = locations(registry, args.out, args.fixtures, env)
    plan = yaml.safe_load((where.fixtures / DEMO_FILE).read_text(encoding="utf-8"))
    # The demo replays one game day as if it ran the night after: keyword dates, undated paths and
    # landing timestamps all belong to that day, and a second demo finds everything already landed.
    clock = FrozenClock(datetime.fromisoformat(str(plan["replayed_at"]).replace("Z", "+00:00")))
    jobs = [JobRequest(item["scraper"], item.get("options") or {}) for item in plan["jobs"]]
    planned = [plan_job(job, registry, clock) for job in jobs]
    day = plan.get("date", "?")
    print(f"Replaying {len(planned)} jobs of game day {day} from {where.fixtures} into {where.out}")
    transport = ReplayTransport(where.fixtures)
    ran = run_planned(
        registry, where, env, planned, transport, redactor, replay=True, clock=clock, push_metrics=True
    )
    code = finish(ran, as_json=False)
    print(f"completion events: {ran.events_note}")
    return code
