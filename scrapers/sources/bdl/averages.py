"""bdl_player_averages: BallDontLie season averages of players (`/season_averages/{category}`).

The category (general, clutch, defense, shooting) is part of the path; `season_type` and `type`
choose the split. The API takes at most 100 `player_ids[]` a request, so a longer list is one first
request per chunk of 100, each walked with its own cursor (see `continued` in common.py); without
ids the whole league is walked. Landed under the season's start year, as the old platform did
(`ball-dont-lie/player-averages/2024/...`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.core.season import Season
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import (
    ID,
    ID_SHAPE,
    BdlScraper,
    Endpoint,
    Query,
    Row,
    check_ids,
    counted,
    id_filters,
)

# The API's limit of player ids per request.
CHUNK_SIZE = 100
# The old platform's `ident` names at most this many of the requested players.
IDENT_SAMPLE = 3


class PlayerAveragesOptions(ScraperOptions):
    season: Season = option(
        "season", example="2023-24", default="CURRENT", help="NBA season (start year or YYYY-YY)"
    )
    category: str = option(
        "choice",
        example="general",
        default="general",
        choices=(
            "general",
            "clutch",
            "defense",
            "shooting",
        ),
        help="the API's category (path segment)",
    )
    season_type: str = option(
        "choice",
        example="regular",
        default="regular",
        choices=(
            "regular",
            "playoffs",
            "ist",
            "playin",
        ),
        aliases=("seasonType",),
    )
    type: str = option(
        "choice",
        example="base",
        default="base",
        choices=(
            "base",
            "advanced",
            "misc",
            "scoring",
            "usage",
            "2_pointers",
            "3_pointers",
            "greater_than_15ft",
            "less_than_10ft",
            "less_than_6ft",
            "overall",
            "by_zone",
            "5ft_range",
        ),
        help=(
            "the split within the category (general/clutch take base..usage, defense the shot ranges, "
            "shooting by_zone/5ft_range)"
        ),
    )
    player_ids: tuple[str, ...] | None = option(
        "list",
        example="237,115,140",
        aliases=("playerIds",),
        help="only these BallDontLie player ids (any number: 100 a request); default: the whole league",
        pattern=ID,
        shape=ID_SHAPE,
    )


class BdlPlayerAverages(BdlScraper[PlayerAveragesOptions]):
    options_type = PlayerAveragesOptions
    validator = validators.player_averages
    # The path's season folder is the start year (`2024`), not the option's text (`2024-25`).
    path_fields = frozenset({"season_year"})
    # The category is appended per job: `/season_averages/general`.
    endpoint = Endpoint("/season_averages", per_page=True, meta_required=True)
    row_name = "season average"
    row_fields = ("player",)

    def check_options(self, opts: PlayerAveragesOptions) -> None:
        check_ids("player_ids", opts.player_ids, "237,115,140")

    def query(self, opts: PlayerAveragesOptions) -> Query:
        return (
            ("season", str(opts.season.start_year)),
            ("season_type", opts.season_type),
            ("type", opts.type),
        )

    def requests(self, opts: PlayerAveragesOptions) -> Sequence[Request]:
        endpoint = replace(self.endpoint, path=f"{self.endpoint.path}/{opts.category}")
        ids = requested(opts)
        chunks = [ids[start : start + CHUNK_SIZE] for start in range(0, len(ids), CHUNK_SIZE)] or [()]
        return tuple(endpoint.request(self.query(opts) + id_filters("player_ids", chunk)) for chunk in chunks)

    def parse(self, opts: PlayerAveragesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        averages = self.rows(pages)
        ids = requested(opts)
        _check_players(averages, ids)
        sample = ",".join(ids[:IDENT_SAMPLE]) or "league"
        more = "etc" if len(ids) > IDENT_SAMPLE else ""
        split = f"{opts.category}_{opts.season_type}_{opts.type}"
        document = {
            "ident": f"{opts.season.start_year}_{split}_{len(ids)}p_{sample}{more}",
            "timestamp": utc_iso(ctx.fetched_at),
            "season": opts.season.start_year,
            "category": opts.category,
            "seasonType": opts.season_type,
            "statType": opts.type,
            "playerCountRequested": len(ids),
            "rowCount": len(averages),
            "playerAverages": averages,
        }
        asked = " for the given player ids" if ids else ""
        reason = f"BallDontLie has no {split} averages for {opts.season.nba_format}{asked}"
        parsed = counted(document, len(averages), reason)
        return replace(parsed, path_values={"season_year": str(opts.season.start_year)})


def requested(opts: PlayerAveragesOptions) -> tuple[str, ...]:
    """The player ids asked for, each once, in the order given (`0237` is player 237)."""
    return tuple(dict.fromkeys(value.lstrip("0") or "0" for value in opts.player_ids or ()))


def _check_players(averages: list[Row], ids: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for row in averages:
        player = row["player"]
        if not isinstance(player, dict) or "id" not in player:
            raise ParseError("BallDontLie season average: 'player' is not an object with 'id'")
        key = str(player["id"])
        # Another player's averages must never land as a requested one's; a repeat is a broken cursor.
        if ids and key not in ids:
            raise ParseError(f"BallDontLie answered averages of player {key}, who was not asked for")
        if key in seen:
            raise ParseError(f"BallDontLie season averages of player {key} appear twice")
        seen.add(key)
