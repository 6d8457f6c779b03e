"""What every command shares: exit codes, the output and replay flags, running planned jobs
through the one run path, and printing their results."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

import httpx

from scrapers.core.clock import Clock, FrozenClock, SystemClock
from scrapers.core.errors import EXIT_USAGE, OptionError, UsageError
from scrapers.core.logs import structured
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, ScraperEntry
from scrapers.core.result import RunResult
from scrapers.core.settings import Locations, Settings
from scrapers.metrics.exposition import push_by_scraper
from scrapers.metrics.totals import group_key
from scrapers.pipeline.jobs import PlannedJob
from scrapers.pipeline.runs import Interrupt, RunRecord, push_budget, run_all
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import Core, open_core

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_PUBLISH_PENDING = 18  # republish: some completions could not be sent and stay pending

Handler = Callable[[argparse.Namespace, list[str], Redactor], int]
# What a command does once every run has ended, before the core closes (run-many's metrics push).
Finishing = Callable[[Core, list[RunRecord], Interrupt], Awaitable[None]]
# Errors of a run that mean "this input cannot run" exit like a bad command line: an unrecorded
# request in replay, a fan-out child the parent's ids made invalid, a missing key or setting.
USAGE_ERRORS = frozenset({"invalid_options", "replay_miss", "configuration"})
log = logging.getLogger("scrapers.cli")


def tell(text: str, level: int = logging.ERROR, **fields: Any) -> None:
    """What a command says besides its output: a plain line on stderr for a person, or a log line
    (at `level`, with `fields`) when the process logs JSON, so every stderr line is one object."""
    if structured():
        log.log(level, text, extra=fields)
    else:
        print(text, file=sys.stderr, flush=True)


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="DIR|gs://BUCKET/PREFIX",
        help=f"output folder or bucket (default {Settings.fallback('out')})",
    )


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


def read_settings() -> Settings:
    """The process's settings, read from its environment once, when a command starts: a bad
    variable is exit 2 naming it, before anything runs."""
    return Settings.from_env(os.environ)


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


def no_extra(extra: list[str]) -> None:
    if extra:
        raise UsageError(f"unexpected arguments: {' '.join(extra)}")


def parse_option_flags(tokens: Sequence[str]) -> dict[str, str]:
    """`--name value` and `--name=value` pairs after the scraper name."""
    options: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("--") or len(token) == 2:
            raise UsageError(f"expected --option value, got '{token}' (example: --game_date 2024-01-15)")
        name, sep, value = token[2:].partition("=")
        if not sep:
            if index + 1 >= len(tokens) or tokens[index + 1].startswith("--"):
                raise OptionError(name, "has no value", f"--{name} <value>")
            value = tokens[index + 1]
            index += 1
        options[name] = value
        index += 1
    return options


def parse_duration(text: str | None, option: str) -> float:
    """`90s`, `15m`, `2h`, `1d` or plain seconds."""
    if not text:
        raise OptionError(option, "is empty", "15m")
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value < 0:
        raise OptionError(option, f"'{text}' is not a duration", "15m")
    return value * units[unit]


# --- running ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    records: list[RunRecord]
    events_note: str  # where the completions went, for the closing line

    @property
    def runs(self) -> list[RunRecord]:
        """Every run, fan-out children after their parent."""
        return [run for record in self.records for run in record.walk()]


def run_planned(
    registry: Registry,
    where: Locations,
    env: Settings,
    planned: list[PlannedJob],
    transport: httpx.AsyncBaseTransport | None,
    redactor: Redactor,
    *,
    replay: bool,
    clock: Clock | None = None,
    concurrency: int = 1,
    on_change: Callable[[RunRecord], None] | None = None,
    push_metrics: bool = False,
    finishing: Finishing | None = None,
) -> Ran:
    """Open the process's core, run every planned job through the run manager, close the core.

    `push_metrics`: each run pushes its scraper's group when it ends (one-job containers);
    `finishing` runs once every run has ended, cut off or not, before the core closes.

    SIGTERM (Cloud Run at a task's timeout, SIGKILL 10 s later) and SIGINT stop it as the service's
    shutdown does: runs in flight get COURTSIDE_SHUTDOWN_GRACE_SECONDS, then each is cut off with a
    `failed`/`transient` completion, and the results are printed and exit as usual (15).
    """
    settings = ServiceSettings.for_command(concurrency, env, max_in_flight=len(planned))

    async def go() -> Ran:
        interrupt = Interrupt(env.shutdown_grace)
        entries = _metric_scrapers(registry, planned)
        # From the core's opening to its closing, so a signal never kills the process mid-way.
        with signals_interrupt(interrupt):
            core = await open_core(
                registry, where, entries, transport, redactor, replay=replay, clock=clock, env=env
            )
            try:
                # Every job's keys are checked before the first one runs: a missing key is exit 2 for
                # the whole command instead of one failed job after another.
                for plan in planned:
                    core.fetcher.check_credentials(plan.job.first_requests())
                records = await run_all(
                    core,
                    planned,
                    settings,
                    on_change=on_change,
                    push_metrics=push_metrics,
                    interrupt=interrupt,
                )
                if finishing is not None:
                    await finishing(core, records, interrupt)
                return Ran(records, core.output.events_note)
            finally:
                await core.aclose()

    return asyncio.run(go())


def _metric_scrapers(registry: Registry, planned: list[PlannedJob]) -> list[ScraperEntry]:
    """The scrapers a command zero-initialises: only its own (and their fan-out children). A
    command's metrics only leave it in a push, grouped by scraper, and the Pushgateway sets that
    label on every pushed series: another scraper's zero series would collide with them and the
    gateway would refuse the push."""
    names = {plan.job.entry.name for plan in planned}
    names |= {fan_out.child for plan in planned for fan_out in plan.fan_out}
    return [registry.get(name) for name in sorted(names)]


@contextmanager
def signals_interrupt(interrupt: Interrupt) -> Iterator[None]:
    """SIGTERM and SIGINT request the interrupt while the block runs (main thread only: a command
    called from another thread keeps the process's own handling)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    grace = interrupt.grace_seconds

    def received(number: signal.Signals) -> None:
        if interrupt.requested.is_set():
            tell(f"{number.name} again: cutting the runs off now", logging.WARNING)
        else:
            tell(
                f"{number.name}: no new runs; runs in flight get {grace:g}s, then are cut off "
                f"({number.name} again cuts them off now)",
                logging.WARNING,
            )
        interrupt.request(number.name)

    numbers = (signal.SIGTERM, signal.SIGINT)
    for number in numbers:
        loop.add_signal_handler(number, received, number)
    try:
        yield
    finally:
        for number in numbers:
            loop.remove_signal_handler(number)


def exit_code(result: RunResult) -> int:
    if result.ok:
        return EXIT_OK
    return result.failure_class.exit_code if result.failure_class else EXIT_INTERNAL


def run_exit_code(run: RunRecord) -> int:
    if run.result is not None:
        return exit_code(run.result)
    if run.error is not None:
        return EXIT_USAGE if run.error.type in USAGE_ERRORS else EXIT_INTERNAL
    return EXIT_OK


def finish(ran: Ran, *, as_json: bool, views: bool = False) -> int:
    """Print the results (a table, the typed results, or every run's view) and errors; the exit code."""
    runs = ran.runs
    results = [run.result for run in runs if run.result is not None]
    if views:
        print(json.dumps([record.view() for record in ran.records], indent=2))
    elif results:
        report(results, as_json=as_json)
    for run in runs:
        # In JSON, each run's own outcome line has already said it, with its run id and severity.
        if run.error is None or structured():
            continue
        # One run needs no name; among many, each error says whose it is.
        name = f"{run.scraper} {run.label}: " if run.label else f"{run.scraper}: "
        whose = name if len(runs) > 1 else ""
        if run.error.type == "internal":  # a bug: say so, as the last-resort handler does
            print(
                f"internal error: {whose}{run.error.message} (--verbose shows the traceback)", file=sys.stderr
            )
        else:
            print(f"error: {whose}{run.error.message}", file=sys.stderr)
    if not as_json and not views and not structured():
        # A run's warnings (a secret masked out of what landed, bookkeeping not written) travel in
        # its completion and --json; the table has no column for them, so they follow it here.
        for result in results:
            for warning in result.warnings:
                print(f"warning: {result.scraper}: {warning}", file=sys.stderr)
    return max((run_exit_code(run) for run in runs), default=EXIT_OK)


# --- printing -----------------------------------------------------------------------------------


def report(results: list[RunResult], *, as_json: bool, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if as_json:
        payload: Any = [r.to_dict() for r in results] if len(results) > 1 else results[0].to_dict()
        print(json.dumps(payload, indent=2), file=stream)
        return
    rows = [
        [
            r.scraper,
            r.status.value if r.ok else f"failed ({r.error_type})",
            str(r.record_count),
            r.landed[0] if r.landed else (r.error_message or r.no_data_reason or "-"),
        ]
        for r in results
    ]
    print_table(["scraper", "status", "records", "landed / reason"], rows, stream)


def print_table(header: list[str], rows: list[list[str]], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip(),
            file=stream,
        )


async def push_scrapers_ran(
    core: Core, scrapers: set[str], own_group: dict[str, str], interrupt: Interrupt
) -> None:
    """Push a command's metrics to COURTSIDE_PUSHGATEWAY, if set, once its runs have ended: a group
    per scraper that ran (a run cut off by a signal ran too) and `own_group` (`push_by_scraper`),
    within what is left of the stop after a signal. A group not pushed is a warning: the runs'
    outcomes stand, and their counts are in the store's totals for the next push of that group."""
    gateway = core.pushgateway
    if not gateway or not scrapers:
        return
    budget = push_budget(interrupt.requested_at)
    failed = await push_by_scraper(
        core.metrics, core.store, gateway, scrapers, own_group, budget_seconds=budget
    )
    for group in failed:
        where = group_key(group.group)
        tell(
            core.redactor(f"warning: metrics not pushed to {gateway} ({where}): {group.error}"),
            logging.WARNING,
        )
