"""nbac_player_list: every player of one season from stats.nba.com `playerindex`.

What lands is the decoded body itself (`resource`, `parameters`, `resultSets`), as the old
platform landed it: downstream reads the PlayerIndex table. The parse only proves the body is that
table for the season asked, and counts its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.sources.nbac import headers, validators

URL = "https://stats.nba.com/stats/playerindex"
TABLE = "PlayerIndex"
# Who a player is and where he plays; without these the list is useless downstream.
REQUIRED_COLUMNS = ("PERSON_ID", "PLAYER_LAST_NAME", "PLAYER_FIRST_NAME", "TEAM_ID", "TEAM_ABBREVIATION")


class PlayerListOptions(ScraperOptions):
    season: Season = option(
        "season", example="2023-24", default="CURRENT", help="NBA season (start year or YYYY-YY)"
    )


class NbacPlayerList(Scraper[PlayerListOptions]):
    options_type = PlayerListOptions
    validator = validators.player_list

    def requests(self, opts: PlayerListOptions) -> Sequence[Request]:
        # The parameter set of www.nba.com/players: empty filters, current players (Historical=0).
        params = (
            ("College", ""),
            ("Country", ""),
            ("DraftPick", ""),
            ("DraftRound", ""),
            ("DraftYear", ""),
            ("Height", ""),
            ("Historical", "0"),
            ("LeagueID", "00"),
            ("Season", opts.season.nba_format),
            ("SeasonType", "Regular Season"),
            ("TeamID", "0"),
            ("Weight", ""),
        )
        return (Request(URL, params=params, headers=headers.STATS, expect=BodyKind.JSON),)

    def parse(self, opts: PlayerListOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        (page,) = pages
        body = _body(page)
        _check_answered_season(body, opts.season)
        rows = _player_rows(body)
        if not rows:
            reason = f"playerindex lists no players for the {opts.season.nba_format} season"
            return Parsed(body, record_count=0, no_data_reason=reason)
        return Parsed(body, record_count=len(rows))


def _body(page: Page) -> Mapping[str, Any]:
    # A 204 arrives with no data: playerindex always answers a table, so that is no evidence either.
    if not isinstance(page.data, dict) or not isinstance(page.data.get("resultSets"), list):
        raise ParseError(f"playerindex answered HTTP {page.status} without an object holding 'resultSets'")
    body: Mapping[str, Any] = page.data
    return body


def _check_answered_season(body: Mapping[str, Any], season: Season) -> None:
    """The endpoint echoes its Season; another season's players must never land as ours."""
    parameters = body.get("parameters")
    answered = parameters.get("Season") if isinstance(parameters, dict) else None
    if answered is not None and answered != season.nba_format:
        raise ParseError(f"playerindex answered Season {answered!r}, not the requested {season.nba_format}")


def _player_rows(body: Mapping[str, Any]) -> list[Any]:
    table = next((rs for rs in body["resultSets"] if isinstance(rs, dict) and rs.get("name") == TABLE), None)
    if table is None:
        raise ParseError(f"playerindex has no '{TABLE}' result set")
    columns, rows = table.get("headers"), table.get("rowSet")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise ParseError(f"playerindex '{TABLE}' lacks a 'headers' list or a 'rowSet' list")
    if not all(isinstance(name, str) for name in columns):
        raise ParseError(f"playerindex '{TABLE}' has a column whose name is not text")
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ParseError(f"playerindex '{TABLE}' lacks the columns {', '.join(missing)}")
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ParseError(f"playerindex '{TABLE}' row {index} does not have its {len(columns)} columns")
    return rows
