"""Data-quality checks of every The Odds API body (see scrapers/quality).

The scrapers land the API's bodies unchanged, so these checks read the API's own shapes: an event
list (`{"data": [...]}` for the bare list the current endpoint answers, see `as_document`), a
historical wrapper (`timestamp`, `previous_timestamp`, `next_timestamp`, `data`), an event object
with `bookmakers`. After a 204 nothing landed and there is nothing to check (`NO_CONTENT`).

Event odds (props and game lines, current and historical) must price plausibly in the run's odds
format (the API's default is decimal), carry plausible lines for their market, and give one line
per bookmaker, market and player (or team): two different points for the same player in one
bookmaker's standard market mean the answer mixed snapshots or alternates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from scrapers.core.verdict import Check, Document, Options, Status
from scrapers.nba.keys import is_nba_team
from scrapers.quality.checks import (
    OPTIONAL_TEXT,
    PriceFormat,
    Row,
    TypeSpec,
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
from scrapers.sources.oddsapi.common import LIST_KEY, NO_CONTENT

NBA_SPORT = "basketball_nba"
SNAPSHOT_KEYS: Mapping[str, TypeSpec] = {
    "timestamp": str,
    "previous_timestamp": OPTIONAL_TEXT,
    "next_timestamp": OPTIONAL_TEXT,
}
EVENT_FIELDS: Mapping[str, TypeSpec] = {
    "id": str,
    "sport_key": str,
    "commence_time": str,
    "home_team": str,
    "away_team": str,
}
ODDS_FIELDS: Mapping[str, TypeSpec] = {**EVENT_FIELDS, "bookmakers": list}


def _nothing_served() -> list[Check]:
    return [Check("upstream_body", Status.OK, "HTTP 204 No Content: nothing landed, nothing to check")]


def _time(text: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _snapshot_order(document: Document) -> Check:
    """The neighbours bracket the snapshot served: a wrapper that does not is not one snapshot."""
    served = _time(document.get("timestamp"))
    problems = [] if served else [f"timestamp {document.get('timestamp')!r} is no time"]
    for key, later in (("previous_timestamp", False), ("next_timestamp", True)):
        text = document.get(key)
        if text is None or served is None:
            continue
        neighbour = _time(text)
        if neighbour is None or (neighbour <= served if later else neighbour >= served):
            problems.append(f"{key} {text!r} vs timestamp {document.get('timestamp')!r}")
    return judged("snapshot_order", problems, 3, "snapshot times")


# --- events -------------------------------------------------------------------------------------


def _events(value: object) -> list[Check]:
    rows = objects(value)
    return [
        row_fields(value, EVENT_FIELDS, "events"),
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
                if _time(event.get("commence_time")) is None
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
                if event.get("sport_key") == NBA_SPORT and not is_nba_team(str(team))
            ],
            len(rows),
            "events",
            Status.WARN,
        ),
    ]


def events(document: Document, options: Options) -> list[Check]:
    if document is NO_CONTENT:
        return _nothing_served()
    return [*structure(document, {LIST_KEY: list}), *_events(document.get(LIST_KEY))]


def events_his(document: Document, options: Options) -> list[Check]:
    if document is NO_CONTENT:
        return _nothing_served()
    return [
        *structure(document, {**SNAPSHOT_KEYS, "data": list}),
        _snapshot_order(document),
        *_events(document.get("data")),
    ]


# --- event odds ---------------------------------------------------------------------------------


def _outcomes(event: Row) -> list[tuple[str, str, Row]]:
    """(bookmaker, market, outcome) of every outcome of an event-odds object."""
    return [
        (str(book.get("key")), str(market.get("key")), outcome)
        for book in objects(event.get("bookmakers"))
        for market in objects(book.get("markets"))
        for outcome in objects(market.get("outcomes"))
    ]


def _event_odds(event: Row, options: Options) -> list[Check]:
    """The checks of one event object's odds (an empty object: a snapshot without the event)."""
    outcomes = _outcomes(event)
    fmt = PriceFormat(str(options.get("odds_format") or PriceFormat.DECIMAL.value))
    asked = options.get("event_id")
    points: dict[tuple[str, str, str], set[float]] = defaultdict(set)
    for book, market, outcome in outcomes:
        value = number(outcome.get("point"))
        if value is not None and not market.endswith("_alternate"):
            # Game lines: the two teams' spreads are one line (a point and its mirror), totals too.
            points[(book, market, str(outcome.get("description") or ""))].add(abs(value))
    return [
        judged(
            "event_matches",
            [f"{event.get('id')} != {asked}"] if event and asked and event.get("id") != asked else [],
            1,
            "events",
        ),
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
    if document is NO_CONTENT:
        return _nothing_served()
    return [*structure(document, ODDS_FIELDS), *_event_odds(document, options)]


def historical_odds(document: Document, options: Options) -> list[Check]:
    if document is NO_CONTENT:
        return _nothing_served()
    # null or {} is an empty snapshot: the event had no odds yet (positive evidence, no_data).
    event = mapping(document.get("data"))
    return [
        *structure(document, {**SNAPSHOT_KEYS, "data": (dict, type(None))}),
        _snapshot_order(document),
        row_fields([event] if event else [], ODDS_FIELDS, "snapshot events", name="event_fields"),
        *_event_odds(event, options),
    ]


# --- players ------------------------------------------------------------------------------------


def team_players(document: Document, options: Options) -> list[Check]:
    if document is NO_CONTENT:
        return _nothing_served()
    # The undocumented endpoint answers a bare list (read as {"data": [...]}) or {"players": [...]}.
    key = "players" if "players" in document else LIST_KEY
    rows = objects(document.get(key))
    asked = options.get("participant_id")
    return [
        *structure(document, {key: list}),
        row_fields(document.get(key), {"id": str, "name": str}, "players"),
        ids_present(rows, lambda player: player.get("id"), "players"),
        unique((player.get("id") for player in rows), "player ids"),
        judged(
            "participant_matches",
            [
                str(player.get("id"))
                for player in rows
                if asked and player.get("participant_id") not in (None, asked)
            ],
            len(rows),
            "players",
        ),
    ]
