"""Data-quality checks of every The Odds API document (see scrapers/quality).

Event odds (props and game lines, current and historical) must price plausibly in the run's odds
format (the API's default is decimal), carry plausible lines for their market, and give one line
per bookmaker, market and player (or team): two different points for the same player in one
bookmaker's standard market mean the answer mixed snapshots or alternates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scrapers.core.scraper import Scraper
from scrapers.quality.checks import (
    OPTIONAL_TEXT,
    Check,
    Document,
    Options,
    PriceFormat,
    Row,
    Status,
    TypeSpec,
    Validator,
    count_matches,
    ids_present,
    is_blank,
    judged,
    line_problem,
    mapping,
    number,
    objects,
    price_problem,
    row_fields,
    structure,
    unique,
)
from scrapers.quality.keys import is_nba_team
from scrapers.sources.oddsapi.events import OddsaEvents
from scrapers.sources.oddsapi.events_his import OddsaEventsHis
from scrapers.sources.oddsapi.game_lines import OddsaGameLines
from scrapers.sources.oddsapi.game_lines_his import OddsaGameLinesHis
from scrapers.sources.oddsapi.player_props import OddsaPlayerProps
from scrapers.sources.oddsapi.player_props_his import OddsaPlayerPropsHis
from scrapers.sources.oddsapi.team_players import OddsaTeamPlayers

NBA_SPORT = "basketball_nba"
SNAPSHOT_KEYS: Mapping[str, TypeSpec] = {"snapshot_timestamp": str, "previous_snapshot": OPTIONAL_TEXT}
EVENT_FIELDS: Mapping[str, TypeSpec] = {"id": str, "commence_time": str, "home_team": str, "away_team": str}


# --- events -------------------------------------------------------------------------------------


def _is_time(text: object) -> bool:
    try:
        datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _events(document: Document, extra: Mapping[str, TypeSpec]) -> list[Check]:
    rows = objects(document.get("events"))
    nba = document.get("sport") == NBA_SPORT
    return [
        *structure(document, {"sport": str, "game_date": str, "rowCount": int, "events": list, **extra}),
        row_fields(document.get("events"), EVENT_FIELDS, "events"),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda event: event.get("id"), "events"),
        unique((event.get("id") for event in rows), "event ids"),
        judged(
            "two_teams",
            [str(event.get("id")) for event in rows if event.get("home_team") == event.get("away_team")],
            len(rows),
            "events",
        ),
        judged(
            "commence_times",
            [
                f"{event.get('id')}: {event.get('commence_time')!r}"
                for event in rows
                if not _is_time(event.get("commence_time"))
            ],
            len(rows),
            "events",
        ),
        judged(
            "known_teams",
            [
                f"{event.get('id')}: {team}"
                for event in rows
                for team in (event.get("away_team"), event.get("home_team"))
                if nba and not is_nba_team(str(team))
            ],
            len(rows),
            "events",
            Status.WARN,
        ),
    ]


def events(document: Document, options: Options) -> list[Check]:
    return _events(document, {})


def events_his(document: Document, options: Options) -> list[Check]:
    return _events(document, SNAPSHOT_KEYS)


# --- event odds ---------------------------------------------------------------------------------


def _outcomes(event: Row) -> list[tuple[str, str, Row]]:
    """(bookmaker, market, outcome) of every outcome of an event-odds object."""
    return [
        (str(book.get("key")), str(market.get("key")), outcome)
        for book in objects(event.get("bookmakers"))
        for market in objects(book.get("markets"))
        for outcome in objects(market.get("outcomes"))
    ]


def _row_count(event: Row) -> int:
    # As the parser counts: a market listed without outcomes is still one row.
    return sum(
        len(objects(market.get("outcomes"))) or 1
        for book in objects(event.get("bookmakers"))
        for market in objects(book.get("markets"))
    )


def _event_odds(document: Document, options: Options, key: str, extra: Mapping[str, TypeSpec]) -> list[Check]:
    event = mapping(document.get(key))
    outcomes = _outcomes(event)
    fmt = PriceFormat(str(options.get("oddsFormat") or PriceFormat.DECIMAL.value))
    points: dict[tuple[str, str, str], set[float]] = defaultdict(set)
    for book, market, outcome in outcomes:
        value = number(outcome.get("point"))
        if value is not None and not market.endswith("_alternate"):
            # Game lines: the two teams' spreads are one line (a point and its mirror), totals too.
            points[(book, market, str(outcome.get("description") or ""))].add(abs(value))
    return [
        *structure(
            document, {"sport": str, "eventId": str, "rowCount": int, key: (dict, type(None)), **extra}
        ),
        judged(
            "event_matches",
            []
            if not event or event.get("id") == document.get("eventId")
            else [f"{event.get('id')} != {document.get('eventId')}"],
            1,
            "documents",
        ),
        count_matches(document, "rowCount", _row_count(event) if event else 0),
        judged(
            "outcome_fields",
            [
                f"{book} {market}: {outcome}"
                for book, market, outcome in outcomes
                if is_blank(outcome.get("name"))
            ],
            len(outcomes),
            "outcomes",
        ),
        judged(
            "players_named",
            [
                f"{book} {market}: {outcome.get('name')}"
                for book, market, outcome in outcomes
                if market.startswith("player_") and is_blank(outcome.get("description"))
            ],
            len(outcomes),
            "outcomes",
        ),
        judged(
            "price_range",
            [
                f"{book} {market} {outcome.get('description') or outcome.get('name')}: {problem}"
                for book, market, outcome in outcomes
                if (problem := price_problem(outcome.get("price"), fmt))
            ],
            len(outcomes),
            "outcomes",
        ),
        judged(
            "line_range",
            [
                f"{book} {outcome.get('description') or outcome.get('name')}: {problem}"
                for book, market, outcome in outcomes
                if outcome.get("point") is not None and (problem := line_problem(market, outcome["point"]))
            ],
            len(outcomes),
            "outcomes",
        ),
        unique(
            (
                (book, market, outcome.get("description"), outcome.get("name"), outcome.get("point"))
                if market.endswith("_alternate")
                else (book, market, outcome.get("description"), outcome.get("name"))
                for book, market, outcome in outcomes
            ),
            "bookmaker/market/player sides",
            name="one_outcome_per_side",
        ),
        judged(
            "one_line_per_book",
            [
                f"{book} {market} {player or '-'}: {sorted(values)}"
                for (book, market, player), values in points.items()
                if len(values) > 1
            ],
            len(points),
            "bookmaker/market/player lines",
        ),
    ]


def current_odds(document: Document, options: Options) -> list[Check]:
    return _event_odds(document, options, "odds", {"markets": str})


def historical_odds(document: Document, options: Options) -> list[Check]:
    return _event_odds(document, options, "eventOdds", {"markets": str, **SNAPSHOT_KEYS})


# --- players ------------------------------------------------------------------------------------


def team_players(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("players"))
    return [
        *structure(document, {"sport": str, "participantId": str, "rowCount": int, "players": list}),
        row_fields(document.get("players"), {"id": str, "name": str}, "players"),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda player: player.get("id"), "players"),
        unique((player.get("id") for player in rows), "player ids"),
        judged(
            "participant_matches",
            [
                str(player.get("id"))
                for player in rows
                if player.get("participant_id") not in (None, document.get("participantId"))
            ],
            len(rows),
            "players",
        ),
    ]


VALIDATORS: Mapping[type[Scraper[Any]], Validator] = {
    OddsaEvents: events,
    OddsaEventsHis: events_his,
    OddsaPlayerProps: current_odds,
    OddsaGameLines: current_odds,
    OddsaPlayerPropsHis: historical_odds,
    OddsaGameLinesHis: historical_odds,
    OddsaTeamPlayers: team_players,
}
