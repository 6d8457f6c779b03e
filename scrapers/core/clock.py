"""A clock that tests can freeze. Dates the user means are Eastern dates: the league's calendar."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class FrozenClock:
    """Fixed wall time; monotonic time still advances so durations stay real."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


def eastern_today(clock: Clock) -> date:
    return clock.now().astimezone(EASTERN).date()


def utc_stamp(moment: datetime) -> str:
    """The old platform's filename timestamp: UTC `YYYYMMDD_HHMMSS`."""
    return moment.astimezone(UTC).strftime("%Y%m%d_%H%M%S")


def utc_iso(moment: datetime) -> str:
    """The old platform's document timestamp: ISO 8601 in UTC with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
