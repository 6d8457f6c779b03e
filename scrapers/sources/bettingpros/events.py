"""bp_events: BettingPros events (games with betting markets) of one date, keyed by event id.

Downstream (`bp_player_props`) needs the event ids of a date; the document keeps the old
platform's shape (OLD-PLATFORM 2.3) with `away` taken from the API's `visitor`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.fanout import Child, EventRef, FanOut, FanOutRef
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.sources.bettingpros import validators
from scrapers.sources.bettingpros.common import SOURCE_LABEL, api_request, echoed_parameters, json_object

EVENTS_ENDPOINT = "events"
# The landed event, in the old platform's field order: landed name -> API name.
EVENT_FIELDS = (
    ("id", "id"),
    ("sr_id", "sr_id"),
    ("home", "home"),
    ("away", "visitor"),
    ("sport", "sport"),
    ("scheduled", "scheduled"),
    ("season", "season"),
    ("season_type", "season_type"),
    ("status", "status"),
    ("event_name", "event_name"),
    ("link", "link"),
    ("series_summary", "series_summary"),
    ("venue", "venue"),
    ("popularity", "popularity"),
)
# Without these an event is useless downstream (props are joined by id and teams).
REQUIRED_FIELDS = ("id", "home", "visitor")


class BpEventsOptions(ScraperOptions):
    game_date: date = option(
        "date", example="2021-10-21", required=True, aliases=("date",), help="Eastern date"
    )
    sport: str = option(
        "str", example="NBA", default="NBA", pattern=r"[A-Za-z]{2,10}", shape="a BettingPros sport (letters)"
    )


def props_child(parent: Mapping[str, Any], ref: FanOutRef) -> Child | str:
    """A date with events -> one props job of that date (every event's offers of one market, the
    request's `market_type` child option or points). Not one per event id: an event-id job lands
    under the date it was fetched, which a backfill of past dates would get wrong."""
    if not isinstance(ref, EventRef):
        return f"{ref.kind} ref is not an event"
    return Child(str(parent["game_date"]), {"game_date": parent["game_date"]})


class BpEvents(Scraper[BpEventsOptions]):
    options_type = BpEventsOptions
    validator = validators.events
    fan_out = (FanOut("bp_player_props", ("game_date",), props_child),)
    date_option = "game_date"

    def requests(self, opts: BpEventsOptions) -> Sequence[Request]:
        return (events_request(opts.sport, opts.game_date),)

    def parse(self, opts: BpEventsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        if len(pages) != 1:
            raise ValueError(f"bp_events fetches one page, parse got {len(pages)}")
        page = pages[0]
        if page.outcome is Outcome.NO_DATA:
            return Parsed(
                document=_document(opts, ctx, {}, {}),
                record_count=0,
                no_data_reason=(
                    f"BettingPros answered HTTP {page.status} with no content for {opts.game_date}"
                ),
            )
        params, events = read_events(page, opts.game_date)
        document = _document(opts, ctx, params, events)
        if not events:
            reason = f"BettingPros lists no {opts.sport} events on {opts.game_date.isoformat()}"
            return Parsed(document=document, record_count=0, no_data_reason=reason)
        return Parsed(document=document, record_count=len(events), fan_out=_event_refs(events))


def _event_refs(events: dict[str, dict[str, Any]]) -> tuple[EventRef, ...]:
    return tuple(
        EventRef(
            event_id=key,
            source="bettingpros",
            commence_time=event.get("scheduled"),
            away_team=event.get("away"),
            home_team=event.get("home"),
        )
        for key, event in events.items()
    )


def _document(
    opts: BpEventsOptions, ctx: ParseContext, params: dict[str, Any], events: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "date": opts.game_date.isoformat(),
        "sport": opts.sport,
        "timestamp": utc_iso(ctx.fetched_at),
        "source": SOURCE_LABEL,
        "api_response_params": params,
        "event_count": len(events),
        "rowCount": len(events),
        "events": events,
    }


def events_request(sport: str, day: date) -> Request:
    """The events of one date; bp_player_props sends exactly this request in its date mode."""
    return api_request(EVENTS_ENDPOINT, (("sport", sport), ("date", day.isoformat())))


def is_events_page(page: Page) -> bool:
    return page.request.url.endswith(f"/{EVENTS_ENDPOINT}")


def read_events(page: Page, day: date) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The query echo and the events by id of a clean events page (not a 204)."""
    body = json_object(page)
    return _parameters(body, day), _events_by_id(body)


def _parameters(body: dict[str, Any], day: date) -> dict[str, Any]:
    """The API's echo of the query; it must be for the date we asked, or the events are not ours."""
    params = echoed_parameters(body)
    echoed = params.get("date")
    if echoed is not None and echoed != day.isoformat():
        raise ParseError(f"BettingPros answered for date {echoed!r}, not {day.isoformat()}")
    return params


def _events_by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw_events = body.get("events")
    if not isinstance(raw_events, list):
        raise ParseError(f"BettingPros 'events' is not a list (got {type(raw_events).__name__})")
    events: dict[str, dict[str, Any]] = {}
    for raw in raw_events:
        event = map_event(raw)
        # JSON object keys are strings; the event keeps the API's own id value.
        key = str(event["id"])
        # Two events under one id would silently collapse in the map and lose a game.
        if key in events:
            raise ParseError(f"BettingPros event id {key} appears twice")
        events[key] = event
    return events


def map_event(raw: object) -> dict[str, Any]:
    """One API event to the landed shape; optional fields the API omits land as null."""
    if not isinstance(raw, dict):
        raise ParseError(f"BettingPros event is not an object (got {type(raw).__name__})")
    missing = [name for name in REQUIRED_FIELDS if raw.get(name) in (None, "")]
    if missing:
        raise ParseError(f"BettingPros event {raw.get('id')!r} lacks {', '.join(missing)}")
    return {landed: raw.get(api) for landed, api in EVENT_FIELDS}
