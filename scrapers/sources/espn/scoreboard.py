"""espn_scoreboard: the games of one Eastern date from the ESPN site API scoreboard.

Lands the old platform's layout: `timestamp, gamedate, season_type, gameCount, games[gameId,
statusId, state, status, startTime, teams[teamId, displayName, abbreviation, score, winner,
homeAway]]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date
from typing import Any

from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.sources.espn import headers, validators

URL = "https://site.api.espn.com/apis/site/v2/sports/basketball/nba/scoreboard"

# ESPN season type codes (1 pre, 2 regular incl. the All-Star game, 3 post, 5 play-in) mapped to
# the NBA.com SeasonType names the old platform's schedule service returned, so `season_type`
# keeps its vocabulary. Other codes (4 is ESPN's off season) leave it null.
SEASON_TYPES: Mapping[int, str] = {1: "Pre Season", 2: "Regular Season", 3: "Playoffs", 5: "PlayIn"}


class EspnScoreboardOptions(ScraperOptions):
    game_date: date = option(
        "date", example="2025-02-14", required=True, aliases=("gamedate",), help="Eastern game date"
    )


class EspnScoreboard(Scraper[EspnScoreboardOptions]):
    options_type = EspnScoreboardOptions
    validator = validators.scoreboard
    date_option = "game_date"

    def requests(self, opts: EspnScoreboardOptions) -> Sequence[Request]:
        params = (("dates", opts.game_date.strftime("%Y%m%d")),)
        return (Request(URL, params=params, headers=headers.SITE_API, expect=BodyKind.JSON),)

    def parse(self, opts: EspnScoreboardOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = _single_page(pages)
        if page.outcome is Outcome.NO_DATA:
            reason = f"ESPN answered HTTP {page.status} without content for {opts.game_date}"
            return Parsed(_document(opts, ctx, None, []), record_count=0, no_data_reason=reason)
        events = _events(page.data)
        games = [_game(event, index) for index, event in enumerate(events)]
        document = _document(opts, ctx, _season_type(page.data, events), games)
        if not games:
            reason = f"ESPN scoreboard lists no events on {opts.game_date}"
            return Parsed(document, record_count=0, no_data_reason=reason)
        return Parsed(document, record_count=len(games))


def _single_page(pages: Sequence[Page]) -> Page:
    # One request, one page: anything else is a runner bug, not an upstream change.
    if len(pages) != 1:
        raise ValueError(f"the ESPN scoreboard parses exactly one page, got {len(pages)}")
    return pages[0]


def _document(
    opts: EspnScoreboardOptions, ctx: ParseContext, season_type: str | None, games: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        # Microseconds always present, as the old platform wrote them: downstream parses this text.
        "timestamp": ctx.fetched_at.astimezone(UTC).isoformat(timespec="microseconds"),
        # YYYYMMDD, the old ESPN layout (unlike NBA.com's dashed date); downstream reads it as is.
        "gamedate": opts.game_date.strftime("%Y%m%d"),
        "season_type": season_type,
        "gameCount": len(games),
        "games": games,
    }


def _events(data: Any) -> list[Any]:
    # Only an explicit empty `events` list is evidence of a day without games; a missing one is
    # a changed or broken answer.
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise ParseError("ESPN scoreboard body is not an object with an 'events' list")
    events: list[Any] = data["events"]
    return events


def _season_type(data: Mapping[str, Any], events: list[Any]) -> str | None:
    """The part of the season the date belongs to, read from the body itself.

    The old platform asked its schedule service; parse does no I/O, and ESPN states the season
    type per event (`events[].season.type`) and, when present, for the requested day (top-level
    `season.type`). `leagues[].season` is deliberately ignored: it is the league's phase at fetch
    time, not the date's (a February date fetched in June says "Postseason").
    """
    for holder in (*events, data):
        code = _season_code(holder)
        if code is not None:
            return SEASON_TYPES.get(code)
    return None


def _season_code(holder: Any) -> int | None:
    season = holder.get("season") if isinstance(holder, dict) else None
    code = season.get("type") if isinstance(season, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _game(event: Any, index: int) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise ParseError(f"ESPN scoreboard event {index} is not an object")
    game_id = _text_id(event.get("id"), f"event {index}")
    competition = _competition(event, game_id)
    status = _status_type(event, competition)
    return {
        "gameId": game_id,
        "statusId": status.get("id"),
        "state": status.get("state"),
        "status": status.get("description"),
        "startTime": event.get("date") or competition.get("date"),
        "teams": [_team(competitor, game_id) for competitor in _competitors(competition, game_id)],
    }


def _text_id(value: Any, where: str) -> str:
    # ESPN ids are strings; a number is accepted and written as the string ESPN uses elsewhere.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ParseError(f"ESPN scoreboard {where} has no id")
    return value


def _competition(event: Mapping[str, Any], game_id: str) -> Mapping[str, Any]:
    competitions = event.get("competitions")
    if not isinstance(competitions, list) or not competitions or not isinstance(competitions[0], dict):
        raise ParseError(f"ESPN scoreboard event {game_id} has no competition")
    competition: Mapping[str, Any] = competitions[0]
    return competition


def _status_type(event: Mapping[str, Any], competition: Mapping[str, Any]) -> Mapping[str, Any]:
    # The event carries the status; some answers carry it only on the competition.
    for holder in (event, competition):
        status = holder.get("status")
        kind = status.get("type") if isinstance(status, dict) else None
        if isinstance(kind, dict):
            return kind
    return {}


def _competitors(competition: Mapping[str, Any], game_id: str) -> list[Mapping[str, Any]]:
    competitors = competition.get("competitors")
    if not isinstance(competitors, list) or not all(isinstance(c, dict) for c in competitors):
        raise ParseError(f"ESPN scoreboard event {game_id} has no list of competitor objects")
    return competitors


def _team(competitor: Mapping[str, Any], game_id: str) -> dict[str, Any]:
    team = competitor.get("team")
    team = team if isinstance(team, dict) else {}
    return {
        "teamId": _text_id(team.get("id", competitor.get("id")), f"competitor of event {game_id}"),
        "displayName": team.get("displayName"),
        "abbreviation": team.get("abbreviation"),
        "score": competitor.get("score"),
        "winner": competitor.get("winner"),
        "homeAway": competitor.get("homeAway"),
    }
