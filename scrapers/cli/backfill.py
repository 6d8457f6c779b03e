"""`scrapers backfill`: one scraper over many dates, seasons or ids, exactly once per job.

    scrapers backfill nbac_scoreboard_v2 --game_date 2024-01-10..2024-01-15        # + its children
    scrapers backfill nbac_gamebook_pdf --season 2023-24 --out gs://bucket          # from the schedule
    scrapers backfill oddsa_player_props_his --event_id @events.txt --game_date 2024-01-15 \\
        --snapshot_timestamp 2024-01-15T23:00:00Z --dry-run                        # credits first
    scrapers backfill nbac_scoreboard_v2 --game_date 2024-01-10..2024-01-15 --force  # again
    scrapers backfill status nbac_gamebook_pdf                                      # what is left

Values follow the option vocabulary (scrapers/pipeline/backfill.py): `A..B` ranges of dates,
seasons or integers, `a,b,c` lists, `@FILE` one value a line, and `--season` for a scraper without
a season option: the season's game dates or games from the landed schedule.

Three ways to run one, one ledger: here (a progress bar on stderr; a kill resumes where it stopped),
split over the tasks of a Cloud Run job or a Kubernetes indexed Job (job i of the plan on task
i % count, as `run-many --file`), or `--enqueue`d to the jobs topic for `scrapers worker` to drain.
Jobs the ledger says succeeded (or have no data) are skipped: a second backfill sends nothing.
`--force` runs them again, once: the pass has a token, and a job done under it (a redelivered
message, a child planned twice) is not run a second time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from proxy.state import StateStore
from scrapers.cli.common import (
    EXIT_OK,
    add_output_flags,
    add_replay_flags,
    parse_option_flags,
    read_settings,
    replay_clock,
    run_exit_code,
    signals_interrupt,
)
from scrapers.cli.shards import shard_of
from scrapers.cli.worker import fan_out_selection, force_token, jobs_topic
from scrapers.core.clock import Clock
from scrapers.core.errors import EXIT_USAGE, UsageError
from scrapers.core.outcome import Outcome
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, load_registry
from scrapers.core.season import Season
from scrapers.core.settings import Locations, Settings, locations
from scrapers.crosscheck.landed import open_reader
from scrapers.http.quota import QuotaTracker
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.backfill import (
    SEASON_OPTION,
    BackfillError,
    DrainReport,
    Estimate,
    Item,
    Plan,
    Refused,
    children_of,
    drain,
    estimate,
    items_of,
    landed_schedule,
    outcome_label,
    plan_backfill,
    register,
)
from scrapers.pipeline.ledger import Ledger, LedgerEntry
from scrapers.pipeline.once import Done, OnceResult, OnceRunner, claim_owner
from scrapers.pipeline.queue import JobMessage
from scrapers.pipeline.runs import Interrupt, RunManager
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import open_core, open_ledger_store

DEFAULT_CONCURRENCY = 4
STATUS = "status"
BAR_WIDTH = 30
TRIGGER = "backfill"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser(
        "backfill",
        help="a scraper over a date range, a season or a list of ids, exactly once per job; "
        "`backfill status NAME` says what is left",
        description="Values: --game_date 2024-01-10..2024-01-15 (a range), a,b,c (one job each), "
        "@FILE (one value a line), --season 2023-24 (the game dates or games of the landed schedule, "
        "for a scraper without a season option). Jobs the ledger says succeeded are skipped.",
        allow_abbrev=False,
    )
    sub.add_argument("names", nargs="+", metavar="SCRAPER", help="a scraper, or `status SCRAPER`")
    sub.add_argument("--dry-run", action="store_true", help="print jobs, requests and credits; send nothing")
    sub.add_argument(
        "--enqueue", action="store_true", help="publish the jobs to the jobs topic for `scrapers worker`"
    )
    sub.add_argument(
        "--force",
        action="store_true",
        help="run jobs the ledger says are done again (once each: redeliveries within this pass are "
        "still skipped); without it a done job is never fetched again",
    )
    sub.add_argument("--no-fan-out", action="store_true", help="a parent alone, without its children")
    sub.add_argument(
        "--children",
        metavar="A,B",
        help="the parent's children to run (default: those it declares as default)",
    )
    sub.add_argument(
        "--child-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option for every child job, e.g. markets=player_points,player_rebounds",
    )
    sub.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"jobs at a time in this process (default {DEFAULT_CONCURRENCY})",
    )
    add_replay_flags(sub)
    add_output_flags(sub)
    sub.set_defaults(handler=_cmd_backfill)


def _cmd_backfill(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency is 1 or more")
    names: list[str] = args.names
    status = names[0] == STATUS
    if len(names) != (2 if status else 1):
        raise UsageError("name one scraper: `backfill SCRAPER --option VALUES` or `backfill status SCRAPER`")
    env = read_settings()
    registry = load_registry(env.registry)
    replay = args.replay is not None
    clock = replay_clock(args.at, replay)
    where = locations(registry, args.out, args.replay or None, env)
    raw = parse_option_flags(extra)
    try:
        if status:
            return _status(registry, names[1], raw, clock, where, env, replay)
        plan = _plan(args, registry, names[0], raw, clock, where)
        shard = shard_of(env)
        if shard is not None:
            picked = shard.picks(plan.jobs)
            print(
                shard.describe([at for at, _ in picked], len(plan.jobs)).replace("file's", "plan's"),
                file=sys.stderr,
            )
            plan = Plan(
                plan.scraper, tuple(job for _, job in picked), plan.fan_out, plan.child_options, plan.note
            )
        force = force_token() if args.force else None
        if args.dry_run:
            return _dry_run(plan, registry, where, env, replay, force is not None)
        if args.enqueue:
            return _enqueue(plan, registry, where, env, replay, args.children, args.no_fan_out, force)
        return _run(plan, registry, where, env, replay, clock, args.concurrency, redactor, force)
    except BackfillError as exc:
        raise UsageError(str(exc)) from None


def _plan(
    args: argparse.Namespace,
    registry: Registry,
    name: str,
    raw: dict[str, str],
    clock: Clock,
    where: Locations,
) -> Plan:
    entry = registry.get(name)
    refs = None
    if SEASON_OPTION in raw and all(spec.name != SEASON_OPTION for spec in entry.options):
        try:
            season = Season.parse(raw[SEASON_OPTION])
        except ValueError as exc:
            raise UsageError(f"--season: {exc} (example: 2023-24)") from None
        refs = asyncio.run(landed_schedule(open_reader(where.out), registry, season))
    if args.no_fan_out and (args.children or args.child_option):
        raise UsageError("--no-fan-out runs the parent alone: drop --children and --child-option")
    selected = [c.strip() for c in args.children.split(",") if c.strip()] if args.children else None
    fan_out = () if args.no_fan_out else children_of(registry, name, selected)
    child_options: dict[str, object] = {}
    for pair in args.child_option:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--child-option '{pair}' is not NAME=VALUE")
        child_options[key] = value
    if child_options and not fan_out:
        raise UsageError(f"--child-option needs children to run ({name} runs none here)")
    return plan_backfill(
        registry,
        name,
        raw,
        clock,
        schedule=(lambda season: refs or []) if refs is not None else None,
        fan_out=fan_out,
        child_options=child_options,
    )


# ------------------------------------------------------------------------------------- dry run


def _dry_run(
    plan: Plan, registry: Registry, where: Locations, env: Settings, replay: bool, force: bool
) -> int:
    async def go() -> Estimate:
        store = open_ledger_store(env, replay)
        try:
            ledger = Ledger(store, where.out)
            return await estimate(plan, ledger, registry, QuotaTracker(store), force=force)
        finally:
            await store.aclose()

    found = asyncio.run(go())
    print(_first_line(plan, found, where, force))
    print(f"upstream requests: at least {found.requests} (pagination adds pages; nothing is sent now)")
    if found.children:
        children = ", ".join(f.child for f in plan.fan_out)
        print(f"children ({children}): planned from each parent's result, not counted here")
    for quota in found.quotas:
        left = "unknown (no response read yet)" if quota.remaining is None else f"{quota.remaining:g}"
        verdict = {
            None: "",
            True: " - fits",
            False: " - DOES NOT FIT: jobs past the reserve fail `auth` (quota reserve) without sending",
        }[quota.fits]
        print(f"{quota.host}: {quota.credits} credits; remaining {left}, reserve {quota.reserve}{verdict}")
    if found.credits == 0:
        print("credits: none (no metered upstream)")
    return EXIT_OK


def _first_line(plan: Plan, found: Estimate, where: Locations, force: bool = False) -> str:
    origin = f" ({plan.note})" if plan.note else ""
    done = "--force: done ones run again" if force else f"{found.done} done already (ledger)"
    return f"{plan.scraper}: {found.jobs} jobs{origin} into {where.out}; {done}, {found.to_run} to run"


# ------------------------------------------------------------------------------------- enqueue


def _enqueue(
    plan: Plan,
    registry: Registry,
    where: Locations,
    env: Settings,
    replay: bool,
    children: str | None,
    alone: bool,
    force: str | None,
) -> int:
    """Every job not done yet becomes a message (a parent always: its children may not be; every
    job with --force)."""
    topic = jobs_topic(env)
    selection = fan_out_selection(registry, plan.scraper, alone, children) if plan.fan_out else False

    async def go() -> tuple[int, int]:
        store = open_ledger_store(env, replay)
        try:
            ledger = Ledger(store, where.out)
            finished = await ledger.entries(plan.scraper)
            await register(ledger, plan.jobs)
            sent = 0
            for job in plan.jobs:
                entry = finished.get(job.key)
                if entry is not None and entry.done and not plan.fan_out and force is None:
                    continue
                message = JobMessage.of(
                    job, fan_out=selection, child_options=plan.child_options, trigger=TRIGGER, force=force
                )
                await topic.publish(message)
                sent += 1
            return sent, len(plan.jobs) - sent
        finally:
            await store.aclose()

    try:
        sent, skipped = asyncio.run(go())
    finally:
        topic.close()
    forced = f" (--force: {force})" if force else ""
    done = f"{skipped} done already (ledger){forced}"
    print(f"{plan.scraper}: enqueued {sent} jobs on {topic.description}; {done}")
    return EXIT_OK


# ------------------------------------------------------------------------------------- local run


def _run(
    plan: Plan,
    registry: Registry,
    where: Locations,
    env: Settings,
    replay: bool,
    clock: Clock,
    concurrency: int,
    redactor: Redactor,
    force: str | None,
) -> int:
    transport = ReplayTransport(where.fixtures) if replay else None
    children = {f.child for f in plan.fan_out}
    settings = ServiceSettings.for_command(concurrency, env)

    async def go() -> tuple[DrainReport, Progress]:
        interrupt = Interrupt(env.shutdown_grace)
        entries = [registry.get(name) for name in sorted({plan.scraper, *children})]
        with signals_interrupt(interrupt):
            core = await open_core(
                registry,
                where,
                entries,
                transport,
                redactor,
                replay=replay,
                clock=clock,
                trigger_source=TRIGGER,
                env=env,
            )
            try:
                assert core.ledger is not None
                for job in plan.jobs[:1]:
                    core.fetcher.check_credentials(job.first_requests())  # a missing key: exit 2 now
                found = await estimate(
                    plan, core.ledger, registry, core.fetcher.quota, force=force is not None
                )
                print(_first_line(plan, found, where, force is not None), file=sys.stderr)
                if replay and not env.state:
                    print(
                        "note: the ledger of a replay is in memory unless "
                        f"{Settings.variable('state')} is set: this backfill will not resume after a kill",
                        file=sys.stderr,
                    )
                await register(core.ledger, plan.jobs)
                manager = RunManager(core, settings, trigger_source=TRIGGER)
                once = OnceRunner(manager, core.ledger, owner=claim_owner(), claim_seconds=env.claim_seconds)
                progress = Progress(sys.stderr, len(plan.jobs))
                try:
                    report = await drain(
                        once,
                        items_of(plan, TRIGGER, force),
                        registry,
                        clock,
                        concurrency=concurrency,
                        interrupt=interrupt,
                        on_start=progress.started,
                        on_result=progress.finished,
                        on_refused=progress.refused,
                    )
                finally:
                    progress.close()
                    await manager.drain(0.0)
                return report, progress
            finally:
                await core.aclose()

    report, progress = asyncio.run(go())
    print(progress.summary(report))
    codes = [run_exit_code(r.record) for r in report.results if r.record is not None]
    if report.refused:
        codes.append(EXIT_USAGE)
    if report.interrupted:
        codes.append(Outcome.TRANSIENT.exit_code)
    return max(codes, default=EXIT_OK)


class Progress:
    """A bar on a terminal (one updating line); one plain line per finished job otherwise."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.total = total
        self.counts: Counter[str] = Counter()  # done / failed / refused
        self.kinds: Counter[Done] = Counter()  # ran / done already / recovered
        self.running = 0

    def started(self, item: Item) -> None:
        self.running += 1
        self._draw(None)

    def finished(self, result: OnceResult) -> None:
        self.running = max(0, self.running - 1)
        self.counts[outcome_label(result)] += 1
        self.kinds[result.done] += 1
        self.total += len(result.children)
        self._draw(f"{_describe(result)}")

    def refused(self, refused: Refused) -> None:
        self.counts["refused"] += 1
        self._draw(f"{refused.scraper} {refused.label}: refused ({refused.reason})")

    def _draw(self, line: str | None) -> None:
        ended = self.counts["done"] + self.counts["failed"]
        if self.tty:
            text = f"{bar(ended, self.total)} {ended}/{self.total} · {self._parts()} · {self.running} running"
            self.stream.write("\r\x1b[K" + text[:200])
            self.stream.flush()
        elif line is not None:
            print(f"[{ended}/{self.total}] {line}", file=self.stream, flush=True)

    def _parts(self) -> str:
        parts = [f"{self.counts['done']} done", f"{self.counts['failed']} failed"]
        if self.counts["refused"]:
            parts.append(f"{self.counts['refused']} refused")
        return ", ".join(parts)

    def summary(self, report: DrainReport) -> str:
        line = (
            f"backfill: {self.kinds[Done.RAN]} ran ({self.counts['failed']} failed), "
            f"{self.kinds[Done.DONE] + self.kinds[Done.RECOVERED]} already done (nothing sent), "
            f"{len(report.refused)} children refused"
        )
        if report.interrupted:
            line += f"; interrupted with {report.interrupted} left (run it again to resume)"
        return line

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = width if total == 0 else min(width, done * width // total)
    share = 100 if total == 0 else done * 100 // total
    return f"[{'#' * filled}{'.' * (width - filled)}] {share:3d}%"


def _describe(result: OnceResult) -> str:
    options = ", ".join(f"{key}={value}" for key, value in result.job.option_texts().items())
    what = f"{result.job.entry.name} {options}"
    if result.done is not Done.RAN:
        return f"{what}: {result.done.value} ({result.status})"
    return f"{what}: {result.status}"


# ------------------------------------------------------------------------------------- status


def _status(
    registry: Registry,
    name: str,
    raw: dict[str, str],
    clock: Clock,
    where: Locations,
    env: Settings,
    replay: bool,
) -> int:
    registry.get(name)  # an unknown name: exit 2 with suggestions
    plan = None
    if raw:
        refs = None
        entry = registry.get(name)
        if SEASON_OPTION in raw and all(spec.name != SEASON_OPTION for spec in entry.options):
            refs = asyncio.run(
                landed_schedule(open_reader(where.out), registry, Season.parse(raw[SEASON_OPTION]))
            )
        plan = plan_backfill(
            registry, name, raw, clock, schedule=(lambda s: refs or []) if refs is not None else None
        )

    async def go() -> dict[str, LedgerEntry]:
        store: StateStore = open_ledger_store(env, replay)
        try:
            return await Ledger(store, where.out).entries(name)
        finally:
            await store.aclose()

    entries = asyncio.run(go())
    keys: Sequence[str] = [job.key for job in plan.jobs] if plan else list(entries)
    counts = tally(entries, keys)
    total = len(keys)
    print(f"{name} in {where.out}: {total} jobs{'' if plan else ' in the ledger'}")
    print(
        f"{bar(counts['done'], total)}  done {counts['done']} · failed {counts['failed']} "
        f"({counts['retryable']} retryable) · dead-lettered {counts['dead_lettered']} · "
        f"running {counts['running']} · pending {counts['pending']}"
    )
    unfinished = [entries[key] for key in keys if key in entries and _state(entries[key]) in STUCK]
    for stuck in unfinished[:LISTED]:
        print(f"  {_state(stuck)}: {_job_line(stuck)}")
    if len(unfinished) > LISTED:
        print(f"  ... and {len(unfinished) - LISTED} more")
    return EXIT_OK


STUCK = ("dead-lettered", "failed")
LISTED = 20


def _state(entry: LedgerEntry, now: float | None = None) -> str:
    """done / dead-lettered / running / failed / pending: one job's place in `backfill status`."""
    if entry.done:
        return "done"
    if entry.dead_lettered:
        return "dead-lettered"
    if entry.claimed(time.time() if now is None else now):
        return "running"
    if entry.status is not None:
        return "failed"
    return "pending"


def _job_line(entry: LedgerEntry) -> str:
    options = " ".join(f"--{key} {value}" for key, value in entry.options.items())
    why = entry.failure_class or entry.status or ""
    attempts = f"{entry.attempts} attempt{'s' if entry.attempts != 1 else ''}"
    if entry.dead_letter:
        where = entry.dead_letter.get("topic")
        return f"{options} ({why}, {attempts}; on {where} since {entry.dead_letter.get('at')})"
    return f"{options} ({why}, {attempts}{', retryable' if entry.retryable else ''})"


def tally(entries: dict[str, LedgerEntry], keys: Sequence[str]) -> Counter[str]:
    """done / failed (retryable) / dead-lettered / running (claimed now) / pending, over `keys`."""
    now = time.time()
    counts: Counter[str] = Counter()
    for key in keys:
        entry = entries.get(key)
        state = "pending" if entry is None else _state(entry, now)
        counts[state.replace("-", "_")] += 1
        if state == "failed" and entry is not None and entry.retryable:
            counts["retryable"] += 1
    return counts
