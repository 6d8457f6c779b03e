"""oddsa_events_his: the events The Odds API listed at a historical snapshot.

Like oddsa_events, the commence window defaults to the Eastern game date, so `game_date` means
the same in both; the old scraper sent no window and landed whatever the snapshot held (games of
the previous evening still in progress included). Costs one credit per call.

Lands the API's snapshot wrapper as served (`timestamp`, `previous_timestamp`, `next_timestamp`,
`data`); the completion metadata carries the snapshot, the count, the event ids and game keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scrapers.core.fanout import FanOut
from scrapers.core.options import option
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    EVENT_ID,
    EVENT_ID_SHAPE,
    api_request,
    checked_document,
    commence_bounds,
    event_refs,
    events_metadata,
    format_utc,
    only_page,
    read_snapshot,
    segment,
    snap_down,
    snapshot_metadata,
    sorted_events,
    window_params,
)
from scrapers.sources.oddsapi.events import EVENT_FILLED, OddsaEventsOptions, event_child

HISTORICAL_EVENTS_COST = 1


class OddsaEventsHisOptions(OddsaEventsOptions):
    """The events options, at a snapshot and optionally for some events only."""

    snapshot_timestamp: datetime = option(
        "datetime",
        example="2024-01-15T16:00:00Z",
        required=True,
        help="snapshot instant (UTC), snapped down to the 5-minute grid",
    )
    event_ids: tuple[str, ...] | None = option(
        "list",
        example="4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9,9d3b7a1e5c2f48d6b0e4a7c9f1d3b5a8",
        help="only these events",
        pattern=EVENT_ID,
        shape=EVENT_ID_SHAPE,
    )


def commence_window(opts: OddsaEventsHisOptions) -> tuple[datetime, datetime]:
    return commence_bounds(opts.game_date, opts.commence_time_from, opts.commence_time_to)


class OddsaEventsHis(Scraper[OddsaEventsHisOptions]):
    options_type = OddsaEventsHisOptions
    validator = validators.events_his
    # Each event's props at the same snapshot (10 credits a market and region each); game lines
    # when named.
    fan_out = (
        FanOut("oddsa_player_props_his", (*EVENT_FILLED, "snapshot_timestamp"), event_child),
        FanOut("oddsa_game_lines_his", (*EVENT_FILLED, "snapshot_timestamp"), event_child, default=False),
    )
    date_option = "game_date"
    lands = Landing.UPSTREAM_BODY

    def check_options(self, opts: OddsaEventsHisOptions) -> None:
        commence_window(opts)

    def requests(self, opts: OddsaEventsHisOptions) -> Sequence[Request]:
        params = [
            ("date", format_utc(snap_down(opts.snapshot_timestamp))),
            *window_params(commence_window(opts)),
        ]
        if opts.event_ids:
            params.append(("eventIds", ",".join(opts.event_ids)))
        params.append(("dateFormat", "iso"))
        return (api_request(f"/historical/sports/{segment(opts.sport)}/events", params),)

    def quota_cost(self, opts: OddsaEventsHisOptions) -> int:
        return HISTORICAL_EVENTS_COST

    def parse(self, opts: OddsaEventsHisOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, "oddsa_events_his")
        snapshot = None if page.outcome is Outcome.NO_DATA else read_snapshot(page.data)
        events = sorted_events(snapshot.data) if snapshot else []
        document = checked_document(page)
        metadata = {
            **events_metadata(opts.sport, events),
            **snapshot_metadata(snapshot, opts.snapshot_timestamp),
        }
        if events:
            return Parsed(
                document=document, record_count=len(events), fan_out=event_refs(events), metadata=metadata
            )
        start, end = commence_window(opts)
        served = f"snapshot {snapshot.timestamp}" if snapshot else "HTTP 204 No Content"
        reason = (
            f"The Odds API lists no {opts.sport} events commencing {format_utc(start)}..{format_utc(end)} "
            f"({served})"
        )
        return Parsed(document=document, record_count=0, no_data_reason=reason, metadata=metadata)
