"""bp_player_props: BettingPros player-prop offers of one market, for a date's events or given events.

Date mode fetches the date's events (the very request of bp_events) and then, in the same job and
through the same core, each event's offers (`follow_ups`): no nested scraper run, no sleeps (the
core's limiter paces the host). Each event's offers are paginated by the answer's `_pagination`,
at most `page_limit` pages per event; one chain per event keeps a full slate far below that limit.

Lands the old platform's layout (OLD-PLATFORM 2.3). An offer that does not parse is counted in
`failed_offers`; more than 10 % of them fail the run as `structural` instead of landing a
silently thinned document. A run for exactly one event is a per-game run: its completion carries
`event_id`, and `game_key` (`YYYYMMDD_AWY_HOM`) when the date's events page named the teams.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from scrapers.core.clock import EASTERN, utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.nba.keys import game_key
from scrapers.sources.bettingpros import validators
from scrapers.sources.bettingpros.common import SOURCE_LABEL, api_request, echoed_parameters, json_object
from scrapers.sources.bettingpros.events import events_request, is_events_page, read_events

OFFERS_ENDPOINT = "offers"
SPORT = "NBA"
PAGE_SIZE = 10  # offers per page: the API's maximum
MAX_FAILED_SHARE = 0.10  # above this share of unparsable offers the source has changed


@dataclass(frozen=True)
class Market:
    market_id: int
    name: str  # the API's market slug, landed as `market_name`


MARKETS: Mapping[str, Market] = MappingProxyType(
    {
        "points": Market(156, "points-by-player"),
        "rebounds": Market(157, "rebounds-by-player"),
        "assists": Market(151, "assists-by-player"),
        "threes": Market(162, "threes-by-player"),
        "steals": Market(160, "steals-by-player"),
        "blocks": Market(152, "blocks-by-player"),
    }
)

# BettingPros book ids -> names (the old platform's table); unknown ids land as "Unknown Book <id>".
BOOKS: Mapping[int, str] = MappingProxyType(
    {
        0: "BettingPros Consensus",
        10: "FanDuel",
        12: "DraftKings",
        13: "Caesars",
        14: "PointsBet",
        15: "SugarHouse",
        18: "BetRivers",
        19: "BetMGM",
        20: "FOX Bet",
        21: "BetAmerica",
        22: "Oregon Lottery",
        24: "bet365",
        25: "WynnBET",
        26: "Tipico",
        27: "PartyCasino",
        28: "UniBet",
        29: "TwinSpires",
        30: "Betway",
        31: "Fubo",
    }
)


class BpPlayerPropsOptions(ScraperOptions):
    event_ids: tuple[str, ...] | None = option(
        "list",
        example="27101,27102",
        help="BettingPros event ids (give exactly one of event_ids or game_date)",
        pattern=r"[0-9]{1,12}",
        shape="a BettingPros event id (digits)",
    )
    game_date: date | None = option(
        "date",
        example="2024-01-15",
        aliases=("date",),
        help="Eastern date: the props of all its events (give exactly one of event_ids or game_date)",
    )
    market_type: str = option(
        "choice",
        example="rebounds",
        default="points",
        choices=(
            "points",
            "rebounds",
            "assists",
            "threes",
            "steals",
            "blocks",
        ),
    )
    page_limit: int = option(
        "int", example="10", default="10", help="at most this many offer pages per event"
    )


@dataclass(frozen=True)
class OffersPage:
    """One decoded offers page; `event_id` and `number` are what we asked for."""

    event_id: str
    number: int
    total_pages: int
    offers: tuple[Any, ...]
    params: dict[str, Any]

    @property
    def truncated(self) -> bool:
        return self.total_pages > self.number


class BpPlayerProps(Scraper[BpPlayerPropsOptions]):
    options_type = BpPlayerPropsOptions
    validator = validators.player_props
    date_option = "game_date"

    def check_options(self, opts: BpPlayerPropsOptions) -> None:
        if (opts.event_ids is None) == (opts.game_date is None):
            raise OptionError("event_ids", "give exactly one of event_ids or game_date", "27101,27102")
        bad = [event_id for event_id in opts.event_ids or () if not event_id.isdigit()]
        if bad:
            raise OptionError("event_ids", f"{', '.join(bad)} are not BettingPros event ids", "27101,27102")
        if opts.page_limit < 1:
            raise OptionError("page_limit", f"{opts.page_limit} is not a page count (at least 1)", "10")
        _market(opts)

    def requests(self, opts: BpPlayerPropsOptions) -> Sequence[Request]:
        if opts.game_date is not None:
            return (events_request(SPORT, opts.game_date),)
        return tuple(offers_request(opts, event_id, 1) for event_id in _given_ids(opts))

    def follow_ups(self, opts: BpPlayerPropsOptions, page: Page) -> Sequence[Request]:
        if is_events_page(page):
            return [offers_request(opts, event_id, 1) for event_id in _date_events(opts, page)]
        offers = read_offers_page(page, _market(opts))
        if offers.number < min(offers.total_pages, opts.page_limit):
            return (offers_request(opts, offers.event_id, offers.number + 1),)
        return ()

    def parse(self, opts: BpPlayerPropsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        market = _market(opts)
        day = opts.game_date or ctx.fetched_at.astimezone(EASTERN).date()
        events: dict[str, dict[str, Any]] = {}
        if opts.game_date is not None:
            events = _date_events(opts, pages[0])
            if not events:
                reason = f"BettingPros lists no {SPORT} events on {day.isoformat()} (HTTP {pages[0].status})"
                return Parsed(_document(opts, day, ctx, [], [], Offers([], [])), 0, no_data_reason=reason)
        event_ids = list(events) if opts.game_date is not None else _given_ids(opts)
        offer_pages = [read_offers_page(page, market) for page in pages if not is_events_page(page)]
        offers = _offers(offer_pages, opts.market_type, market)
        document = _document(opts, day, ctx, event_ids, offer_pages, offers)
        facts = event_facts(event_ids, events, day)
        if not offers.props:
            reason = f"BettingPros has no {opts.market_type} offers for events {', '.join(event_ids)}"
            return Parsed(document, record_count=0, no_data_reason=reason, metadata=facts)
        return Parsed(document, record_count=len(offers.props), metadata=facts)


def event_facts(event_ids: list[str], events: Mapping[str, Mapping[str, Any]], day: date) -> dict[str, str]:
    """The completion's join keys of a run for exactly one event: its id, and `game_key` when the
    date's events page named the teams (offers pages name only each player's team, not the sides)."""
    if len(event_ids) != 1:
        return {}
    (event_id,) = event_ids
    facts = {"event_id": event_id}
    event = events.get(event_id)
    if event is not None:
        # `day` is the Eastern date the events were asked for: the game's date, whatever its UTC start.
        facts["game_key"] = game_key(day.isoformat(), str(event["away"]), str(event["home"]))
    return facts


def offers_request(opts: BpPlayerPropsOptions, event_id: str, page: int) -> Request:
    params = (
        ("sport", SPORT),
        ("market_id", str(_market(opts).market_id)),
        ("event_id", event_id),
        ("book_id", "null"),
        ("limit", str(PAGE_SIZE)),
        ("page", str(page)),
    )
    return api_request(OFFERS_ENDPOINT, params)


def _market(opts: BpPlayerPropsOptions) -> Market:
    market = MARKETS.get(opts.market_type)
    if market is None:
        raise OptionError("market_type", f"'{opts.market_type}' is not one of {', '.join(MARKETS)}", "points")
    return market


def _given_ids(opts: BpPlayerPropsOptions) -> list[str]:
    # A repeated id would fetch the same offers twice and count every prop double.
    return list(dict.fromkeys(opts.event_ids or ()))


def _date_events(opts: BpPlayerPropsOptions, page: Page) -> dict[str, dict[str, Any]]:
    """The date's events by id (in the API's order), as bp_events lands them."""
    if opts.game_date is None or not is_events_page(page):
        raise ValueError("date mode starts with the date's events page")
    if page.outcome is Outcome.NO_DATA:
        return {}
    _, events = read_events(page, opts.game_date)
    return events


# --- offers pages --------------------------------------------------------------------------------


def read_offers_page(page: Page, market: Market) -> OffersPage:
    asked = dict(page.request.params)
    event_id, number = asked["event_id"], int(asked["page"])
    if page.outcome is Outcome.NO_DATA:
        # No content: nothing on this page and none after it.
        return OffersPage(event_id, number, number, (), {})
    body = json_object(page)
    params = echoed_parameters(body)
    echoed_market = params.get("market_id")
    if echoed_market is not None and str(echoed_market) != str(market.market_id):
        raise ParseError(f"BettingPros answered market {echoed_market!r}, not {market.market_id}")
    offers = body.get("offers")
    if not isinstance(offers, list):
        raise ParseError(f"BettingPros 'offers' is not a list (got {type(offers).__name__})")
    return OffersPage(event_id, number, _total_pages(body, number), tuple(offers), params)


def _total_pages(body: dict[str, Any], number: int) -> int:
    # Without the page count we cannot know whether offers are missing, so it is required.
    pagination = body.get("_pagination")
    total = pagination.get("total_pages") if isinstance(pagination, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise ParseError(f"BettingPros offers page {number} has no '_pagination.total_pages' count")
    echoed = pagination.get("page") if isinstance(pagination, dict) else None
    if echoed is not None and echoed != number:
        raise ParseError(f"BettingPros answered offers page {echoed!r} when asked for page {number}")
    return total


# --- offers to props -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Offers:
    props: list[dict[str, Any]]
    problems: list[str]  # one line per offer that did not parse


def _offers(pages: list[OffersPage], market_type: str, market: Market) -> Offers:
    raw = [offer for page in pages for offer in page.offers]
    props: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, offer in enumerate(raw):
        try:
            props.append(_prop(offer, market_type, market))
        except ParseError as exc:
            problems.append(f"offer {index}: {exc}")
    if problems and len(problems) > MAX_FAILED_SHARE * len(raw):
        raise ParseError(
            f"{len(problems)} of {len(raw)} BettingPros offers do not parse (more than "
            f"{MAX_FAILED_SHARE:.0%}); first: {problems[0]}"
        )
    return Offers(props, problems)


def _prop(offer: object, market_type: str, market: Market) -> dict[str, Any]:
    if not isinstance(offer, dict) or offer.get("id") is None:
        raise ParseError("is not an offer object with an id")
    participant = _participant(offer)
    player = participant.get("player")
    player = player if isinstance(player, dict) else {}
    over, under = _sides(offer)
    return {
        "offer_id": offer["id"],
        "event_id": offer.get("event_id"),
        # The participant's id when the offer carries none at the top level.
        "player_id": offer.get("player_id", participant.get("id")),
        "player_name": participant["name"],
        "player_team": player.get("team", ""),
        "player_position": player.get("position", ""),
        "market": market_type,
        "market_id": market.market_id,
        "over": over,
        "under": under,
        "link": offer.get("link", ""),
        "active": offer.get("active", False),
    }


def _participant(offer: Mapping[str, Any]) -> Mapping[str, Any]:
    participants = offer.get("participants")
    first = participants[0] if isinstance(participants, list) and participants else None
    if not isinstance(first, dict) or not isinstance(first.get("name"), str) or not first["name"].strip():
        raise ParseError(f"offer {offer['id']} has no participant with a name")
    return first


def _sides(offer: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    selections = offer.get("selections", [])
    if not isinstance(selections, list) or not all(isinstance(s, dict) for s in selections):
        raise ParseError(f"offer {offer['id']} has no list of selection objects")
    by_side = {
        s.get("selection"): _selection(s, offer["id"])
        for s in selections
        if s.get("selection") in ("over", "under")
    }
    return by_side.get("over"), by_side.get("under")


def _selection(selection: Mapping[str, Any], offer_id: object) -> dict[str, Any]:
    books = selection.get("books", [])
    if not isinstance(books, list) or not all(isinstance(book, dict) for book in books):
        raise ParseError(f"offer {offer_id} has a selection without a list of book objects")
    return {
        "selection_id": selection.get("id"),
        "active": selection.get("active", False),
        "opening_line": selection.get("opening_line", {}),
        "sportsbooks": [line for book in books for line in _book_lines(book, offer_id)],
    }


def _book_lines(book: Mapping[str, Any], offer_id: object) -> list[dict[str, Any]]:
    lines = book.get("lines", [])
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise ParseError(f"offer {offer_id} has a book without a list of line objects")
    book_id = book.get("id")
    name = (
        BOOKS.get(book_id, f"Unknown Book {book_id}")
        if isinstance(book_id, int)
        else f"Unknown Book {book_id}"
    )
    return [
        {
            "book_id": book_id,
            "book_name": name,
            "line_id": line.get("id"),
            "line": line.get("line"),
            "odds": line.get("cost"),
            "updated": line.get("updated"),
            "active": line.get("active", False),
            "best": line.get("best", False),
        }
        for line in lines
    ]


# --- the document --------------------------------------------------------------------------------


def _document(
    opts: BpPlayerPropsOptions,
    day: date,
    ctx: ParseContext,
    event_ids: list[str],
    pages: list[OffersPage],
    offers: Offers,
) -> dict[str, Any]:
    market = _market(opts)
    summary = _players_summary(offers.props)
    return {
        # In event_ids mode the Eastern date of the fetch, as the path's {date}.
        "date": day.isoformat(),
        "sport": SPORT,
        "market_id": market.market_id,
        "market_type": opts.market_type,
        "market_name": market.name,
        "event_ids": event_ids,
        "timestamp": utc_iso(ctx.fetched_at),
        "source": SOURCE_LABEL,
        # The first offers page's echo: every page of a run shares sport, market and limit.
        "api_response_params": pages[0].params if pages else {},
        "pagination_info": _pagination_info(pages, opts.page_limit),
        "props_count": len(offers.props),
        "players_count": len(summary),
        "failed_offers": len(offers.problems),
        "players_summary": summary,
        "props": offers.props,
    }


def _pagination_info(pages: list[OffersPage], page_limit: int) -> dict[str, Any]:
    last_pages = {page.event_id: page for page in pages}  # pages come in order: the last one wins
    return {
        "total_offers": sum(len(page.offers) for page in pages),
        "pages_fetched": len(pages),
        "page_limit": page_limit,
        # Events whose offers go on beyond page_limit: the document holds only their first pages.
        "truncated_event_ids": [event_id for event_id, page in last_pages.items() if page.truncated],
    }


def _players_summary(props: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for prop in props:
        entry = summary.setdefault(prop["player_name"], {"team": prop["player_team"], "props_count": 0})
        entry["props_count"] += 1
    return summary
