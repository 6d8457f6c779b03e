"""Backfills: one scraper (or a parent and its fan-out) over many option values, exactly once per job.

Values (the option vocabulary, extended where a backfill needs many values of one option):

    --game_date 2024-01-10..2024-01-15     every day of the range, ends included (date keywords too:
                                           TODAY-7..YESTERDAY)
    --season 2021-22..2023-24              every season (an option of type season); an int option
                                           takes 1..5
    --game_code 20240115/GSWMEM,20240115/HOUPHI
                                           one job per value (an option that is not a list: a list
                                           option's commas stay its own list)
    --game_code @codes.txt                 one job per line of the file (# comments, blank lines)
    --season 2023-24                       for a scraper without a season option: the season's
                                           game dates (or games) from the landed schedule

Several expanded options give every combination. A season reads the newest landed
`nbac_schedule_api` or `nbac_schedule_cdn` document of that season under the output and takes its
completed regular-season and playoff games (the old platform's backfill set): a scraper with a
date option gets one job per game date, a per-game scraper one job per game, through the same
child plan the schedule declares for its fan-out.

The local drain runs every job through OnceRunner (claim, run, release), `concurrency` at a time,
queues the fan-out children of each parent, and comes back to jobs another process holds until
their claim is released or expires. A `--force` pass carries one token through every job and
child: jobs done before run once more, and once only (Ledger.claim).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from scrapers.core.clock import Clock
from scrapers.core.errors import CourtsideError, InvalidOptions, OptionError, UnknownScraperError
from scrapers.core.fanout import FanOut, FanOutRef, GameRef
from scrapers.core.options import OptionSpec, OptionType, resolve_day
from scrapers.core.registry import Registry, ScraperEntry, placeholders
from scrapers.core.season import Season
from scrapers.crosscheck.landed import LandedReader
from scrapers.http.policy import SourcePolicy
from scrapers.http.quota import QuotaTracker
from scrapers.pipeline.fanout import declared_fan_outs, select_fan_outs
from scrapers.pipeline.jobs import JobRequest, PlannedJob
from scrapers.pipeline.ledger import JobId, Ledger
from scrapers.pipeline.once import Done, NotAdmitted, OnceResult, OnceRunner
from scrapers.pipeline.runner import Job, prepare
from scrapers.pipeline.runs import Interrupt
from scrapers.sources.nbac.schedule import backfill_refs

RANGE = ".."
FROM_FILE = "@"
SEASON_OPTION = "season"
SCHEDULES = ("nbac_schedule_api", "nbac_schedule_cdn")
# A backfill larger than this is a typo (a range of centuries), not a plan.
MAX_JOBS = 100_000
MAX_RANGE_DAYS = 3660


class BackfillError(CourtsideError):
    """The backfill cannot be planned as asked (exit 2): the message says what to do instead."""


@dataclass(frozen=True)
class Plan:
    """The backfill's jobs, in order, and how their children are planned."""

    scraper: str
    jobs: tuple[Job, ...]
    fan_out: tuple[FanOut, ...] = ()
    child_options: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""  # where the values came from (a season's schedule), for the first line


# ------------------------------------------------------------------------------------- planning


def expand_values(spec: OptionSpec, raw: str, clock: Clock) -> list[object]:
    """The values one `--name VALUE` stands for in a backfill (see the module doc)."""
    texts = _lines(spec, raw[1:]) if raw.startswith(FROM_FILE) else [raw]
    if spec.type is OptionType.LIST:
        return list(texts)  # a list option's commas are its own list
    values: list[object] = []
    for text in (part.strip() for chunk in texts for part in chunk.split(",")):
        if not text:
            continue
        if RANGE in text and spec.type in (OptionType.DATE, OptionType.SEASON, OptionType.INT):
            values.extend(_range(spec, text, clock))
        else:
            values.append(text)
    if not values:
        raise OptionError(spec.name, "names no value", spec.example)
    return values


