"""The morning after: re-run only the jobs of yesterday's games whose ledger status is failed or missing.

For each workflow a morning-after workflow `recover`s (e.g. `post_game`), its windows on the game day
are opened again from the landed calendar and their jobs resolved exactly as that workflow resolved
them (same options, same job keys), and each job's ledger entry decides:

* done (`success`, `no_data`, `partial`): left alone, nothing is fetched;
* failed, or missing (no entry, or planned and never finished): re-run.

Fan-out children count one by one. Their ids come from the parent's ledger entry when the parent
succeeded (so an event's props are the events the parent saw), else from the calendar's games for a
per-game fan-out (the gamebooks of every game of the day). A parent that failed or is missing re-runs
with its fan-out (its children follow from its fresh result, each still once per key); a child whose
parent is done re-runs alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions, OptionError, UnknownScraperError
from scrapers.core.fanout import FanOut, FanOutRef, GameRef, ref_from_dict
from scrapers.core.registry import Registry
from scrapers.pipeline.fanout import child_options_for
from scrapers.pipeline.ledger import JobId, Ledger, LedgerEntry
from scrapers.pipeline.runner import prepare
from scrapers.workflows.calendar import LeagueCalendar
from scrapers.workflows.jobs import WindowJob, window_token, workflow_jobs
from scrapers.workflows.model import WorkflowsFile
from scrapers.workflows.triggers import NoWindow, windows


@dataclass
class Recovery:
    """What the recovered workflows had for one game day, and what runs again."""

    workflows: tuple[str, ...]
    day: date
    total: int = 0
    done: int = 0
    failed: int = 0
    missing: int = 0
    rerun: list[WindowJob] = field(default_factory=list)  # parents (with their fan-out) and lone children
    counts: Counter[str] = field(default_factory=Counter)  # scraper -> jobs failed or missing
    notes: list[str] = field(default_factory=list)  # windows that could not be opened again, and why

    def describe(self) -> str:
        what = " and ".join(self.workflows)
        if not self.total:
            return f"{what} had no jobs for {self.day}" + (
                f" ({'; '.join(self.notes)})" if self.notes else ""
            )
        if not self.rerun:
            return f"all {self.total} jobs of {what} for the games of {self.day} are done (ledger)"
        parts = []
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.missing:
            parts.append(f"{self.missing} missing")
        listed = ", ".join(
            f"{count} × {name}" if count > 1 else name for name, count in sorted(self.counts.items())
        )
        return (
            f"{' and '.join(parts)} of the {self.total} jobs of {what} for the games of {self.day}: "
            f"re-running {listed}"
        )


async def plan_recovery(
    registry: Registry,
    workflows: WorkflowsFile,
    names: Sequence[str],
    calendar: LeagueCalendar,
    day: date,
    ledger: Ledger,
    today: date,
) -> Recovery:
    recovery = Recovery(tuple(names), day)
    league = await calendar.day(day)
    previous = await calendar.day(day - timedelta(days=1))
    for name in names:
        workflow = workflows.workflows[name]
        opened = windows(name, workflow.trigger, workflow.stale, league, previous, today)
        if isinstance(opened, NoWindow):
            recovery.notes.append(f"{name}: {opened.reason}")
            continue
        for window in opened:
            for planned in workflow_jobs(registry, workflows, name, window.games_day, window.moment):
                token = window_token(name, window.id)
                await _consider(recovery, registry, planned, ledger, league.refs(), window.moment, token)
    return recovery


async def _consider(
    recovery: Recovery,
    registry: Registry,
    planned: WindowJob,
    ledger: Ledger,
    games: tuple[GameRef, ...],
    moment: datetime,
    token: str,
) -> None:
    entry = await ledger.get(JobId.of(planned.job))
    # A snapshot (`refresh`) counts as done only if it was fetched in that very window (under its
    # force token): the final scoreboard, not the evening's poll of the same job key.
    parent_done = _count(recovery, planned.scraper, entry, token if planned.refresh else None)
    refs = _refs(entry) if entry is not None and entry.done and entry.fan_out else list(games)
    waiting_for_ids: list[FanOut] = []
    for fan_out in planned.fan_out:
        children = await _children(registry, planned, fan_out, refs, ledger, moment)
        if not children and not parent_done:
            # Per-event children: their ids are the parent's to find; they follow its re-run.
            waiting_for_ids.append(fan_out)
        for child, child_entry in children:
            if not _count(recovery, child.scraper, child_entry):
                recovery.rerun.append(child)
    if not parent_done:
        recovery.rerun.append(replace(planned, fan_out=tuple(waiting_for_ids)))


def _count(recovery: Recovery, scraper: str, entry: LedgerEntry | None, token: str | None = None) -> bool:
    """Tally one job; True when it is done (for a snapshot: done in the window `token` names)."""
    recovery.total += 1
    if entry is not None and (entry.done_for(token) if token is not None else entry.done):
        recovery.done += 1
        return True
    if entry is not None and entry.status is not None and not entry.done:
        recovery.failed += 1
    else:
        recovery.missing += 1
    recovery.counts[scraper] += 1
    return False


def _refs(entry: LedgerEntry) -> list[FanOutRef]:
    refs: list[FanOutRef] = []
    for raw in entry.fan_out:
        try:
            refs.append(ref_from_dict(raw))
        except (ValueError, KeyError):
            continue
    return refs


async def _children(
    registry: Registry,
    planned: WindowJob,
    fan_out: FanOut,
    refs: Sequence[FanOutRef],
    ledger: Ledger,
    moment: datetime,
) -> list[tuple[WindowJob, LedgerEntry | None]]:
    """The children `fan_out` plans from `refs`, each with its ledger entry (a child alone: no fan-out)."""
    clock = FrozenClock(moment)
    texts = planned.job.option_texts()
    extra = child_options_for(registry, fan_out, planned.child_options)
    found: dict[str, tuple[WindowJob, LedgerEntry | None]] = {}
    for ref in refs:
        child = fan_out.plan(texts, ref)
        if isinstance(child, str):
            continue
        try:
            job = prepare(registry, fan_out.child, {**extra, **child.options}, clock)
        except (InvalidOptions, OptionError, UnknownScraperError):
            continue  # a hostile id: the fan-out refuses it too, and reports it there
        if job.key not in found:
            found[job.key] = (WindowJob(planned.workflow, job), await ledger.get(JobId.of(job)))
    return list(found.values())
