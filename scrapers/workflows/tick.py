"""One pass of the schedule: read the calendar and the records, decide, then (a tick) claim each due
window, carry it out, record it, and log and count every decision.

`plan` is the same pass without the writes: what a tick at that moment would decide, with the same
reasons, read from the same calendar, records and ledger. A tick never runs a window another tick
holds or has done (windows.py); what it could not claim is reported as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scrapers.core.clock import EASTERN
from scrapers.core.logs import structured
from scrapers.core.registry import Registry
from scrapers.pipeline.ledger import Ledger
from scrapers.workflows.calendar import LeagueCalendar
from scrapers.workflows.decide import Decision, Kind, Moment, decide_all, recover
from scrapers.workflows.execute import Executor
from scrapers.workflows.metrics import WorkflowMetrics
from scrapers.workflows.model import WorkflowsFile
from scrapers.workflows.triggers import Window
from scrapers.workflows.windows import Claim, State, WindowBook, WindowRecord, WorkflowRecord

log = logging.getLogger("scrapers.workflows")

# The levels of decision lines: a stale window is data given up, a skip of a due window is worth a
# look; the rest is the schedule working.
LEVELS = {
    Kind.RUN: logging.INFO,
    Kind.CATCH_UP: logging.WARNING,
    Kind.STALE: logging.WARNING,
    Kind.SKIP: logging.INFO,
    Kind.NOTHING_DUE: logging.INFO,
}


@dataclass
class Pass:
    """What one plan or tick reads and writes."""

    registry: Registry
    workflows: WorkflowsFile
    calendar: LeagueCalendar
    book: WindowBook
    ledger: Ledger
    metrics: WorkflowMetrics | None = None
    # The workflows decided (all of the file when empty); a recovery still reads the others.
    only: tuple[str, ...] = ()

    @property
    def selected(self) -> list[str]:
        return [name for name in self.workflows.workflows if not self.only or name in self.only]


async def read_records(book: WindowBook, names: list[str]) -> dict[str, WorkflowRecord]:
    return {name: await book.read(name) for name in names}


async def plan(run: Pass, at: datetime) -> list[Decision]:
    """What a tick at `at` would decide; nothing is written."""
    moment = Moment(at, run.book.wall(), run.workflows.late_after)
    records = await read_records(run.book, run.selected)
    decisions = await decide_all(run.registry, run.workflows, run.calendar, run.ledger, records, moment)
    await count_games(run, at)
    return decisions


async def decide_tick(run: Pass, at: datetime) -> list[Decision]:
    """A tick's decisions at `at` (each workflow's record begins here if this is its first tick)."""
    moment = Moment(at, run.book.wall(), run.workflows.late_after)
    since = at - run.workflows.late_after
    records = {name: await run.book.begin(name, since) for name in run.selected}
    decisions = await decide_all(run.registry, run.workflows, run.calendar, run.ledger, records, moment)
    await count_games(run, at)
    return decisions


async def carry_out(
    run: Pass,
    decisions: list[Decision],
    executor: Executor | None,
    *,
    owner: str,
    lease_seconds: float,
    on_decision: Callable[[Decision], None] = lambda decision: None,
) -> None:
    """Claim and carry out each due window once, record and log every decision (in order).
    `executor` may be None only when no decision runs anything."""
    by_workflow: dict[str, list[Decision]] = {}
    for decision in decisions:
        await _carry_out(run, decision, executor, owner, lease_seconds)
        record(run, decision)
        on_decision(decision)
        by_workflow.setdefault(decision.workflow, []).append(decision)
    for name, decided in by_workflow.items():
        await run.book.log(name, [d.to_record() for d in decided], decided[0].at)
        try:
            await run.book.mirror(name)
        except OSError as exc:
            log.warning("workflow record not mirrored beside the data: %s", exc, extra={"workflow": name})


async def _carry_out(
    run: Pass, decision: Decision, executor: Executor | None, owner: str, lease: float
) -> None:
    window = decision.window
    if decision.kind is Kind.STALE:
        await run.book.settle(
            decision.workflow,
            {w.id: _record(w, State.STALE, decision, reason=decision.reason) for w in decision.stale},
        )
        return
    if decision.settle and window is not None:
        await run.book.settle(
            decision.workflow, {window.id: _record(window, State.DONE, decision, reason=decision.reason)}
        )
        return
    if decision.recovery is not None and window is not None:
        # Asked again now: an earlier workflow of this tick may have run some of those jobs.
        today = decision.at.astimezone(EASTERN).date()
        await recover(run.registry, run.workflows, decision, run.calendar, run.ledger, today)
        if decision.settle:
            await run.book.settle(
                decision.workflow, {window.id: _record(window, State.DONE, decision, reason=decision.reason)}
            )
            return
    if not decision.runs or window is None:
        return
    if executor is None:
        raise ValueError("a decision runs jobs, and no executor was given")
    claimed, existing = await run.book.claim(
        decision.workflow,
        window.id,
        owner,
        lease,
        _record(window, State.RUNNING, decision, jobs=len(decision.jobs)),
    )
    if claimed is Claim.HELD:
        decision.kind = Kind.SKIP
        holder = existing.owner if existing is not None else "another tick"
        decision.reason = f"{window.about} is being run by another tick ({holder}); nothing run here"
        decision.jobs = []
        return
    if claimed is Claim.DONE:
        decision.kind = Kind.NOTHING_DUE
        decision.reason = f"{window.about} was handled by another tick meanwhile; nothing run here"
        decision.jobs = []
        return
    keeper = asyncio.create_task(_keep_lease(run.book, decision.workflow, window.id, owner, lease))
    try:
        executed = await executor.carry_out(decision)
    except BaseException:
        with contextlib.suppress(Exception):
            await run.book.release(decision.workflow, window.id, owner)
        raise
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    decision.outcome = executed.outcome
    if executed.interrupted:
        # Stopped by a signal: the window goes back, and the next tick catches it up (what ran is
        # done in the ledger and is not fetched again).
        await run.book.release(decision.workflow, window.id, owner)
        decision.outcome += "; interrupted, left for the next tick"
        return
    await run.book.finish(decision.workflow, window.id, owner, executed.jobs, executed.outcome)


async def _keep_lease(book: WindowBook, workflow: str, window: str, owner: str, lease: float) -> None:
    """Renew the window's lease while its jobs run; a killed tick stops, and the lease lapses."""
    while True:
        await asyncio.sleep(lease / 3)
        if not await book.renew(workflow, window, owner, lease):
            return


