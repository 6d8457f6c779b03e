"""A trigger and a league day -> the windows it opens, each with its due moment and its staleness.

A window is one occasion for a workflow to run: `2024-01-15` for a daily trigger, `2024-01-15@17:15`
for one slot of a repeating trigger. Its league day is the Eastern date it belongs to (a post-game
window due at 00:40 belongs to the evening before; an overnight slot to the day its range started):
the date keywords of its jobs are relative to that day, and `NOW` is the window's moment.

A window that cannot be placed yet (the last game is not final) is *pending*: it has no due moment,
a moment its jobs would resolve at, and a time after which waiting is pointless (then it is stale).
A day that opens no window says why (`no game today`, or that its calendar is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from scrapers.core.clock import EASTERN
from scrapers.workflows.calendar import LeagueDay, clock_text
from scrapers.workflows.model import (
    AfterLastFinal,
    At,
    BeforeFirstTip,
    Every,
    MorningAfter,
    Trigger,
    describe_duration,
)


@dataclass(frozen=True)
class Window:
    workflow: str
    id: str  # unique within the workflow: `2024-01-15` or `2024-01-15@17:15`
    day: date  # the league day: what TODAY means in its jobs
    due: datetime | None  # UTC; None: pending (its data is not in yet)
    moment: datetime  # what NOW means in its jobs (the due moment, or when it would be due)
    stale_at: datetime  # not run by then: stale
    about: str  # what the window is, for reasons: `the 17:15 window`, `the games of 2024-01-15`
    waiting: str = ""  # why a pending window is not due yet
    data_day: date | None = None  # the games it is about, when not its own day (the morning after)
    timed: bool = False  # `about` names its time of day already (`the 17:15 window`)

    @property
    def pending(self) -> bool:
        return self.due is None

    @property
    def games_day(self) -> date:
        return self.data_day or self.day


@dataclass(frozen=True)
class NoWindow:
    """A day on which the trigger opens nothing, and why."""

    day: date
    reason: str
    unknown: bool = False  # the calendar could not say (no schedule landed)


def at_local(day: date, clock: time) -> datetime:
    """`day` at `clock` Eastern, in UTC."""
    return datetime.combine(day, clock, tzinfo=EASTERN).astimezone(UTC)


def day_word(day: date, today: date) -> str:
    if day == today:
        return "today"
    if day == today - timedelta(days=1):
        return "yesterday"
    return f"on {day.isoformat()}"


def windows(
    workflow: str,
    trigger: Trigger,
    stale: timedelta,
    league: LeagueDay,
    previous: LeagueDay | None,
    today: date,
) -> list[Window] | NoWindow:
    """The windows `trigger` opens on the league day `league` (`previous` is the day before it,
    which the morning after is about)."""
    day = league.day
    if isinstance(trigger, At):
        if trigger.game_days and (blocked := _needs_games(league, today)) is not None:
            return blocked
        due = at_local(day, trigger.at)
        about = f"the {day} {trigger.at:%H:%M} window"
        return [Window(workflow, day.isoformat(), day, due, due, due + stale, about, timed=True)]
    if isinstance(trigger, Every):
        if trigger.game_days and (blocked := _needs_games(league, today)) is not None:
            return blocked
        return list(_slots(workflow, trigger, day, stale))
    if isinstance(trigger, MorningAfter):
        if previous is None or not previous.known:
            reason = previous.unknown_reason if previous is not None else "no calendar"
            return NoWindow(
                day, f"the calendar of {day - timedelta(days=1)} is unknown: {reason}", unknown=True
            )
        if not previous.game_day:
            return NoWindow(day, f"no game {day_word(previous.day, today)}")
        due = at_local(day, trigger.morning_after)
        about = f"the {len(previous.played)} games of {previous.day}"
        return [Window(workflow, day.isoformat(), day, due, due, due + stale, about, data_day=previous.day)]
    if (blocked := _needs_games(league, today)) is not None:
        return blocked
    if isinstance(trigger, BeforeFirstTip):
        first = league.first_tip
        if first is None:
            return NoWindow(day, f"no tip time for the games {day_word(day, today)} in the schedule")
        due = first - trigger.before_first_tip
        about = f"the {day} first tip at {clock_text(first, day)}"
        return [Window(workflow, day.isoformat(), day, due, due, due + stale, about)]
    assert isinstance(trigger, AfterLastFinal)
    return [_after_last_final(workflow, trigger, stale, league)]


def _needs_games(league: LeagueDay, today: date) -> NoWindow | None:
    if not league.known:
        return NoWindow(league.day, league.unknown_reason, unknown=True)
    if not league.game_day:
        postponed = len(league.games) - len(league.played)
        tail = f" ({postponed} postponed)" if postponed else ""
        return NoWindow(league.day, f"no game {day_word(league.day, today)}{tail}")
    return None


def _slots(workflow: str, trigger: Every, day: date, stale: timedelta) -> list[Window]:
    start = datetime.combine(day, trigger.start, tzinfo=EASTERN)
    end_day = day + timedelta(days=1) if trigger.overnight else day
    end = datetime.combine(end_day, trigger.end, tzinfo=EASTERN)
    slots = []
    local = start
    while local <= end:
        due = local.astimezone(UTC)
        # Overnight slots keep the league day and say so in their id (`@00:30+1`).
        suffix = "+1" if local.date() != day else ""
        label = f"{local:%H:%M}{suffix}"
        about = f"the {label} window"
        slots.append(Window(workflow, f"{day}@{label}", day, due, due, due + stale, about, timed=True))
        # Wall-clock steps (a 15-minute slot stays on the quarter hour across a DST change).
        local = (local.replace(tzinfo=None) + trigger.every).replace(tzinfo=EASTERN)
    return slots


def _after_last_final(workflow: str, trigger: AfterLastFinal, stale: timedelta, league: LeagueDay) -> Window:
    day = league.day
    played = league.played
    last_final = league.last_final_at
    if last_final is not None:
        due = last_final + trigger.after_last_final
        about = f"{len(played)} games final since {clock_text(last_final, day)}"
        return Window(workflow, day.isoformat(), day, due, due, due + stale, about)
    # Not all final yet: it can be due no earlier than the last tip plus a game; waiting longer
    # than a long game and the window's staleness is pointless (the morning after recovers).
    end = league.expected_end or at_local(day, time(23, 59))
    moment = end + trigger.after_last_final
    final, count = league.final_count, len(played)
    last_tip = league.last_tip
    waiting = f"{final} of {count} games final"
    if last_tip is not None:
        waiting += f" (last tip {clock_text(last_tip, day)})"
    if league.scoreboards == 0:
        waiting += "; no scoreboard of the day has landed"
    return Window(
        workflow,
        day.isoformat(),
        day,
        None,
        moment,
        moment + stale,
        f"the games of {day}",
        waiting=f"{waiting}; due {describe_duration(trigger.after_last_final)} after the last is final",
    )
