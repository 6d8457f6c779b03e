"""The decisions of one moment: for every workflow, what is due, what is late, what is stale, and why.

Each workflow's windows over the horizon (its staleness plus a day, from the moment its records
begin: `since`) are sorted by due moment and compared with its record:

| the window                                                | decision                                 |
|-----------------------------------------------------------|------------------------------------------|
| due, not handled, due at most `late_after` ago             | `run`                                    |
| due, not handled, later than that but before `stale_at`    | `catch_up` (a tick was missed: an outage) |
| not handled by `stale_at`, or replaced by a newer slot     | `stale`: recorded, not run, said once    |
| done or stale already                                     | `nothing_due` (unless something else is) |
| held by another tick's live lease                          | `skip`: another tick runs it             |
| a day that opens none: no game, calendar unknown           | `skip`, with the calendar's reason        |
| the morning after, every job of yesterday's games done     | `skip`: recorded, nothing to recover     |
| pending (games not final) or not due yet                   | `nothing_due`, saying what it waits for  |

A workflow gets one decision per tick saying where it stands, plus one per window it runs and one for
the windows it gave up as stale. Deciding writes nothing: `scrapers plan` is exactly this.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from scrapers.core.clock import EASTERN
from scrapers.core.registry import Registry
from scrapers.pipeline.ledger import Ledger
from scrapers.workflows.calendar import LeagueCalendar, clock_text
from scrapers.workflows.jobs import JobSpecError, WindowJob, workflow_jobs
from scrapers.workflows.model import (
    AfterLastFinal,
    Every,
    MorningAfter,
    Workflow,
    WorkflowsFile,
    describe_duration,
)
from scrapers.workflows.recovery import Recovery, plan_recovery
from scrapers.workflows.triggers import NoWindow, Window, windows
from scrapers.workflows.windows import State, WindowRecord, WorkflowRecord


class Kind(StrEnum):
    RUN = "run"
    SKIP = "skip"
    CATCH_UP = "catch_up"
    NOTHING_DUE = "nothing_due"
    STALE = "stale"


KINDS = tuple(kind.value for kind in Kind)


@dataclass
class Decision:
    workflow: str
    kind: Kind
    reason: str
    at: datetime
    window: Window | None = None
    jobs: list[WindowJob] = field(default_factory=list)
    children: Counter[str] = field(default_factory=Counter)  # expected per-game children, for the plan
    stale: list[Window] = field(default_factory=list)  # the windows a `stale` decision gives up
    recovery: Recovery | None = None
    outcome: str = ""  # what execution did (tick only)
    settle: bool = False  # record the window done without running (a recovery with nothing to do)
    broken: bool = False  # a skip because the jobs cannot be resolved: someone has to fix the file
    lateness: str = ""  # ` (due 06:00, 35 h late)` for a catch-up, in its reason

    @property
    def runs(self) -> bool:
        return self.kind in (Kind.RUN, Kind.CATCH_UP) and bool(self.jobs)

    def line(self) -> str:
        text = f"{self.workflow}: {self.kind.value}: {self.reason}"
        return f"{text} -> {self.outcome}" if self.outcome else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "decision": self.kind.value,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "window": self.window.id if self.window else None,
            "day": self.window.day.isoformat() if self.window else None,
            "jobs": [job.describe() for job in self.jobs],
            "stale_windows": [window.id for window in self.stale],
            "outcome": self.outcome or None,
        }

    def to_record(self) -> dict[str, Any]:
        """What the workflow's record keeps of it (the job list only counted: a record is rewritten
        every tick, and 30 rosters a morning would make every write large)."""
        return {
            "at": self.at.isoformat(),
            "decision": self.kind.value,
            "window": self.window.id if self.window else None,
            "reason": self.reason,
            "jobs": len(self.jobs),
            "outcome": self.outcome or None,
        }


@dataclass(frozen=True)
class Moment:
    """What every workflow is decided against: the moment, and the wall time leases compare with."""

    at: datetime
    wall: float
    late_after: timedelta

    @property
    def today(self) -> date:
        return self.at.astimezone(EASTERN).date()


async def decide_all(
    registry: Registry,
    workflows: WorkflowsFile,
    calendar: LeagueCalendar,
    ledger: Ledger,
    records: dict[str, WorkflowRecord],
    moment: Moment,
) -> list[Decision]:
    """The decisions of every workflow `records` holds (all of the file, or those asked for), in the
    file's order."""
    decided: list[Decision] = []
    for name, workflow in workflows.workflows.items():
        if name not in records:
            continue
        decided.extend(
            await decide(registry, workflows, name, workflow, calendar, ledger, records[name], moment)
        )
    return decided


