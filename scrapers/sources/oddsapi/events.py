"""oddsa_events: The Odds API events commencing on one Eastern game date (a quota-free endpoint).

The API filters by UTC instants, while the league's calendar is Eastern: by default the window is
the Eastern day converted to UTC through zoneinfo, so it is 05:00Z-04:59:59Z in winter and
04:00Z-03:59:59Z in summer. The event ids feed the per-event props and lines scrapers.

Lands the API's event list as served; the completion metadata carries the count and, in commence
order, the event ids and their game keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from scrapers.core.fanout import Child, EventRef, FanOut, FanOutRef
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    API_KEY,
    BASE_URL,
    KEY,
    KEY_SHAPE,
    api_request,
    checked_document,
    commence_bounds,
    default_commence_window,
    event_refs,
    events_metadata,
    format_utc,
    only_page,
    segment,
    sorted_events,
    window_params,
)

# Re-exported: the events module was their home before common.py, and callers import them here.
__all__ = [
    "API_KEY",
    "BASE_URL",
    "OddsaEvents",
    "OddsaEventsOptions",
    "commence_window",
    "default_commence_window",
    "format_utc",
]


class OddsaEventsOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", required=True, help="Eastern game date")
    sport: str = option(
        "str", example="basketball_nba", default="basketball_nba", pattern=KEY, shape=KEY_SHAPE
    )
    commence_time_from: datetime | None = option(
        "datetime",
        example="2024-01-15T05:00:00Z",
        aliases=("commenceTimeFrom",),
        help="default is the start of game_date in ET",
    )
    commence_time_to: datetime | None = option(
        "datetime",
        example="2024-01-16T04:59:59Z",
        aliases=("commenceTimeTo",),
        help="default is the end of game_date in ET",
    )


def commence_window(opts: OddsaEventsOptions) -> tuple[datetime, datetime]:
    """The window asked for: each bound as given, else the Eastern day's bound."""
    return commence_bounds(opts.game_date, opts.commence_time_from, opts.commence_time_to)


def event_child(parent: Mapping[str, Any], ref: FanOutRef) -> Child | str:
    """Each event -> its odds (player props, game lines), on the parent's game date and sport; a
    historical parent's children read the same snapshot as the events list."""
    if not isinstance(ref, EventRef):
        return f"{ref.kind} ref is not an event"
    options = {"event_id": ref.event_id, "game_date": parent["game_date"]}
    for shared in ("sport", "snapshot_timestamp"):
        if shared in parent:
            options[shared] = parent[shared]
    return Child(ref.event_id, options)


EVENT_FILLED = ("event_id", "game_date", "sport")


class OddsaEvents(Scraper[OddsaEventsOptions]):
    options_type = OddsaEventsOptions
    validator = validators.events
    # Props per event, as always; game lines (also metered) when named.
    fan_out = (
        FanOut("oddsa_player_props", EVENT_FILLED, event_child),
        FanOut("oddsa_game_lines", EVENT_FILLED, event_child, default=False),
    )
    date_option = "game_date"
    lands = Landing.UPSTREAM_BODY

    def check_options(self, opts: OddsaEventsOptions) -> None:
        commence_window(opts)

    def requests(self, opts: OddsaEventsOptions) -> Sequence[Request]:
        params = (*window_params(commence_window(opts)), ("dateFormat", "iso"))
        return (api_request(f"/sports/{segment(opts.sport)}/events", params),)

    def parse(self, opts: OddsaEventsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, "oddsa_events")
        events = [] if page.outcome is Outcome.NO_DATA else sorted_events(page.data)
        document = checked_document(page)
        metadata = events_metadata(opts.sport, events)
        if not events:
            start, end = commence_window(opts)
            reason = (
                f"The Odds API lists no {opts.sport} events commencing {format_utc(start)}..{format_utc(end)}"
            )
            return Parsed(document=document, record_count=0, no_data_reason=reason, metadata=metadata)
        return Parsed(
            document=document, record_count=len(events), fan_out=event_refs(events), metadata=metadata
        )
