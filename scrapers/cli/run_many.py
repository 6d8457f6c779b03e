"""`scrapers run-many`: several jobs at once, or one parent and its fan-out, with live progress.

    scrapers run-many nbac_scoreboard_v2 --game_date YESTERDAY       # + nbac_gamebook_pdf per game
    scrapers run-many oddsa_events --game_date TODAY --child-option markets=player_points,player_assists
    scrapers run-many --file jobs.yaml --replay                       # the service's job bodies, listed

Runs go through the same run manager as the service (per-scraper slots, bounded fan-out, one
fetcher with its limiters and breakers). Progress goes to stderr: one updating line on a terminal,
one plain line per finished run otherwise (with JSON logs, the runs' own log lines instead); the
results table (or --json) goes to stdout.

With --file on a task of many (a Cloud Run job's tasks, a Kubernetes indexed Job's pods), each task
runs its share of the file: job i on task i % count (shards.py), and says which on stderr.

With COURTSIDE_PUSHGATEWAY set, the task pushes its metrics once its runs have ended (finished, or
cut off after SIGTERM): into the group of each scraper it ran, the one `scrapers run` pushes, and
into the group `instance="run-many"` for the counting series no scraper label divides (see
scrapers.metrics.exposition.push_by_scraper). Counters are the totals in the state store, so they
add up across tasks and with `scrapers run` containers (COURTSIDE_STATE=redis://... for a fleet).
Once at the end rather than after each run: one push per group instead of one per run, and after
SIGTERM one short, bounded step inside Cloud Run's 10 s instead of a push per cut-off run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from scrapers.cli.common import (
    Ran,
    add_output_flags,
    add_replay_flags,
    finish,
    parse_option_flags,
    push_scrapers_ran,
    read_settings,
    replay_clock,
    run_planned,
    tell,
)
from scrapers.cli.shards import shard_of
from scrapers.core.errors import UsageError
from scrapers.core.logs import structured
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, load_registry
from scrapers.core.settings import locations
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.fanout import describe_fan_outs
from scrapers.pipeline.jobs import JobRequest, MalformedJob, plan_job, read_job_file
from scrapers.pipeline.runs import Interrupt, RunRecord, RunState
from scrapers.pipeline.wiring import Core

DEFAULT_CONCURRENCY = 4
# The Pushgateway group of what a run-many task counts that belongs to no one scraper (the service
# pushes `instance="service"`, `scrapers tick` `instance="tick"`): one group for every task, so it is
# replaced rather than multiplied, and its counters add up through the state store's totals.
PUSH_GROUP = {"instance": "run-many"}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser(
        "run-many",
        help="run jobs from a file, or one scraper and its per-game / per-event children",
        description="A scraper that declares per-game or per-event children (e.g. nbac_scoreboard_v2 -> "
        "nbac_gamebook_pdf per game) runs with them; --no-fan-out runs it alone.",
        allow_abbrev=False,
    )
    sub.add_argument("scraper", nargs="?", help="a scraper; its --options follow")
    sub.add_argument("--file", metavar="JOBS", help="YAML or JSON: a list of jobs, or {jobs: [...]}")
    sub.add_argument(
        "--child-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option for every child job, e.g. markets=player_points,player_rebounds",
    )
    sub.add_argument("--no-fan-out", action="store_true", help="run the scraper alone, without its children")
    sub.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"runs of one scraper at a time, fan-out children included (default {DEFAULT_CONCURRENCY})",
    )
    sub.add_argument("--json", action="store_true", help="print every run (as GET /runs/ID shows it) as JSON")
    add_replay_flags(sub)
    add_output_flags(sub)
    sub.set_defaults(handler=_cmd_run_many)


def _cmd_run_many(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency is 1 or more")
    env = read_settings()
    registry = load_registry(env.registry)
    replay = args.replay is not None
    clock = replay_clock(args.at, replay)
    # Every job of the file is planned on every task, so a bad one fails them all alike (exit 2).
    planned = [plan_job(request, registry, clock) for request in _requests(args, extra, registry)]
    shard = shard_of(env)
    if shard is not None and args.file:
        picked = shard.picks(planned)
        positions = [position for position, _ in picked]
        tell(
            shard.describe(positions, len(planned)),
            logging.INFO,
            shard={"index": shard.index, "count": shard.count, "jobs": [p + 1 for p in positions]},
        )
        planned = [plan for _, plan in picked]
        if not planned:
            return finish(Ran([], ""), as_json=False, views=args.json)
    elif shard is not None and shard.count > 1:
        tell(
            f"{shard.count} tasks run the same command: only --file jobs are split between tasks",
            logging.WARNING,
        )
    where = locations(registry, args.out, args.replay or None, env)
    transport = ReplayTransport(where.fixtures) if replay else None
    progress = Progress(sys.stderr, quiet=structured())
    try:
        ran = run_planned(
            registry,
            where,
            env,
            planned,
            transport,
            redactor,
            replay=replay,
            clock=clock,
            concurrency=args.concurrency,
            on_change=progress.update,
            finishing=push_metrics,
        )
    finally:
        progress.close()
    return finish(ran, as_json=False, views=args.json)


async def push_metrics(core: Core, records: list[RunRecord], interrupt: Interrupt) -> None:
    """The task's metrics: a group per scraper that ran, and PUSH_GROUP (`push_scrapers_ran`)."""
    scrapers = {run.result.scraper for record in records for run in record.walk() if run.result is not None}
    await push_scrapers_ran(core, scrapers, PUSH_GROUP, interrupt)