async def decide(
    registry: Registry,
    workflows: WorkflowsFile,
    name: str,
    workflow: Workflow,
    calendar: LeagueCalendar,
    ledger: Ledger,
    record: WorkflowRecord,
    moment: Moment,
) -> list[Decision]:
    at, today = moment.at, moment.today
    since = record.since or at - moment.late_after
    horizon = max(workflow.stale, timedelta(days=1)) + timedelta(days=1)
    first = max(
        (at - horizon).astimezone(EASTERN).date(), since.astimezone(EASTERN).date() - timedelta(days=1)
    )
    opened: list[Window] = []
    closed: dict[date, NoWindow] = {}
    day = first
    while day <= today + timedelta(days=1):
        league = await calendar.day(day)
        previous = (
            await calendar.day(day - timedelta(days=1))
            if isinstance(workflow.trigger, MorningAfter)
            else None
        )
        found = windows(name, workflow.trigger, workflow.stale, league, previous, today)
        if isinstance(found, NoWindow):
            closed[day] = found
        else:
            opened.extend(found)
        day += timedelta(days=1)
    opened.sort(key=lambda window: window.due or window.moment)

    stale: list[tuple[Window, str]] = []
    due: list[Window] = []
    waiting: list[Window] = []
    upcoming: list[Window] = []
    handled: list[tuple[Window, WindowRecord]] = []
    held: list[tuple[Window, WindowRecord]] = []
    before: list[Window] = []  # due before this output's first tick of the workflow: never ours
    for window in opened:
        if (window.due or window.moment) <= since:
            before.append(window)
            continue
        existing = record.windows.get(window.id)
        if existing is not None and existing.state is not State.RUNNING:
            handled.append((window, existing))
            continue
        if existing is not None and existing.held(moment.wall):
            held.append((window, existing))
            continue
        # Not handled, or a dead tick's lapsed claim: undecided.
        if window.due is None and window.day > today:
            continue  # a later day's games: nothing to wait for yet
        if window.due is None:
            if at >= window.stale_at:
                seen = window.waiting.split(";")[0]
                given_up = f"{window.about}: {seen} by {clock_text(window.stale_at, window.day)}"
                stale.append((window, f"{given_up}; the morning after recovers its jobs"))
            else:
                waiting.append(window)
        elif window.due > at:
            upcoming.append(window)
        elif at >= window.stale_at:
            stale.append((window, ""))
        else:
            due.append(window)
    if isinstance(workflow.trigger, Every) and len(due) > 1:
        # A newer slot replaces the older ones (a newer report, a newer poll).
        stale.extend((window, f"replaced by {due[-1].about}") for window in due[:-1])
        due = due[-1:]

    decisions: list[Decision] = []
    if stale:
        decisions.append(_stale(name, workflow, sorted(stale, key=lambda s: s[0].due or s[0].moment), at))
    for window in due:
        decisions.append(await _due(registry, workflows, name, workflow, window, calendar, ledger, moment))
    if all(decision.kind is Kind.STALE for decision in decisions):
        decisions.append(
            _standing(name, workflow, at, today, closed, waiting, upcoming, handled, held, before, since)
        )
    return decisions