def _lines(spec: OptionSpec, name: str) -> list[str]:
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise OptionError(
            spec.name, f"cannot read {name}: {exc.strerror or exc}", f"@{spec.name}s.txt"
        ) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _range(spec: OptionSpec, text: str, clock: Clock) -> list[object]:
    first, _, last = text.partition(RANGE)
    example = f"{spec.example}{RANGE}{spec.example}"
    try:
        if spec.type is OptionType.DATE:
            start, end = resolve_day(first, clock), resolve_day(last, clock)
            days = (end - start).days
            _check_range(spec, text, days, MAX_RANGE_DAYS, example)
            return [(start + timedelta(days=n)).isoformat() for n in range(days + 1)]
        if spec.type is OptionType.SEASON:
            low, high = Season.parse(first), Season.parse(last)
            _check_range(spec, text, high.start_year - low.start_year, 200, example)
            return [Season(year).nba_format for year in range(low.start_year, high.start_year + 1)]
        low_int, high_int = int(first), int(last)
        _check_range(spec, text, high_int - low_int, MAX_JOBS, example)
        return [str(n) for n in range(low_int, high_int + 1)]
    except ValueError as exc:
        raise OptionError(spec.name, f"'{text}' is not a range: {exc}", example) from None


def _check_range(spec: OptionSpec, text: str, span: int, limit: int, example: str) -> None:
    if span < 0:
        raise OptionError(spec.name, f"'{text}' ends before it starts", example)
    if span >= limit:
        raise OptionError(spec.name, f"'{text}' spans more than {limit} values", example)


def plan_backfill(
    registry: Registry,
    name: str,
    raw: Mapping[str, str],
    clock: Clock,
    *,
    schedule: Callable[[Season], Sequence[FanOutRef]] | None = None,
    fan_out: tuple[FanOut, ...] = (),
    child_options: Mapping[str, Any] | None = None,
) -> Plan:
    """The jobs of `scrapers backfill NAME --option VALUES...` (raises OptionError, InvalidOptions,
    UnknownScraperError or BackfillError, all exit 2). `schedule` gives a season's games."""
    entry = registry.get(name)
    specs = {spec.name: spec for spec in entry.options}
    aliases = {alias: spec.name for spec in entry.options for alias in spec.aliases}
    given = {aliases.get(key, key): value for key, value in raw.items()}
    note = ""
    season_rows: list[dict[str, object]] = [{}]
    if SEASON_OPTION in given and SEASON_OPTION not in specs:
        season = _season(given.pop(SEASON_OPTION))
        if schedule is None:
            raise BackfillError("--season needs the landed schedule, and no output was given")
        season_rows = _season_rows(registry, entry, season, schedule(season), given)
        per_game = any(
            f.child == name for parent in SCHEDULES for f in declared_fan_outs(registry.get(parent))
        )
        what = "games" if per_game else "game dates"
        note = f"{len(season_rows)} {what} of {season} from the landed schedule"
    problems: list[OptionError] = []
    columns: list[list[tuple[str, object]]] = []
    for key, value in given.items():
        spec = specs.get(key)
        if spec is None:
            continue  # resolve_options names the unknown option, with its suggestions
        try:
            columns.append([(key, item) for item in expand_values(spec, value, clock)])
        except OptionError as problem:
            problems.append(problem)
    if problems:
        raise InvalidOptions(problems)
    plain = {key: value for key, value in given.items() if key not in specs}
    count = len(season_rows) * _product_size(columns)
    if count > MAX_JOBS:
        raise BackfillError(f"{count} jobs is more than one backfill takes ({MAX_JOBS}); split the range")
    jobs: dict[str, Job] = {}
    for row in season_rows:
        for combination in itertools.product(*columns):
            options = {**plain, **row, **dict(combination)}
            job = prepare(registry, name, options, clock)
            jobs.setdefault(job.key, job)  # `2024-01-15,20240115` are one job
    return Plan(name, tuple(jobs.values()), fan_out, dict(child_options or {}), note)


def _product_size(columns: list[list[tuple[str, object]]]) -> int:
    size = 1
    for column in columns:
        size *= len(column)
    return size


def _season(text: str) -> Season:
    try:
        return Season.parse(text)
    except ValueError as exc:
        raise OptionError(SEASON_OPTION, str(exc), "2023-24") from None


def _season_rows(
    registry: Registry,
    entry: ScraperEntry,
    season: Season,
    refs: Sequence[FanOutRef],
    given: Mapping[str, str],
) -> list[dict[str, object]]:
    """One options row per game (a child of the schedule's fan-out) or per game date (a scraper
    with a date option), for a backfill of `season`."""
    plans = [
        f for parent in SCHEDULES for f in declared_fan_outs(registry.get(parent)) if f.child == entry.name
    ]
    if plans:
        declared = plans[0]
        if overlap := sorted(set(declared.filled) & set(given)):
            raise BackfillError(f"--season fills {', '.join(overlap)} for each game; give one or the other")
        rows: list[dict[str, object]] = []
        for ref in refs:
            child = declared.plan({SEASON_OPTION: season.nba_format}, ref)
            if not isinstance(child, str):
                rows.append(dict(child.options))
        return rows
    date_option = entry.load_class().date_option
    if date_option is None:
        raise BackfillError(
            f"--season fills a date option or a per-game option from the schedule, and {entry.name} has "
            f"neither; give its options instead (see `scrapers run {entry.name} --help`)"
        )
    if date_option in given:
        raise BackfillError(f"give --season or --{date_option}, not both")
    return [{date_option: day} for day in sorted({ref.game_date for ref in refs if isinstance(ref, GameRef)})]


