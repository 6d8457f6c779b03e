"""Data-quality checks of every BettingPros document (see scrapers/quality).

Prices are American odds (`odds`, `opening_line.cost`); lines must be plausible for the market
(`points`, `rebounds`, ...); every player has one offer per event and market, and every book one
line per side of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from scrapers.core.verdict import Check, Document, Options, Status
from scrapers.nba.keys import is_nba_team
from scrapers.quality.checks import (
    PriceFormat,
    Row,
    count_matches,
    dig,
    ids_present,
    integer,
    is_blank,
    judged,
    line_problem,
    mapping,
    objects,
    price_problem,
    row_fields,
    structure,
    unique,
)

SIDES = ("over", "under")


def events(document: Document, options: Options) -> list[Check]:
    listed = mapping(document.get("events"))
    rows = [event for event in listed.values() if isinstance(event, Mapping)]
    return [
        *structure(
            document,
            {
                "date": str,
                "sport": str,
                "timestamp": str,
                "event_count": int,
                "rowCount": int,
                "events": dict,
            },
        ),
        row_fields(list(listed.values()), {"id": int, "home": str, "away": str}, "events"),
        count_matches(document, "event_count", len(listed)),
        count_matches(document, "rowCount", len(listed), "row_count_matches"),
        ids_present(rows, lambda event: event.get("id"), "events"),
        judged(
            "keys_match_ids",
            [
                f"{key} holds {dig(event, 'id')!r}"
                for key, event in listed.items()
                if str(dig(event, "id")) != str(key)
            ],
            len(listed),
            "events",
        ),
        judged(
            "two_teams",
            [
                f"{event.get('id')}: {event.get('away')}@{event.get('home')}"
                for event in rows
                if is_blank(event.get("home")) or event.get("home") == event.get("away")
            ],
            len(rows),
            "events",
        ),
        judged(
            "known_teams",
            [
                f"{event.get('id')}: {team}"
                for event in rows
                for team in (event.get("away"), event.get("home"))
                if document.get("sport") == "NBA" and not is_nba_team(str(team))
            ],
            len(rows),
            "events",
            Status.WARN,
        ),
    ]


def _book_lines(prop: Row) -> list[tuple[str, Row]]:
    return [(side, line) for side in SIDES for line in objects(dig(prop, side, "sportsbooks"))]


def player_props(document: Document, options: Options) -> list[Check]:
    props = objects(document.get("props"))
    market = str(document.get("market_type") or "")
    priced = [(prop, side, line) for prop in props for side, line in _book_lines(prop)]
    return [
        *structure(
            document,
            {
                "date": str,
                "market_id": int,
                "market_type": str,
                "props_count": int,
                "failed_offers": int,
                "props": list,
            },
        ),
        row_fields(document.get("props"), {"offer_id": int, "player_name": str, "market": str}, "props"),
        count_matches(document, "props_count", len(props)),
        ids_present(props, lambda prop: prop.get("offer_id"), "props"),
        unique((prop.get("offer_id") for prop in props), "offer ids"),
        unique(
            ((prop.get("event_id"), prop.get("player_id"), prop.get("market_id")) for prop in props),
            "event/player/market offers",
            name="one_offer_per_player",
        ),
        unique(
            (
                (
                    prop.get("event_id"),
                    prop.get("player_id"),
                    prop.get("market_id"),
                    side,
                    line.get("book_id"),
                )
                for prop, side, line in priced
            ),
            "book lines",
            name="one_line_per_book",
        ),
        judged(
            "price_range",
            [
                f"{prop.get('player_name')} {side} book {line.get('book_id')}: {problem}"
                for prop, side, line in priced
                if line.get("odds") is not None
                and (problem := price_problem(line["odds"], PriceFormat.AMERICAN))
            ],
            len(priced),
            "book lines",
        ),
        judged(
            "line_range",
            [
                f"{prop.get('player_name')} {side} book {line.get('book_id')}: {problem}"
                for prop, side, line in priced
                if line.get("line") is not None and (problem := line_problem(market, line["line"]))
            ],
            len(priced),
            "book lines",
        ),
        judged(
            "offers_parsed",
            [f"{document.get('failed_offers')} offers did not parse"]
            if integer(document.get("failed_offers"))
            else [],
            1,
            "documents",
            Status.WARN,
        ),
    ]
