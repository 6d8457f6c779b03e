"""bdl_game_adv_stats: BallDontLie advanced per-player game stats (`/stats/advanced`).

One row per player and game (pace, ratings, usage, true shooting...), between two Eastern dates and
optionally only for some games or players, walked with the cursor. The old platform asked one date
at a time and dropped the date from its cursor pages; here one date-range query keeps its filters
on every page (see common.py).

A run that covers exactly one game carries that game's `game_key` and `game_id` in the completion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.nba.keys import game_key
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.boxscores import check_game_dates
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


class GameAdvStatsOptions(StatFilterOptions):
    """The stat-line filters (the advanced stats take the same as /stats)."""


class BdlGameAdvStats(BdlScraper[GameAdvStatsOptions]):
    options_type = GameAdvStatsOptions
    validator = validators.game_adv_stats
    date_option = "start_date"
    endpoint = Endpoint("/stats/advanced", per_page=True, meta_required=True)
    row_name = "advanced stat line"
    row_fields = ("game", "team")
    unique_field = "id"

    def check_options(self, opts: GameAdvStatsOptions) -> None:
        check_stat_filters(opts)

    def query(self, opts: GameAdvStatsOptions) -> Query:
        return stat_filters(opts)

    def parse(self, opts: GameAdvStatsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        stats = self.rows(pages)
        check_game_dates((_object(row, "game").get("date") for row in stats), opts.start_date, opts.end_date)
        label = _ident(opts)
        document = {
            "ident": label,
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(stats),
            "advancedStats": stats,
        }
        span = f"from {opts.start_date.isoformat()} to {opts.end_date.isoformat()}"
        filtered = " for the given game/player ids" if opts.game_ids or opts.player_ids else ""
        reason = f"BallDontLie has no advanced stats {span}{filtered}"
        return counted(document, len(stats), reason, one_game(stats))


def _ident(opts: GameAdvStatsOptions) -> str:
    """The old platform's `ident`: how many players and games were asked for, else the span."""
    parts = [f"p{len(opts.player_ids)}"] if opts.player_ids else []
    parts += [f"g{len(opts.game_ids)}"] if opts.game_ids else []
    return "_".join(parts) or f"{opts.start_date.isoformat()}_{opts.end_date.isoformat()}"


def one_game(stats: list[Row]) -> Mapping[str, Any]:
    """`game_key` and `game_id` when every row is of one game, else nothing.

    A row's `game` names its teams only by id; their codes come from the rows' own `team`. Rows of
    one side only (a player filter) leave the other code unknown: then only the game id is given.
    """
    games = {_object(row, "game").get("id") for row in stats}
    if len(games) != 1:
        return {}
    game = _object(stats[0], "game")
    codes = {_object(row, "team").get("id"): _object(row, "team").get("abbreviation") for row in stats}
    away, home = codes.get(game.get("visitor_team_id")), codes.get(game.get("home_team_id"))
    if not (isinstance(away, str) and isinstance(home, str)):
        return {"game_id": game.get("id")}
    return {"game_key": game_key(str(game.get("date")), away, home), "game_id": game.get("id")}


def _object(row: Row, key: str) -> Row:
    value = row[key]
    if not isinstance(value, dict):
        raise ParseError(f"BallDontLie advanced stat line {row.get('id')!r}: '{key}' is not an object")
    return value