async def landed_schedule(reader: LandedReader, registry: Registry, season: Season) -> list[FanOutRef]:
    """The backfill games of `season` from the newest schedule landed under the output; a
    BackfillError naming the command that lands one when there is none."""
    newest: tuple[str, str] | None = None  # (file name, path): landing timestamps sort as text
    for name in SCHEDULES:
        template = registry.get(name).path
        folder = template.split("{timestamp}", 1)[0].format(
            **{key: season.nba_format for key in placeholders(template) if key != "timestamp"}
        )
        for path in await reader.names(folder):
            stamp = PurePosixPath(path).name
            if newest is None or stamp > newest[0]:
                newest = (stamp, path)
    if newest is None:
        raise BackfillError(
            f"no schedule of {season} has landed in {reader.where}: land it first with "
            f"`scrapers run nbac_schedule_api --season {season} --out {reader.where}`"
        )
    data = await reader.read(newest[1])
    try:
        document = json.loads(data or b"")
        games = document["games"]
    except (ValueError, KeyError, TypeError):
        raise BackfillError(f"{newest[1]} is not a schedule document (no games list)") from None
    return list(backfill_refs(games))


def children_of(registry: Registry, name: str, selected: Sequence[str] | None) -> tuple[FanOut, ...]:
    """The fan-outs a backfill of `name` runs: the declared defaults, or the children named."""
    return select_fan_outs(registry.get(name), True if selected is None else selected)


# ------------------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class HostQuota:
    host: str
    credits: int  # what the jobs to run would spend here
    remaining: float | None  # the last reading any process stored; None: unknown
    reserve: int

    @property
    def fits(self) -> bool | None:
        """Whether spending `credits` leaves the reserve; None when nothing was read yet."""
        return None if self.remaining is None else self.remaining - self.credits >= self.reserve


@dataclass(frozen=True)
class Estimate:
    jobs: int
    done: int  # the ledger says succeeded (or no data) already: skipped, nothing sent
    to_run: int
    requests: int  # at least: the jobs' minimum requests (pagination and children come on top)
    credits: int
    quotas: tuple[HostQuota, ...]
    children: bool  # parents whose children are not counted (they are known once a parent ran)


async def estimate(
    plan: Plan, ledger: Ledger, registry: Registry, quota: QuotaTracker, *, force: bool = False
) -> Estimate:
    """What the backfill would send, before anything is sent: the ledger's finished jobs are free
    (unless `force` runs them again)."""
    done, requests, credits = 0, 0, 0
    per_host: dict[str, int] = {}
    reserve: dict[str, int] = {}
    finished = {} if force else await ledger.entries(plan.scraper)
    for job in plan.jobs:
        entry = finished.get(job.key)
        if entry is not None and entry.done:
            done += 1
            continue
        scraper = job.entry.create()
        opts = scraper.options_type(**job.options)
        requests += scraper.minimum_requests(opts)
        cost = scraper.quota_cost(opts)
        if cost:
            credits += cost
            policy = SourcePolicy.from_settings(job.entry.source, registry.sources[job.entry.source].settings)
            for host in {request.host for request in scraper.requests(opts)}:
                per_host[host] = per_host.get(host, 0) + cost
                reserve[host] = policy.quota.reserve if policy.quota else 0
    quotas = [
        HostQuota(host, spent, await quota.remaining(host), reserve[host])
        for host, spent in sorted(per_host.items())
    ]
    return Estimate(
        len(plan.jobs), done, len(plan.jobs) - done, requests, credits, tuple(quotas), bool(plan.fan_out)
    )


# ------------------------------------------------------------------------------------- the drain


@dataclass
class Item:
    planned: PlannedJob
    fan_out: tuple[FanOut, ...] = ()
    child_options: Mapping[str, Any] = field(default_factory=dict)
    force: str | None = None  # the --force pass's token, for the job and its children