def _stale(name: str, workflow: Workflow, stale: list[tuple[Window, str]], at: datetime) -> Decision:
    windows_ = [window for window, _ in stale]
    if len(stale) == 1:
        window, why = stale[0]
        if not why:
            when = window.due or window.moment
            late = _span(at - when)
            due = clock_text(when, at.astimezone(EASTERN).date())
            why = (
                f"{window.about} was missed (due {due}, {late} ago; "
                f"stale after {describe_duration(workflow.stale)})"
            )
        return Decision(name, Kind.STALE, why, at, window=window, stale=windows_)
    first, last = windows_[0], windows_[-1]
    today = at.astimezone(EASTERN).date()
    span = (
        f"from {clock_text(first.due or first.moment, today)} to {clock_text(last.due or last.moment, today)}"
    )
    reason = (
        f"{len(stale)} windows missed {span} and no longer useful "
        f"(stale after {describe_duration(workflow.stale)}, or replaced by a newer one)"
    )
    return Decision(name, Kind.STALE, reason, at, stale=windows_)


async def _due(
    registry: Registry,
    workflows: WorkflowsFile,
    name: str,
    workflow: Workflow,
    window: Window,
    calendar: LeagueCalendar,
    ledger: Ledger,
    moment: Moment,
) -> Decision:
    assert window.due is not None
    at, today = moment.at, moment.today
    late = at - window.due
    kind = Kind.RUN if late <= moment.late_after else Kind.CATCH_UP
    lateness = f" (due {clock_text(window.due, today)}, {_span(late)} late)" if kind is Kind.CATCH_UP else ""
    try:
        jobs = workflow_jobs(registry, workflows, name, window.day, window.moment)
    except JobSpecError as exc:
        # Checked by `scrapers check`, so this is a value that only this window makes invalid.
        reason = f"{window.about}: its jobs cannot be resolved: {exc}"
        return Decision(name, Kind.SKIP, reason, at, window=window, broken=True)
    decision = Decision(name, kind, "", at, window=window, jobs=jobs, lateness=lateness)
    if workflow.recover:
        await recover(registry, workflows, decision, calendar, ledger, today)
        return decision
    league = await calendar.day(window.games_day)
    decision.children = _children(jobs, league.refs())
    decision.reason = f"{window.about}{lateness}, running {_summary(jobs, decision.children)}"
    return decision


async def recover(
    registry: Registry,
    workflows: WorkflowsFile,
    decision: Decision,
    calendar: LeagueCalendar,
    ledger: Ledger,
    today: date,
) -> None:
    """Fill a morning-after decision from the ledger as it is now: the jobs of yesterday's games that
    failed or are missing (a tick asks again just before it runs them, so what an earlier workflow
    of the same tick ran is not run twice)."""
    window = decision.window
    assert window is not None
    workflow = workflows.workflows[decision.workflow]
    own = workflow_jobs(registry, workflows, decision.workflow, window.day, window.moment)
    recovery = await plan_recovery(
        registry, workflows, workflow.recover, calendar, window.games_day, ledger, today
    )
    decision.recovery = recovery
    decision.jobs = [*own, *recovery.rerun]
    if decision.jobs:
        decision.reason = f"{recovery.describe()}{decision.lateness}"
        decision.settle = False
    else:
        decision.kind = Kind.SKIP
        decision.reason = f"{recovery.describe()}{decision.lateness}: nothing to recover"
        decision.settle = True


