"""A workflow's jobs resolved for one window, in the CLI's option vocabulary; and their check.

Resolution is the CLI's (`prepare`: the same keywords, messages and examples), with the window as
the clock: date keywords (`TODAY`, `YESTERDAY`, `TODAY-3`, and a date option's default such as
`bdl_games`' `TODAY`) count from the window's league day, so a post-game window due at 00:40 still
fetches the evening's games; `NOW` and every other option resolve at the window's moment. A
comma list (or a YAML list) in an option that is not itself a list runs one job per value, and
`A..B` a range, as `scrapers backfill` reads them.

`check_jobs` resolves every job of every workflow at a sample window, so an unknown scraper, option,
keyword, child or missing required option is found by `scrapers check`, before deployment.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from scrapers.core.clock import EASTERN, FrozenClock
from scrapers.core.errors import InvalidOptions, OptionError, UnknownScraperError, did_you_mean
from scrapers.core.fanout import FanOut
from scrapers.core.options import OptionSpec, OptionType, resolve_day
from scrapers.core.registry import Registry, ScraperEntry
from scrapers.pipeline.backfill import expand_values
from scrapers.pipeline.fanout import fan_out_for
from scrapers.pipeline.runner import Job, prepare
from scrapers.workflows.model import EXAMPLES, JobSpec, WorkflowsError, WorkflowsFile, read_workflows

_SCRAPER = EXAMPLES["scraper"]
# Past this many jobs from one spec, the spec is a typo (a range of years), not a workflow.
MAX_JOBS_PER_SPEC = 500


class JobSpecError(Exception):
    """One job of a workflow cannot be resolved: the message names the workflow, the job and why."""

    def __init__(self, workflow: str, index: int, spec: JobSpec, problems: Sequence[str]) -> None:
        self.problems = [f"workflow '{workflow}', job {index + 1} ({spec.scraper}): {p}" for p in problems]
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class WindowJob:
    """One job a window runs: the resolved job, its fan-out, and whether it is fetched again."""

    workflow: str
    job: Job
    fan_out: tuple[FanOut, ...] = ()
    child_options: Mapping[str, Any] = field(default_factory=dict)
    refresh: bool = False

    @property
    def scraper(self) -> str:
        return self.job.entry.name

    def describe(self) -> str:
        options = " ".join(f"{key}={value}" for key, value in self.job.option_texts().items())
        text = f"{self.scraper} {options}".strip()
        if self.fan_out:
            text += f" (+ {', '.join(f.child for f in self.fan_out)} per {_per(self.fan_out)})"
        return text


def _per(fan_outs: Sequence[FanOut]) -> str:
    filled = {name for f in fan_outs for name in f.filled}
    if "event_id" in filled:
        return "event"
    return "game" if filled & {"game_id", "game_code"} else "result"


def window_token(workflow: str, window: str) -> str:
    """The force token a window's snapshots (`refresh` jobs) run under: once per window, even though
    the ledger has the job done from an earlier one (Ledger.claim's `force`)."""
    return f"workflow:{workflow}:{window}"


def league_day_clock(day: date) -> FrozenClock:
    """A clock at noon Eastern of `day`: what date keywords count from."""
    return FrozenClock(datetime.combine(day, time(12), tzinfo=EASTERN))


def resolve_jobs(
    registry: Registry, workflow: str, index: int, spec: JobSpec, day: date, moment: datetime
) -> list[WindowJob]:
    """The jobs one spec stands for in a window (league day `day`, moment `moment`); raises
    JobSpecError naming every problem."""
    try:
        entry = registry.get(spec.scraper)
    except UnknownScraperError:
        guess = did_you_mean(spec.scraper, registry.names())
        raise JobSpecError(
            workflow,
            index,
            spec,
            [f"unknown scraper '{spec.scraper}'{guess} (`scrapers list` names them; example: {_SCRAPER})"],
        ) from None
    day_clock, moment_clock = league_day_clock(day), FrozenClock(moment)
    problems: list[str] = []
    rows: list[dict[str, object]] = []
    try:
        rows = _option_rows(entry, spec.options, day_clock)
    except (OptionError, InvalidOptions) as exc:
        problems.extend(_texts(exc))
    if len(rows) > MAX_JOBS_PER_SPEC:
        problems.append(f"its option values make {len(rows)} jobs, more than {MAX_JOBS_PER_SPEC}")
    jobs: dict[str, WindowJob] = {}
    selection: bool | tuple[str, ...] = (
        spec.fan_out if isinstance(spec.fan_out, bool) else tuple(spec.fan_out)
    )
    for row in rows if not problems else []:
        try:
            job = prepare(registry, entry.name, row, moment_clock)
            fan_out: tuple[FanOut, ...] = ()
            if selection:
                fan_out = fan_out_for(job, spec.child_options, registry, moment_clock, selection)
            elif spec.child_options:
                raise InvalidOptions(
                    [OptionError("child_options", "needs children: give fan_out", EXAMPLES["fan_out"])]
                )
        except (OptionError, InvalidOptions) as exc:
            problems.extend(_texts(exc))
            break
        jobs.setdefault(job.key, WindowJob(workflow, job, fan_out, dict(spec.child_options), spec.refresh))
    if problems:
        raise JobSpecError(workflow, index, spec, list(dict.fromkeys(problems)))
    return list(jobs.values())


def _texts(exc: OptionError | InvalidOptions) -> list[str]:
    return [str(problem) for problem in exc.problems] if isinstance(exc, InvalidOptions) else [str(exc)]


def _option_rows(
    entry: ScraperEntry, options: Mapping[str, object], day_clock: FrozenClock
) -> list[dict[str, object]]:
    """One options row per job: values expanded, date keywords (given or default) as dates."""
    specs = {spec.name: spec for spec in entry.options}
    canonical = {alias: spec.name for spec in entry.options for alias in spec.aliases}
    columns: list[list[tuple[str, object]]] = []
    problems: list[OptionError] = []
    given: set[str] = set()
    for key, value in options.items():
        spec = specs.get(canonical.get(key, key))
        given.add(canonical.get(key, key))
        if spec is None:
            columns.append([(key, value)])  # prepare names the unknown option, with its suggestions
            continue
        try:
            columns.append([(key, item) for item in _values(spec, value, day_clock)])
        except OptionError as problem:
            problems.append(problem)
    for spec in entry.options:
        if spec.name not in given and spec.type is OptionType.DATE and spec.default is not None:
            try:
                columns.append([(spec.name, _day(spec, spec.default, day_clock))])
            except OptionError as problem:
                problems.append(problem)
    if problems:
        raise InvalidOptions(problems)
    return [dict(combination) for combination in itertools.product(*columns)]


def _values(spec: OptionSpec, value: object, day_clock: FrozenClock) -> list[object]:
    if isinstance(value, list) and spec.type is not OptionType.LIST:
        items: list[object] = [item for part in value for item in _values(spec, part, day_clock)]
        return items
    if isinstance(value, str) and spec.type is not OptionType.LIST:
        expanded = expand_values(spec, value, day_clock)
        return [_day(spec, item, day_clock) if spec.type is OptionType.DATE else item for item in expanded]
    return [value]


def _day(spec: OptionSpec, value: object, day_clock: FrozenClock) -> object:
    """A date keyword as the date it names from the league day; anything else as given (what is
    not a date is then refused by the option's own resolution, with its message)."""
    if not isinstance(value, str):
        return value
    try:
        return resolve_day(value, day_clock).isoformat()
    except ValueError:
        return value


def workflow_jobs(
    registry: Registry, workflows: WorkflowsFile, name: str, day: date, moment: datetime
) -> list[WindowJob]:
    """Every job of workflow `name` in a window; JobSpecError for the first spec that fails."""
    jobs: list[WindowJob] = []
    for index, spec in enumerate(workflows.workflows[name].jobs):
        jobs.extend(resolve_jobs(registry, name, index, spec, day, moment))
    return jobs


def check_jobs(registry: Registry, workflows: WorkflowsFile, now: datetime) -> list[str]:
    """Every problem of every job, resolved at a sample window (today, at `now`)."""
    day = now.astimezone(EASTERN).date()
    problems: list[str] = []
    for name, workflow in workflows.workflows.items():
        for index, spec in enumerate(workflow.jobs):
            try:
                resolve_jobs(registry, name, index, spec, day, now)
            except JobSpecError as exc:
                problems.extend(exc.problems)
    return problems


def inspect_workflows(
    path: Path, registry: Registry, now: datetime
) -> tuple[WorkflowsFile | None, list[str]]:
    """The file and every problem of it: its structure, then each job against the registry."""
    try:
        workflows = read_workflows(path)
    except WorkflowsError as exc:
        return None, exc.problems
    return workflows, check_jobs(registry, workflows, now)