def _record(
    window: Window, state: State, decision: Decision, *, jobs: int = 0, reason: str = ""
) -> WindowRecord:
    return WindowRecord(
        state=state,
        decision=decision.kind.value,
        due=(window.due or window.moment).isoformat(),
        decided_at=decision.at.isoformat(),
        jobs=jobs,
        reason=reason,
    )


def record(run: Pass, decision: Decision) -> None:
    """One log line and the metrics of one decision (the decision log)."""
    if run.metrics is not None:
        run.metrics.decided(decision)
    fields = {
        "workflow": decision.workflow,
        "decision": decision.kind.value,
        "reason": decision.reason,
        "window": decision.window.id if decision.window else None,
        "decided_for": decision.at.isoformat(),
        "jobs": len(decision.jobs),
    }
    if decision.outcome:
        fields["outcome"] = decision.outcome
    if structured():
        # In text, for a person, stdout already carries the same line.
        log.log(logging.ERROR if decision.broken else LEVELS[decision.kind], decision.line(), extra=fields)


async def calendar_line(run: Pass, at: datetime) -> str:
    """`today 4 games (2 final), yesterday no game`, from the landed calendar."""
    today = at.astimezone(EASTERN).date()
    parts = []
    for label, day in (("today", today), ("yesterday", today - timedelta(days=1))):
        league = await run.calendar.day(day)
        text = f"{label} {league.summary()}"
        if league.game_day and league.final_count:
            text += f" ({league.final_count} final)"
        parts.append(text)
    return ", ".join(parts)


async def count_games(run: Pass, at: datetime) -> None:
    """`scraper_league_games{day}`: today's and yesterday's games per the landed schedule."""
    if run.metrics is None:
        return
    today = at.astimezone(EASTERN).date()
    for label, day in (("today", today), ("yesterday", today - timedelta(days=1))):
        league = await run.calendar.day(day)
        run.metrics.games(label, len(league.played) if league.known else None)