@dataclass
class Refused:
    """A fan-out child the parent's ids made invalid: reported, never run."""

    scraper: str
    label: str
    reason: str


@dataclass
class DrainReport:
    results: list[OnceResult] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    interrupted: int = 0  # jobs left when a signal stopped the drain


def outcome_label(result: OnceResult) -> str:
    """done (ran ok, or already), failed, or busy: what the progress line counts."""
    if result.done is Done.BUSY:
        return "busy"
    return "done" if result.ok else "failed"


def items_of(plan: Plan, trigger: str | None = None, force: str | None = None) -> list[Item]:
    return [
        Item(
            PlannedJob(JobRequest(job.entry.name, job.option_texts(), trigger=trigger), job, ()),
            plan.fan_out,
            plan.child_options,
            force,
        )
        for job in plan.jobs
    ]


async def register(ledger: Ledger, jobs: Iterable[Job]) -> None:
    """Put the jobs in the ledger as pending (the finished ones stay as they are), so `backfill
    status NAME` can count what is left, wherever the jobs end up running."""
    for job in jobs:
        await ledger.plan(JobId.of(job))


async def drain(
    once: OnceRunner,
    items: Iterable[Item],
    registry: Registry,
    clock: Clock,
    *,
    concurrency: int,
    interrupt: Interrupt,
    on_start: Callable[[Item], None] = lambda item: None,
    on_result: Callable[[OnceResult], None] = lambda result: None,
    on_refused: Callable[[Refused], None] = lambda refused: None,
) -> DrainReport:
    """Run every item once, `concurrency` at a time, children after their parent; until done or
    interrupted (then runs in flight get the interrupt's grace, and are cut off after it)."""
    queue: deque[Item] = deque(items)
    deferred: list[Item] = []
    report = DrainReport()
    running: dict[asyncio.Task[OnceResult], Item] = {}
    stop = asyncio.ensure_future(interrupt.requested.wait())
    drained = False
    try:
        while True:
            while queue and len(running) < concurrency and not interrupt.requested.is_set():
                item = queue.popleft()
                on_start(item)
                task = asyncio.ensure_future(
                    once.run(item.planned, item.fan_out, item.child_options, force=item.force)
                )
                running[task] = item
            if not running:
                if deferred and not interrupt.requested.is_set():
                    await _until_claims_free(once, deferred, interrupt)
                    queue.extend(deferred)
                    deferred.clear()
                    continue
                break
            if interrupt.requested.is_set() and not drained:
                # No new runs; those in flight get the grace, then a cut-off completion each.
                once.manager.stopped_by = interrupt.cause
                await once.manager.drain(interrupt.grace_seconds, now=interrupt.now)
                drained = True
            waits: set[asyncio.Future[Any]] = {*running}
            if not stop.done():
                waits.add(stop)
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in [task for task in running if task.done()]:
                item = running.pop(task)
                try:
                    result = task.result()
                except NotAdmitted:
                    queue.appendleft(item)  # started as the drain began: left for the next pass
                    continue
                if result.done is Done.BUSY:
                    deferred.append(item)
                else:
                    report.results.append(result)
                    on_result(result)
                for child in result.children:
                    try:
                        job = prepare(registry, child.scraper, child.options, clock)
                    except (InvalidOptions, OptionError, UnknownScraperError) as exc:
                        refused = Refused(child.scraper, child.label, str(exc))
                        report.refused.append(refused)
                        on_refused(refused)
                        continue
                    request = JobRequest(
                        child.scraper,
                        job.option_texts(),
                        trigger=item.planned.request.trigger,
                        workflow=item.planned.request.workflow,  # the parent's (a tick's window)
                    )
                    queue.append(Item(PlannedJob(request, job, ()), force=item.force))
        report.interrupted = len(queue) + len(deferred)
        return report
    finally:
        stop.cancel()


async def _until_claims_free(once: OnceRunner, deferred: Sequence[Item], interrupt: Interrupt) -> None:
    """Wait until the first claim another process holds on a deferred job can have ended."""
    ends = []
    for item in deferred:
        entry = await once.ledger.get(JobId.of(item.planned.job))
        if entry is not None and entry.claim_until is not None:
            ends.append(entry.claim_until)
    wait = min(ends, default=time.time()) - time.time()
    # At least a beat (a claim released meanwhile shows at once), at most one claim period.
    wait = min(max(wait, 0.5), once.claim_seconds)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(interrupt.requested.wait(), timeout=wait)
