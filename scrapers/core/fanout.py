"""Typed ids a parent scraper hands to per-game and per-event scrapers, and the children it declares.

`nbac_scoreboard_v2` / `nbac_schedule_cdn` expose the games of a date (`GameRef`), `oddsa_events` /
`bp_events` the betting events (`EventRef`). A parent that has per-game or per-event children says so
with `fan_out = FanOut(...)` on its class; the service and `run-many` expand the refs into child
jobs (e.g. `nbac_gamebook_pdf --game_code 20240115/MEMCLE`); the parent never runs them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class GameRef:
    game_id: str  # NBA.com id, e.g. "0022300562"
    game_date: str  # Eastern date, YYYY-MM-DD
    game_code: str | None = None  # "20240115/MEMCLE", the gamebook's key
    away_team: str | None = None  # tricodes
    home_team: str | None = None
    kind: Literal["game"] = "game"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "game_id": self.game_id,
            "game_date": self.game_date,
            "game_code": self.game_code,
            "away_team": self.away_team,
            "home_team": self.home_team,
        }


@dataclass(frozen=True)
class EventRef:
    event_id: str
    source: Literal["oddsapi", "bettingpros"]
    commence_time: str | None = None  # ISO 8601 UTC
    away_team: str | None = None
    home_team: str | None = None
    kind: Literal["event"] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event_id": self.event_id,
            "source": self.source,
            "commence_time": self.commence_time,
            "away_team": self.away_team,
            "home_team": self.home_team,
        }


FanOutRef = GameRef | EventRef


def ref_from_dict(value: Mapping[str, Any]) -> FanOutRef:
    """The ref its `to_dict()` wrote (kept in the job ledger); ValueError for anything else."""
    kind = value.get("kind")
    if kind == "game":
        return GameRef(
            game_id=str(value["game_id"]),
            game_date=str(value["game_date"]),
            game_code=value.get("game_code"),
            away_team=value.get("away_team"),
            home_team=value.get("home_team"),
        )
    if kind == "event":
        source = value.get("source")
        if source not in ("oddsapi", "bettingpros"):
            raise ValueError(f"event ref of an unknown source {source!r}")
        return EventRef(
            event_id=str(value["event_id"]),
            source=source,
            commence_time=value.get("commence_time"),
            away_team=value.get("away_team"),
            home_team=value.get("home_team"),
        )
    raise ValueError(f"not a fan-out ref: kind {kind!r}")


@dataclass(frozen=True)
class Child:
    """One child job planned from one ref."""

    label: str  # what the child is about, for progress lines: a game code, an event id
    options: Mapping[str, Any]


# (the parent's options as texts, one ref) -> the child's label and options, or why the ref is skipped.
ChildPlan = Callable[[Mapping[str, Any], FanOutRef], Child | str]


@dataclass(frozen=True)
class FanOut:
    """A parent scraper's per-game or per-event children: `fan_out = FanOut(...)` on its class.

    `scrapers check` verifies that `child` is a registered scraper with every option in `filled`.
    """

    child: str  # the child's registry name
    filled: tuple[str, ...]  # child options every ref fills; a request cannot override them
    plan: ChildPlan
    # Run when a fan-out is asked for without naming children (`fan_out: true`, `run-many`,
    # `backfill`); False: only when named, e.g. a child that costs credits or a second feed.
    default: bool = True