def _standing(
    name: str,
    workflow: Workflow,
    at: datetime,
    today: date,
    closed: dict[date, NoWindow],
    waiting: list[Window],
    upcoming: list[Window],
    handled: list[tuple[Window, WindowRecord]],
    held: list[tuple[Window, WindowRecord]],
    before: list[Window],
    since: datetime,
) -> Decision:
    """Where the workflow stands when it runs nothing now."""
    if held:
        window, existing = held[-1]
        return Decision(
            name,
            Kind.SKIP,
            f"{window.about} is being run by another tick ({existing.owner}, decided {existing.decided_at})",
            at,
            window=window,
        )
    current = _current_day(workflow, at, today)
    waiting = [window for window in waiting if window.day == current] or waiting
    if waiting:
        window = waiting[-1]
        return Decision(name, Kind.NOTHING_DUE, f"{window.about}: {window.waiting}", at, window=window)
    if current in closed and not any(w.day == current for w in upcoming):
        no = closed[current]
        return Decision(name, Kind.SKIP, no.reason, at)
    parts = []
    recent = [(w, r) for w, r in handled if (w.due or w.moment) <= at and w.day == current]
    if recent:
        window, existing = recent[-1]
        parts.append(_handled_text(window, existing, today))
    elif before and before[-1].day == current:
        window = before[-1]
        first = clock_text(since, today)
        parts.append(f"{window.about} was before this output's first tick of the workflow ({first})")
    if upcoming:
        nxt = upcoming[0]
        assert nxt.due is not None
        when = clock_text(nxt.due, today)
        parts.append(f"next: {nxt.about}" if nxt.timed else f"next at {when} ({nxt.about})")
    elif current in closed:
        parts.append(closed[current].reason)
    else:
        parts.append(f"no other window {'today' if current == today else f'on {current}'}")
    return Decision(name, Kind.NOTHING_DUE, "; ".join(parts), at)


def _current_day(workflow: Workflow, at: datetime, today: date) -> date:
    """The league day the workflow is on now (an overnight range or a late final stays on yesterday)."""
    trigger = workflow.trigger
    if isinstance(trigger, Every) and trigger.overnight and at.astimezone(EASTERN).time() <= trigger.end:
        return today - timedelta(days=1)
    if isinstance(trigger, AfterLastFinal) and at.astimezone(EASTERN).hour < 6:
        return today - timedelta(days=1)
    return today


def _handled_text(window: Window, existing: WindowRecord, today: date) -> str:
    if existing.state is State.STALE:
        return f"{window.about} was given up as stale"
    what = f"{existing.jobs} job{'s' if existing.jobs != 1 else ''}"
    outcome = f": {existing.outcome}" if existing.outcome else ""
    verb = "caught up" if existing.decision == Kind.CATCH_UP else "ran"
    decided = existing.decided_at
    with contextlib.suppress(ValueError):
        decided = clock_text(datetime.fromisoformat(decided), today)
    if existing.decision == Kind.SKIP:
        return f"{window.about}: {existing.reason or 'nothing to do'} (decided {decided})"
    return f"{window.about} {verb} at {decided} ({what}{outcome})"


def _children(jobs: Sequence[WindowJob], refs: Sequence[Any]) -> Counter[str]:
    """Per-game children the plan expects from the calendar's games (per-event ones are counted
    once their parent has found the events)."""
    expected: Counter[str] = Counter()
    for planned in jobs:
        texts = planned.job.option_texts()
        for fan_out in planned.fan_out:
            labels = {child.label for ref in refs if not isinstance(child := fan_out.plan(texts, ref), str)}
            expected[fan_out.child] += len(labels)
    return expected


def _summary(jobs: Sequence[WindowJob], children: Counter[str]) -> str:
    counts = Counter(job.scraper for job in jobs)
    parts = [f"{count} × {scraper}" if count > 1 else scraper for scraper, count in counts.items()]
    parts.extend(f"{count} × {child}" for child, count in children.items() if count)
    # Children the calendar cannot count: per betting event, known once the parent found them.
    later = {f.child: "event_id" in f.filled for job in jobs for f in job.fan_out if not children[f.child]}
    parts.extend(
        f"{child} per event" if per_event else f"{child} from its result"
        for child, per_event in later.items()
    )
    return ", ".join(parts)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min" if rest else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"
