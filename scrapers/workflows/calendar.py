"""The league calendar, from documents the fleet lands itself: game days, tip times, final states.

Never a hard-coded calendar. For an Eastern date:

* the games and their tip times come from the newest landed season schedule
  (`nbac_schedule_cdn` or `nbac_schedule_api`, whichever landed last, of the date's season);
* a game is final once a landed document says so: a scoreboard of that date (`nbac_scoreboard_v2`,
  polled while games are on) or the schedule itself. The moment it became final is the landing time
  (the UTC timestamp in the document's name) of the first such document, found by bisecting the
  date's scoreboards in landing order (a game, once final, stays final).

Only the league's own games count: regular season, NBA Cup, play-in and playoffs (the NBA.com game
id's season-type digit 2, 6, 5, 4). Preseason, the All-Star game and exhibitions are not game days,
so the All-Star break and the off-season are days without games, and say so. A date whose season has
no landed schedule is unknown: the game-day workflows decide nothing for it and name the missing
document and the command that lands it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from scrapers.core.clock import EASTERN
from scrapers.core.fanout import GameRef
from scrapers.core.registry import Registry, placeholders
from scrapers.core.season import Season
from scrapers.crosscheck.landed import LandedReader, dated_prefix

SCHEDULES = ("nbac_schedule_cdn", "nbac_schedule_api")
SCOREBOARD = "nbac_scoreboard_v2"
# Season-type digit of an NBA.com game id (`0022300601`: 2): 1 preseason, 2 regular season,
# 3 All-Star, 4 playoffs, 5 play-in, 6 NBA Cup final.
LEAGUE_GAME_TYPES = frozenset("2456")
FINAL_STATUS = 3
# How long a game may last from its tip (overtimes included) when nothing says it ended.
ASSUMED_GAME_LENGTH = timedelta(hours=4)
_STAMP_LENGTH = len("YYYYMMDD_HHMMSS")


def landed_at(path: str) -> datetime | None:
    """The landing moment in a document's name (`20240116_030000[-runid].json`, UTC)."""
    stem = PurePosixPath(path).name[:_STAMP_LENGTH]
    try:
        return datetime.strptime(stem, "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def league_game(game_id: str) -> bool:
    return len(game_id) == 10 and game_id.isdigit() and game_id[2] in LEAGUE_GAME_TYPES


@dataclass(frozen=True)
class Game:
    game_id: str
    game_code: str | None
    away: str | None
    home: str | None
    tip: datetime | None  # UTC, from the schedule
    postponed: bool = False
    final_at: datetime | None = None  # when a landed document first said it was final (UTC)

    @property
    def final(self) -> bool:
        return self.final_at is not None

    def ref(self, day: date) -> GameRef:
        return GameRef(
            game_id=self.game_id,
            game_date=day.isoformat(),
            game_code=self.game_code,
            away_team=self.away,
            home_team=self.home,
        )


@dataclass(frozen=True)
class LeagueDay:
    """One Eastern date as the landed documents tell it."""

    day: date
    known: bool  # a schedule of the date's season has landed
    games: tuple[Game, ...] = ()
    schedule: str | None = None  # the schedule document read
    scoreboards: int = 0  # landed scoreboard documents of the date
    unknown_reason: str = ""

    @property
    def played(self) -> tuple[Game, ...]:
        """The games that are played (postponed ones are not)."""
        return tuple(game for game in self.games if not game.postponed)

    @property
    def game_day(self) -> bool:
        return bool(self.played)

    @property
    def first_tip(self) -> datetime | None:
        return min((g.tip for g in self.played if g.tip is not None), default=None)

    @property
    def last_tip(self) -> datetime | None:
        return max((g.tip for g in self.played if g.tip is not None), default=None)

    @property
    def final_count(self) -> int:
        return sum(game.final for game in self.played)

    @property
    def all_final(self) -> bool:
        return self.game_day and self.final_count == len(self.played)

    @property
    def last_final_at(self) -> datetime | None:
        """When the last of its games was first seen final (None until they all are)."""
        if not self.all_final:
            return None
        return max(game.final_at for game in self.played if game.final_at is not None)

    @property
    def expected_end(self) -> datetime | None:
        """The latest its games can be expected to end (the last tip and a long game)."""
        last = self.last_tip
        return None if last is None else last + ASSUMED_GAME_LENGTH

    def refs(self) -> tuple[GameRef, ...]:
        """The played games as the per-game fan-outs take them (game id, date, code, tricodes)."""
        return tuple(game.ref(self.day) for game in self.played)

    def summary(self) -> str:
        """`4 games` / `no game` / `unknown (...)`, for reasons."""
        if not self.known:
            return f"unknown (no schedule of {Season.of(self.day)} has landed)"
        count = len(self.played)
        if count == 0:
            return "no game"
        return f"{count} game{'s' if count != 1 else ''}"


@dataclass
class _Observed:
    """A landed document's view of its games: id -> (final?, the game as it lists it)."""

    path: str
    at: datetime | None
    games: dict[str, Mapping[str, Any]] = field(default_factory=dict)


class LeagueCalendar:
    """Reads (and caches, for one tick) what the landed documents say about each date.

    `as_of`: only documents landed by then count, so a plan for a past moment sees what a tick at
    that moment saw (a schedule landed later, with later final states, does not leak back).
    """

    def __init__(self, reader: LandedReader, registry: Registry, as_of: datetime | None = None) -> None:
        self.reader = reader
        self.registry = registry
        self.as_of = as_of
        self._days: dict[date, LeagueDay] = {}
        self._schedules: dict[Season, tuple[str, list[Mapping[str, Any]]] | None] = {}
        self._documents: dict[str, _Observed | None] = {}

    @property
    def where(self) -> str:
        return self.reader.where

    async def day(self, day: date) -> LeagueDay:
        if day not in self._days:
            self._days[day] = await self._read_day(day)
        return self._days[day]

    async def _read_day(self, day: date) -> LeagueDay:
        season = Season.of(day)
        schedule = await self._schedule(season)
        if schedule is None:
            reason = (
                f"no schedule of {season} has landed in {self.reader.where}; the morning workflow lands it, "
                f"or `scrapers run nbac_schedule_api --season {season} --out {self.reader.where}`"
            )
            return LeagueDay(day, known=False, unknown_reason=reason)
        schedule_path, games = schedule
        listed = {
            str(game.get("gameId")): game
            for game in games
            if _eastern_date(game) == day and league_game(str(game.get("gameId")))
        }
        listed_paths = await self.reader.names(
            dated_prefix(self.registry.get(SCOREBOARD).path, day.isoformat())
        )
        scoreboards = sorted(filter(self._landed, listed_paths), key=lambda path: PurePosixPath(path).name)
        newest = await self._observe(scoreboards[-1]) if scoreboards else None
        if newest is not None:
            # A game the scoreboard lists and the schedule does not (a schedule older than a change).
            for game_id, game in newest.games.items():
                listed.setdefault(game_id, game)
        schedule_at = landed_at(schedule_path)
        built = []
        for game_id, game in listed.items():
            final_at = schedule_at if _schedule_final(game) else None
            if newest is not None and _scoreboard_final(newest.games.get(game_id)):
                seen = await self._first_final(scoreboards, game_id)
                final_at = seen if final_at is None or (seen is not None and seen < final_at) else final_at
            built.append(_game(game_id, game, final_at))
        built.sort(key=lambda g: (g.tip or datetime.max.replace(tzinfo=UTC), g.game_id))
        return LeagueDay(day, True, tuple(built), schedule_path, len(scoreboards))

    async def _schedule(self, season: Season) -> tuple[str, list[Mapping[str, Any]]] | None:
        if season in self._schedules:
            return self._schedules[season]
        newest: tuple[str, str] | None = None  # (file name, path): landing names sort as text
        for name in SCHEDULES:
            template = self.registry.get(name).path
            folder = template.split("{timestamp}", 1)[0].format(
                **{key: season.nba_format for key in placeholders(template) if key != "timestamp"}
            )
            for path in await self.reader.names(folder):
                stamp = PurePosixPath(path).name
                if not self._landed(path):
                    continue
                if newest is None or stamp > newest[0]:
                    newest = (stamp, path)
        found: tuple[str, list[Mapping[str, Any]]] | None = None
        if newest is not None:
            document = _json(await self.reader.read(newest[1]))
            games = document.get("games") if isinstance(document, dict) else None
            if isinstance(games, list):
                found = (newest[1], [game for game in games if isinstance(game, Mapping)])
        self._schedules[season] = found
        return found

    def _landed(self, path: str) -> bool:
        """Landed by `as_of` (a name without a landing time counts: it cannot be placed)."""
        if self.as_of is None:
            return True
        moment = landed_at(path)
        return moment is None or moment <= self.as_of

    async def _observe(self, path: str) -> _Observed | None:
        if path not in self._documents:
            document = _json(await self.reader.read(path))
            games = document.get("games") if isinstance(document, dict) else None
            if not isinstance(games, list):
                self._documents[path] = None
            else:
                listed = {
                    str(game.get("gameId")): game
                    for game in games
                    if isinstance(game, Mapping) and league_game(str(game.get("gameId")))
                }
                self._documents[path] = _Observed(path, landed_at(path), listed)
        return self._documents[path]

    async def _first_final(self, paths: Sequence[str], game_id: str) -> datetime | None:
        """The landing time of the first scoreboard (in landing order) saying the game is final."""
        low, high = 0, len(paths) - 1
        while low < high:
            middle = (low + high) // 2
            observed = await self._observe(paths[middle])
            if observed is not None and _scoreboard_final(observed.games.get(game_id)):
                high = middle
            else:
                low = middle + 1
        observed = await self._observe(paths[low])
        return observed.at if observed is not None else None


def _json(data: bytes | None) -> Any:
    try:
        return json.loads(data or b"")
    except ValueError:
        return None


def _eastern_date(game: Mapping[str, Any]) -> date | None:
    """The schedule's `gameDateEst` (`2024-01-15T00:00:00Z`: the Eastern date, despite the Z)."""
    try:
        return date.fromisoformat(str(game.get("gameDateEst"))[:10])
    except ValueError:
        return None


def _schedule_final(game: Mapping[str, Any]) -> bool:
    return game.get("gameStatus") == FINAL_STATUS and "homeTeam" in game


def _scoreboard_final(game: Mapping[str, Any] | None) -> bool:
    if game is None:
        return False
    return game.get("state") == "post" or game.get("gameStatus") == FINAL_STATUS


def _tip(game: Mapping[str, Any]) -> datetime | None:
    text = game.get("gameDateTimeUTC")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _tricode(game: Mapping[str, Any], side: str) -> str | None:
    team = game.get(f"{side}Team")
    if isinstance(team, Mapping) and isinstance(team.get("teamTricode"), str):
        return str(team["teamTricode"])
    short = game.get(side)  # a scoreboard's flat `home` / `away`
    return short if isinstance(short, str) and short else None


def _game(game_id: str, game: Mapping[str, Any], final_at: datetime | None) -> Game:
    code = game.get("gameCode")
    postponed = str(game.get("postponedStatus") or "N").upper() not in ("N", "")
    return Game(
        game_id=game_id,
        game_code=code if isinstance(code, str) and code else None,
        away=_tricode(game, "away"),
        home=_tricode(game, "home"),
        tip=_tip(game),
        postponed=postponed,
        final_at=final_at,
    )


def eastern(moment: datetime) -> datetime:
    return moment.astimezone(EASTERN)


def clock_text(moment: datetime, day: date | None = None) -> str:
    """`23:40` (Eastern) when on `day`, else `2024-01-16 00:10`: times as reasons write them."""
    local = eastern(moment)
    if day is not None and local.date() == day:
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
