"""BallDontLie box scores: final games of a date, games in progress, and per-player stat lines.

* `bdl_box_scores`: `/box_scores?date=` — one row per game, each team with its players' lines.
* `bdl_live_box_scores`: `/box_scores/live` — the same rows for games in progress right now.
* `bdl_player_box_scores`: `/stats` between two dates — one row per player and game, paginated.

Rows are landed as the API sends them, under the old platform's document keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.nba.keys import game_key
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, Row, check_date_range, counted

# The old platform's pollId: the UTC moment of the poll, compact.
POLL_ID_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class BoxScoresOptions:
    date: date


class BdlBoxScores(BdlScraper[BoxScoresOptions]):
    options_type = BoxScoresOptions
    date_option = "date"
    endpoint = Endpoint("/box_scores")
    row_name = "box score"
    row_fields = ("date", "home_team", "visitor_team")

    def query(self, opts: BoxScoresOptions) -> Query:
        return (("date", opts.date.isoformat()),)

    def parse(self, opts: BoxScoresOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        games = self.rows(pages)
        check_game_dates((game["date"] for game in games), opts.date, opts.date)
        document = {
            "date": opts.date.isoformat(),
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(games),
            "boxScores": games,
        }
        return counted(document, len(games), f"BallDontLie has no box scores for {opts.date.isoformat()}")


@dataclass(frozen=True)
class LiveBoxScoresOptions:
    """The live endpoint takes no parameters: it always answers the games in progress."""


class BdlLiveBoxScores(BdlScraper[LiveBoxScoresOptions]):
    options_type = LiveBoxScoresOptions
    endpoint = Endpoint("/box_scores/live")
    row_name = "live box score"
    row_fields = ("home_team", "visitor_team")

    def parse(self, opts: LiveBoxScoresOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        games = self.rows(pages)
        poll_id = ctx.fetched_at.strftime(POLL_ID_FORMAT)
        document = {
            "timestamp": utc_iso(ctx.fetched_at),
            "pollId": poll_id,
            "gameCount": len(games),
            "liveBoxes": games,
        }
        return counted(document, len(games), f"BallDontLie has no game in progress at {poll_id}")


@dataclass(frozen=True)
class PlayerBoxScoresOptions:
    startDate: date
    endDate: date
    gameIds: tuple[str, ...] | None
    playerIds: tuple[str, ...] | None


class BdlPlayerBoxScores(BdlScraper[PlayerBoxScoresOptions]):
    options_type = PlayerBoxScoresOptions
    date_option = "startDate"
    endpoint = Endpoint("/stats", per_page=True, meta_required=True)
    row_name = "player box score"
    row_fields = ("game",)
    unique_field = "id"

    def check_options(self, opts: PlayerBoxScoresOptions) -> None:
        check_date_range(opts.startDate, opts.endDate)
        for option, ids in (("gameIds", opts.gameIds), ("playerIds", opts.playerIds)):
            if ids and not all(value.isdigit() for value in ids):
                raise OptionError(option, f"{','.join(ids)} are not all BallDontLie ids", "1037593,1037594")

    def query(self, opts: PlayerBoxScoresOptions) -> Query:
        # One date-range query instead of the old platform's one walk per date: fewer requests.
        span = (("start_date", opts.startDate.isoformat()), ("end_date", opts.endDate.isoformat()))
        games = tuple(("game_ids[]", value) for value in opts.gameIds or ())
        players = tuple(("player_ids[]", value) for value in opts.playerIds or ())
        return span + games + players

    def parse(self, opts: PlayerBoxScoresOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        stats = self.rows(pages)
        check_game_dates((_game_date(row["game"]) for row in stats), opts.startDate, opts.endDate)
        days = (opts.endDate - opts.startDate).days + 1
        document = {
            "startDate": opts.startDate.isoformat(),
            "endDate": opts.endDate.isoformat(),
            "datesProcessed": [(opts.startDate + timedelta(days=n)).isoformat() for n in range(days)],
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(stats),
            "stats": stats,
        }
        span = f"from {opts.startDate.isoformat()} to {opts.endDate.isoformat()}"
        filtered = " for the given game/player ids" if opts.gameIds or opts.playerIds else ""
        reason = f"BallDontLie has no player box scores {span}{filtered}"
        return counted(document, len(stats), reason, one_game_facts(opts.gameIds, stats))


def one_game_facts(game_ids: tuple[str, ...] | None, stats: list[Row]) -> dict[str, Any]:
    """A run filtered to one game is a per-game run: its completion names the BallDontLie game id
    and, when the lines show both teams, the canonical `game_key` (`YYYYMMDD_AWY_HOM`)."""
    ids = set(game_ids or ())
    if len(ids) != 1:
        return {}
    game_id = int(ids.pop())
    facts: dict[str, Any] = {"game_id": game_id}
    # parse has checked that every line's `game` is an object.
    game = next((row["game"] for row in stats if row["game"].get("id") == game_id), None)
    if game is None:
        return facts
    # Each line names its player's team; the game says which team id is home and which visitor.
    teams = {
        row["team"].get("id"): row["team"].get("abbreviation")
        for row in stats
        if isinstance(row.get("team"), dict)
    }
    home, away = teams.get(game.get("home_team_id")), teams.get(game.get("visitor_team_id"))
    if isinstance(home, str) and isinstance(away, str):
        # BallDontLie's `date` is the game's Eastern date (`datetime` is the UTC tip-off).
        facts["game_key"] = game_key(str(game.get("date")), away, home)
    return facts


def _game_date(game: object) -> object:
    if not isinstance(game, dict):
        raise ParseError("BallDontLie player box score: 'game' is not an object")
    return game.get("date")


def check_game_dates(values: Iterable[object], start: date, end: date) -> None:
    """Every row names its game's date; another day's games must never land under ours."""
    for value in values:
        # Older answers carry a midnight timestamp (`2019-01-30T00:00:00.000Z`); the date leads.
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            raise ParseError(f"BallDontLie game date {value!r} is not YYYY-MM-DD") from None
        if not start <= day <= end:
            raise ParseError(f"BallDontLie answered a game on {day}, outside {start} to {end}")
