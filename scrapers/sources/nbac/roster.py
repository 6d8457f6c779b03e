"""nbac_roster: one team's roster from its www.nba.com roster page.

The page is a Next.js app: the roster travels as JSON in `<script id="__NEXT_DATA__">`, under
`props.pageProps.team.roster`, one object per player. Each player is validated strictly (the
fields the document needs, with their types) instead of trusting whatever the page holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bs4 import BeautifulSoup, Tag

from scrapers.core.clock import EASTERN, utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.nba.teams import TEAMS, Team, team_by_abbr
from scrapers.sources.nbac import headers, validators

PAGE_URL = "https://www.nba.com/team/{team_id}/{slug}/roster"
NO_NUMBER = "N/A"  # what the old platform landed for a player without a jersey number yet


class RosterOptions(ScraperOptions):
    # Letters of any case pass the pattern, so `gsw` gets check_options' "did you mean GSW?".
    team_abbr: str = option(
        "str",
        example="GSW",
        required=True,
        help="NBA tricode (ATL ... WAS)",
        pattern=r"[A-Za-z]{2,4}",
        shape="an NBA tricode (letters, like GSW)",
    )


@dataclass(frozen=True)
class RosterPlayer:
    name: str
    slug: str
    player_id: int
    number: str | None
    position: str

    @classmethod
    def from_row(cls, row: object, index: int) -> RosterPlayer:
        if not isinstance(row, dict):
            raise ParseError(f"roster player {index} is not an object")
        return cls(
            name=_text(row, "PLAYER", index),
            slug=_text(row, "PLAYER_SLUG", index),
            player_id=_player_id(row, index),
            number=_number(row, index),
            # Empty is a real value (a signing not yet slotted); a missing or non-text one is not.
            position=_text(row, "POSITION", index, allow_empty=True),
        )

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "slug": self.slug,
            "playerId": self.player_id,
            "number": self.number if self.number is not None else NO_NUMBER,
            "position": self.position,
        }


class NbacRoster(Scraper[RosterOptions]):
    options_type = RosterOptions
    validator = validators.roster

    def check_options(self, opts: RosterOptions) -> None:
        _team(opts)

    def requests(self, opts: RosterOptions) -> Sequence[Request]:
        team = _team(opts)
        url = PAGE_URL.format(team_id=team.team_id, slug=team.slug)
        return (Request(url, headers=headers.WWW_PAGE, expect=BodyKind.HTML),)

    def parse(self, opts: RosterOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        (page,) = pages
        team = _team(opts)
        team_props = _team_props(_next_data(page), team)
        rows = team_props.get("roster")
        if not isinstance(rows, list):
            raise ParseError("roster page has no 'props.pageProps.team.roster' list")
        players = [RosterPlayer.from_row(row, index) for index, row in enumerate(rows)]
        season = _season(rows) or Season.of(ctx.fetched_at.astimezone(EASTERN).date())
        document = _document(team, season, players, ctx)
        if not players:
            reason = f"the www.nba.com roster page of {team.abbr} lists no players"
            return Parsed(document, record_count=0, no_data_reason=reason)
        return Parsed(document, record_count=len(players))


def _team(opts: RosterOptions) -> Team:
    team = team_by_abbr(opts.team_abbr)
    if team is None:
        upper = team_by_abbr(opts.team_abbr.upper())
        hint = f" (did you mean {upper.abbr}?)" if upper else ""
        known = ", ".join(sorted(t.abbr for t in TEAMS))
        problem = f"'{opts.team_abbr}' is not an NBA tricode{hint}; use one of {known}"
        raise OptionError("team_abbr", problem, "GSW")
    return team


def _next_data(page: Page) -> Mapping[str, Any]:
    # A 204 arrives with no text: a team page always has content, so that is no evidence of anything.
    if not isinstance(page.data, str):
        raise ParseError(f"roster page answered HTTP {page.status} without an HTML document")
    script = BeautifulSoup(page.data, "html.parser").find("script", id="__NEXT_DATA__")
    if not isinstance(script, Tag) or not script.string:
        raise ParseError('roster page has no <script id="__NEXT_DATA__"> with content')
    try:
        data = json.loads(script.string)
    except json.JSONDecodeError as exc:
        raise ParseError(f"roster page __NEXT_DATA__ is not valid JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(data, dict):
        raise ParseError("roster page __NEXT_DATA__ is not a JSON object")
    return data


def _team_props(data: Mapping[str, Any], team: Team) -> Mapping[str, Any]:
    props = data.get("props")
    page_props = props.get("pageProps") if isinstance(props, dict) else None
    team_props = page_props.get("team") if isinstance(page_props, dict) else None
    if not isinstance(team_props, dict):
        raise ParseError("roster page has no 'props.pageProps.team' object")
    # The page names its team; another team's roster must never land under ours.
    if str(team_props.get("id")) != str(team.team_id):
        answered = team_props.get("id")
        raise ParseError(f"roster page is for team id {answered!r}, not {team.abbr} {team.team_id}")
    return team_props


def _season(rows: list[Any]) -> Season | None:
    """The season the page lists, from the players' SEASON start year ("2025" is 2025-26).

    The page switches to next season's roster in summer, months before the season's October start,
    so the page's word is the truth rather than the calendar (the old platform landed 2025-26 in July).
    """
    values = [row.get("SEASON") for row in rows]
    if not values:
        return None
    texts = {value for value in values if isinstance(value, str)}
    if len(texts) != 1 or len(values) != sum(isinstance(value, str) for value in values):
        stated = sorted(set(map(repr, values)))
        raise ParseError(f"roster page does not list one SEASON for all players: {stated}")
    try:
        return Season.parse(texts.pop())
    except ValueError as exc:
        raise ParseError(f"roster page SEASON: {exc}") from None


def _document(team: Team, season: Season, players: list[RosterPlayer], ctx: ParseContext) -> dict[str, Any]:
    fetched = utc_iso(ctx.fetched_at)
    return {
        # `team_abbr` in both places, as the old platform's last version wrote it; the recording's
        # `teamAbbr` is an older key name (OLD-PLATFORM 2.1 names the current one).
        "metadata": {
            "team_abbr": team.abbr,
            "teamId": str(team.team_id),
            "season": season.nba_format,
            "fetchedUtc": fetched,
            "playerCount": len(players),
        },
        "team_abbr": team.abbr,
        "teamId": str(team.team_id),
        "season": season.nba_format,
        "timestamp": fetched,
        "playerCount": len(players),
        "players": [player.document() for player in players],
    }


def _text(row: Mapping[str, Any], key: str, index: int, *, allow_empty: bool = False) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not (value.strip() or allow_empty):
        raise ParseError(f"roster player {index} has no text {key}: {value!r}")
    return value


def _player_id(row: Mapping[str, Any], index: int) -> int:
    value = row.get("PLAYER_ID")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ParseError(f"roster player {index} has a PLAYER_ID that is not an id: {value!r}")
    return value


def _number(row: Mapping[str, Any], index: int) -> str | None:
    # The key must be there; null is a real value (no number assigned yet, e.g. a draft pick).
    if "NUM" not in row:
        raise ParseError(f"roster player {index} has no NUM")
    value = row["NUM"]
    if value is not None and not isinstance(value, str):
        raise ParseError(f"roster player {index} has a NUM that is not text: {value!r}")
    return value
