"""BallDontLie box scores: final games of a date, games in progress, and per-player stat lines.

* `bdl_box_scores`: `/box_scores?date=` — one row per game, each team with its players' lines.
* `bdl_live_box_scores`: `/box_scores/live` — the same rows for games in progress right now.
* `bdl_player_box_scores`: `/stats` between two dates — one row per player and game, paginated.

Rows are landed as the API sends them, under the old platform's document keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.nba.keys import game_key
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import (
    BdlScraper,
    Endpoint,
    Query,
    Row,
    StatFilterOptions,
    check_stat_filters,
    counted,
    stat_filters,
)
from scrapers.sources.bdl.lines import box_score_lines, player_box_score_lines

# The old platform's pollId: the UTC moment of the poll, compact.
POLL_ID_FORMAT = "%Y%m%dT%H%M%SZ"


class BoxScoresOptions(ScraperOptions):
    game_date: date = option(
        "date", example="2024-01-15", default="YESTERDAY", aliases=("date",), help="Eastern game date"
    )


class BdlBoxScores(BdlScraper[BoxScoresOptions]):
    options_type = BoxScoresOptions
    validator = validators.box_scores
    lines = box_score_lines
    date_option = "game_date"
    endpoint = Endpoint("/box_scores")
    row_name = "box score"
    row_fields = ("date", "home_team", "visitor_team")

    def query(self, opts: BoxScoresOptions) -> Query:
        return (("date", opts.game_date.isoformat()),)

    def parse(self, opts: BoxScoresOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        games = self.rows(pages)
        check_game_dates((game["date"] for game in games), opts.game_date, opts.game_date)
        document = {
            "date": opts.game_date.isoformat(),
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(games),
            "boxScores": games,
        }
        return counted(
            document, len(games), f"BallDontLie has no box scores for {opts.game_date.isoformat()}"
        )


class LiveBoxScoresOptions(ScraperOptions):
    """The live endpoint takes no parameters: it always answers the games in progress."""


class BdlLiveBoxScores(BdlScraper[LiveBoxScoresOptions]):
    options_type = LiveBoxScoresOptions
    validator = validators.live_box_scores
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


class PlayerBoxScoresOptions(StatFilterOptions):
    """The stat-line filters of /stats."""


class BdlPlayerBoxScores(BdlScraper[PlayerBoxScoresOptions]):
    options_type = PlayerBoxScoresOptions
    validator = validators.player_box_scores
    lines = player_box_score_lines
    date_option = "start_date"
    endpoint = Endpoint("/stats", per_page=True, meta_required=True)
    row_name = "player box score"
    row_fields = ("game",)
    unique_field = "id"

    def check_options(self, opts: PlayerBoxScoresOptions) -> None:
        check_stat_filters(opts)

    def query(self, opts: PlayerBoxScoresOptions) -> Query:
        return stat_filters(opts)

    def parse(self, opts: PlayerBoxScoresOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        stats = self.rows(pages)
        check_game_dates((_game_date(row["game"]) for row in stats), opts.start_date, opts.end_date)
        days = (opts.end_date - opts.start_date).days + 1
        document = {
            "startDate": opts.start_date.isoformat(),
            "endDate": opts.end_date.isoformat(),
            "datesProcessed": [(opts.start_date + timedelta(days=n)).isoformat() for n in range(days)],
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(stats),
            "stats": stats,
        }
        span = f"from {opts.start_date.isoformat()} to {opts.end_date.isoformat()}"
        filtered = " for the given game/player ids" if opts.game_ids or opts.player_ids else ""
        reason = f"BallDontLie has no player box scores {span}{filtered}"
        return counted(document, len(stats), reason, one_game_facts(opts.game_ids, stats))


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
