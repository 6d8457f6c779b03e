"""espn_roster: one team's roster from the ESPN site API (`teams/<id>?enable=roster`).

Lands the old platform's current layout (OLD-PLATFORM 2.4): `team_abbr` (NBA tricode),
`espn_team_abbr`, `espn_team_id`, `teamName`, `timestamp`, `playerCount`, `players[playerId,
fullName, jersey, position, heightIn, weightLb, injuries]`, height in whole inches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.nba.espn_teams import TEAMS, EspnTeam, code_hint, team_by_code
from scrapers.sources.espn import headers, validators

URL = "https://site.api.espn.com/apis/site/v2/sports/basketball/nba/teams/{team_id}"
INCHES_PER_FOOT = 12


class EspnRosterOptions(ScraperOptions):
    team_abbr: str = option(
        "str",
        example="GS",
        required=True,
        help="ESPN team code (ATL ... WSH; GS, NO, NY, SA, UTAH, WSH differ from NBA tricodes)",
        # Letters of any case pass, so `gs` gets check_options' "did you mean GS?".
        pattern=r"[A-Za-z]{2,4}",
        shape="an ESPN team code (letters, like GS)",
    )


class EspnRoster(Scraper[EspnRosterOptions]):
    options_type = EspnRosterOptions
    validator = validators.roster

    def check_options(self, opts: EspnRosterOptions) -> None:
        _team(opts)

    def requests(self, opts: EspnRosterOptions) -> Sequence[Request]:
        url = URL.format(team_id=_team(opts).team_id)
        return (Request(url, params=(("enable", "roster"),), headers=headers.SITE_API, expect=BodyKind.JSON),)

    def parse(self, opts: EspnRosterOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        (page,) = pages
        team = _team(opts)
        team_obj = _team_object(page, team)
        athletes = team_obj.get("athletes")
        # Only an explicit list is a roster; a missing one means the roster was not enabled/answered.
        if not isinstance(athletes, list):
            raise ParseError(f"ESPN team {team.code} answered without a 'team.athletes' list")
        players = [_player(athlete, index) for index, athlete in enumerate(athletes)]
        document = _document(team, team_obj, players, ctx)
        if not players:
            reason = f"the ESPN site API lists no players on the {team.code} roster"
            return Parsed(document, record_count=0, no_data_reason=reason)
        return Parsed(document, record_count=len(players))


def _team(opts: EspnRosterOptions) -> EspnTeam:
    team = team_by_code(opts.team_abbr)
    if team is None:
        known = ", ".join(sorted(t.code for t in TEAMS))
        problem = (
            f"'{opts.team_abbr}' is not an ESPN team code{code_hint(opts.team_abbr)}; use one of {known}"
        )
        raise OptionError("team_abbr", problem, "GS")
    return team


def _team_object(page: Page, team: EspnTeam) -> Mapping[str, Any]:
    # A 204 carries no roster: for a team endpoint that is no evidence of an empty roster.
    data = page.data
    team_obj = data.get("team") if isinstance(data, dict) else None
    if not isinstance(team_obj, dict):
        raise ParseError(f"ESPN team {team.code} answered HTTP {page.status} without a 'team' object")
    # Another team's roster must never land under ours (a remapped id would do exactly that).
    if str(team_obj.get("id")) != str(team.team_id):
        raise ParseError(f"ESPN answered team id {team_obj.get('id')!r}, not {team.code} {team.team_id}")
    return team_obj


def _document(
    team: EspnTeam, team_obj: Mapping[str, Any], players: list[dict[str, Any]], ctx: ParseContext
) -> dict[str, Any]:
    return {
        "team_abbr": team.tricode,
        "espn_team_abbr": team.code,
        "espn_team_id": team.team_id,
        "teamName": team_obj.get("displayName"),
        "timestamp": utc_iso(ctx.fetched_at),
        "playerCount": len(players),
        "players": players,
    }


def _player(athlete: object, index: int) -> dict[str, Any]:
    if not isinstance(athlete, dict):
        raise ParseError(f"ESPN roster athlete {index} is not an object")
    position = athlete.get("position")
    injuries = athlete.get("injuries", [])
    if not isinstance(injuries, list):
        raise ParseError(f"ESPN roster athlete {index} has injuries that are not a list")
    return {
        "playerId": _required_text(athlete, "id", index),
        "fullName": _required_text(athlete, "fullName", index),
        "jersey": athlete.get("jersey"),
        "position": position.get("displayName") if isinstance(position, dict) else None,
        "heightIn": height_inches(athlete.get("height")),
        "weightLb": _number(athlete.get("weight")),  # pounds as a float, as ESPN and the old platform
        "injuries": injuries,
    }


def _required_text(athlete: Mapping[str, Any], key: str, index: int) -> str:
    value = athlete.get(key)
    # ESPN ids are strings; a number is written as the string ESPN uses everywhere else.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"ESPN roster athlete {index} has no {key}")
    return value


def height_inches(raw: object) -> int | None:
    """Whole inches from ESPN's height: inches as a number (78.0) or numeral, or {feet, inches}.

    Anything else (text like 6' 6") lands as null, as the old platform did: height is descriptive
    and a missing one must not cost the whole roster.
    """
    if isinstance(raw, dict):
        feet, inches = _number(raw.get("feet")), _number(raw.get("inches", 0))
        return None if feet is None or inches is None else round(feet * INCHES_PER_FOOT + inches)
    value = _number(raw)
    return None if value is None else round(value)


def _number(raw: object) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        try:
            return _number(float(raw))
        except ValueError:
            return None
    return None