def _requests(args: argparse.Namespace, extra: list[str], registry: Registry) -> list[JobRequest]:
    if args.file and args.scraper:
        raise UsageError("name a scraper or give --file, not both")
    if args.file:
        if extra or args.child_option or args.no_fan_out:
            raise UsageError("with --file, options go in the file")
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        try:
            return read_job_file(text, registry.names())
        except MalformedJob as exc:
            raise UsageError(f"{args.file}: {exc}") from None
    if not args.scraper:
        raise UsageError(f"name a scraper (fan-out: {describe_fan_outs(registry)}) or give --file JOBS.yaml")
    children: dict[str, object] = {}
    for pair in args.child_option:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--child-option '{pair}' is not NAME=VALUE")
        children[name] = value
    fan_out = not args.no_fan_out and any(f.default for f in registry.get(args.scraper).load_class().fan_out)
    if children and not fan_out:
        raise UsageError(f"--child-option needs a fan-out parent ({describe_fan_outs(registry)})")
    return [JobRequest(args.scraper, parse_option_flags(extra), fan_out=fan_out, child_options=children)]


class Progress:
    """A single updating line on a terminal; one plain line per finished run otherwise."""

    def __init__(self, stream: TextIO, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet  # JSON logs: each run's own log lines say it, one object a line
        self.tty = stream.isatty() and not quiet
        self.runs: dict[str, RunRecord] = {}
        self.reported: set[str] = set()
        self.last = ""

    def update(self, record: RunRecord) -> None:
        if self.quiet:
            return
        self.runs[record.run_id] = record
        for child in record.children:
            self.runs.setdefault(child.run_id, child)
        ended = [run for run in self.runs.values() if run.result is not None or run.error is not None]
        if self.tty:
            counts = Counter(_outcome(run) for run in ended)
            running = sum(
                1 for run in self.runs.values() if run.state is RunState.RUNNING and run not in ended
            )
            parts = [f"{n} {name}" for name, n in sorted(counts.items())]
            line = f"[{len(ended)}/{len(self.runs)}] {', '.join(parts) or 'starting'} · {running} running"
            if record.run_id not in self.reported and (record.result or record.error):
                line += f" · {_describe(record)}"
            self.stream.write("\r\x1b[K" + line[:200])
            self.stream.flush()
        elif record.run_id not in self.reported and (record.result is not None or record.error is not None):
            print(f"[{len(ended)}/{len(self.runs)}] {_describe(record)}", file=self.stream, flush=True)
        if record.result is not None or record.error is not None:
            self.reported.add(record.run_id)

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _outcome(run: RunRecord) -> str:
    if run.result is not None:
        return run.result.status.value
    return "error"


def _describe(run: RunRecord) -> str:
    name = f"{run.scraper} {run.label}" if run.label else run.scraper
    if run.error is not None:
        return f"{name}: error ({run.error.type})"
    assert run.result is not None
    result = run.result
    if not result.ok:
        return f"{name}: failed ({result.error_type})"
    return f"{name}: {result.status.value}, {result.record_count} records"
