"""nbac_team_boxscore: both teams' totals of one game from stats.nba.com boxscoretraditionalv3.

V2 (`resultSets`) was deprecated for 2025-26; a V2-shaped answer is a structural failure here, never
an empty box score. The landed shape is the old platform's: one entry per team (home first) with
nested shooting and rebound totals, and `injuredPlayers` from the player comments (DNP, injury).

The object path keeps the old platform's compact date, `nba-com/team-boxscore/20240115/<game_id>/`:
it normalised `game_date` to YYYYMMDD before filling the path, and downstream backfills list
exactly that prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.sources.nbac import box_validators, headers
from scrapers.sources.nbac.game_keys import game_metadata
from scrapers.sources.nbac.result_sets import (
    GAME_ID_PATTERN,
    GAME_ID_SHAPE,
    check_game_id,
    json_list,
    json_object,
    no_content_reason,
    single_page,
)

URL = "https://stats.nba.com/stats/boxscoretraditionalv3"
ENDPOINT = "boxscoretraditionalv3"
SOURCE = "nba_team_boxscore_v3"
PATH_FIELD = "game_date_yyyymmdd"
SIDES = (("homeTeam", True), ("awayTeam", False))

# Landed key -> V3 `statistics` key, for the flat totals.
_FLAT_STATS = (
    ("assists", "assists"),
    ("steals", "steals"),
    ("blocks", "blocks"),
    ("turnovers", "turnovers"),
    ("personalFouls", "foulsPersonal"),
    ("points", "points"),
    ("plusMinus", "plusMinusPoints"),
)
# Landed group -> (made, attempted, percentage) V3 keys.
_SHOOTING = (
    ("fieldGoals", "fieldGoals"),
    ("threePointers", "threePointers"),
    ("freeThrows", "freeThrows"),
)


class TeamBoxscoreOptions(ScraperOptions):
    game_id: str = option(
        "str",
        example="0022300601",
        required=True,
        help="NBA.com game id",
        pattern=GAME_ID_PATTERN,
        shape=GAME_ID_SHAPE,
    )
    game_date: date = option("date", example="2024-01-15", required=True, help="Eastern game date")


class NbacTeamBoxscore(Scraper[TeamBoxscoreOptions]):
    options_type = TeamBoxscoreOptions
    validator = box_validators.team_boxscore
    date_option = "game_date"
    path_fields: ClassVar[frozenset[str]] = frozenset({PATH_FIELD})

    def check_options(self, opts: TeamBoxscoreOptions) -> None:
        check_game_id("game_id", opts.game_id)

    def requests(self, opts: TeamBoxscoreOptions) -> Sequence[Request]:
        params = (
            ("GameID", opts.game_id),
            ("StartPeriod", "0"),
            ("EndPeriod", "10"),
            ("StartRange", "0"),
            ("EndRange", "28800"),
            ("RangeType", "0"),
        )
        return (Request(URL, params=params, headers=headers.STATS, expect=BodyKind.JSON),)

    def parse(self, opts: TeamBoxscoreOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = single_page(pages, ENDPOINT)
        path_values = {PATH_FIELD: opts.game_date.strftime("%Y%m%d")}
        reason = no_content_reason(page, f"game {opts.game_id}")
        if reason:
            document = _document(opts, ctx, [], [])
            return Parsed(
                document,
                record_count=0,
                no_data_reason=reason,
                path_values=path_values,
                metadata=game_metadata(opts.game_date, None, None, game_id=opts.game_id),
            )
        box = _box_score(page.data, opts.game_id)
        teams = [_team(box, side, is_home, opts.game_id) for side, is_home in SIDES]
        injured = [entry for side, _ in SIDES for entry in _injured(box[side])]
        document = _document(opts, ctx, teams, injured)
        away, home = box["awayTeam"].get("teamTricode"), box["homeTeam"].get("teamTricode")
        return Parsed(
            document,
            record_count=len(teams),
            path_values=path_values,
            metadata=game_metadata(opts.game_date, away, home, game_id=opts.game_id),
        )


def _document(
    opts: TeamBoxscoreOptions, ctx: ParseContext, teams: list[dict[str, Any]], injured: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "timestamp": utc_iso(ctx.fetched_at),
        "gameId": opts.game_id,
        "gameDate": opts.game_date.isoformat(),
        "teamCount": len(teams),
        "teams": teams,
        "injuredPlayers": injured,
        "source": SOURCE,
    }


def _box_score(data: Any, game_id: str) -> dict[str, Any]:
    body = json_object(data, f"{ENDPOINT} body")
    if "resultSets" in body and "boxScoreTraditional" not in body:
        raise ParseError(f"{ENDPOINT} answered the deprecated V2 'resultSets' shape")
    box = json_object(body.get("boxScoreTraditional"), "boxScoreTraditional")
    answered = box.get("gameId")
    if answered is not None and answered != game_id:
        raise ParseError(f"{ENDPOINT} answered game {answered!r}, not the requested {game_id}")
    for side, _ in SIDES:
        team = json_object(box.get(side), f"boxScoreTraditional.{side}")
        json_object(team.get("statistics"), f"{side}.statistics")
        json_list(team.get("players", []), f"{side}.players")
    return box


def _team(box: Mapping[str, Any], side: str, is_home: bool, game_id: str) -> dict[str, Any]:
    team, stats = box[side], box[side]["statistics"]
    return {
        "gameId": box.get("gameId") or game_id,
        "teamId": team.get("teamId"),
        "teamName": team.get("teamName"),
        "teamAbbreviation": team.get("teamTricode"),
        "teamCity": team.get("teamCity"),
        "minutes": stats.get("minutes"),
        **{group: _shooting(stats, prefix) for group, prefix in _SHOOTING},
        "rebounds": {
            "offensive": stats.get("reboundsOffensive"),
            "defensive": stats.get("reboundsDefensive"),
            "total": stats.get("reboundsTotal"),
        },
        **{key: stats.get(column) for key, column in _FLAT_STATS},
        "isHome": is_home,
    }


def _shooting(stats: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {
        "made": stats.get(f"{prefix}Made"),
        "attempted": stats.get(f"{prefix}Attempted"),
        "percentage": stats.get(f"{prefix}Percentage"),
    }


def _injured(team: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Players with a comment (`DNP - Coach's Decision`, `DND - Injury/Illness`, ...)."""
    entries = []
    for index, player in enumerate(team.get("players", [])):
        record = json_object(player, f"{team.get('teamTricode')} player {index}")
        comment = record.get("comment")
        if comment:
            name = f"{record.get('firstName') or ''} {record.get('familyName') or ''}".strip()
            entries.append(
                {
                    "playerId": record.get("personId"),
                    "playerName": name,
                    "teamId": team.get("teamId"),
                    "teamAbbreviation": team.get("teamTricode"),
                    "comment": comment,
                }
            )
    return entries
