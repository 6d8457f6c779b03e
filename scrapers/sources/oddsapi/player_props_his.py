"""oddsa_player_props_his: one event's player-prop odds at a historical snapshot.

The snapshot instant is snapped down to the API's 5-minute grid before asking, and the path's
`snap` is that grid instant, so a rerun for the same instant lands beside the first. The API bills
historical odds at ten times the current price.

Lands the API's snapshot wrapper as served (`timestamp`, `previous_timestamp`, `next_timestamp`,
`data` = the event object); the completion metadata carries the snapshot, the event id, its game
key and the row count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scrapers.core.options import option
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    EventOdds,
    EventOddsOptions,
    event_odds_request,
    no_odds_because,
    odds_parsed,
    odds_query,
    only_page,
    read_historical_odds,
    snap_down,
    snap_label,
    snapshot_metadata,
)


class OddsaPlayerPropsHisOptions(EventOddsOptions):
    snapshot_timestamp: datetime = option(
        "datetime",
        example="2024-01-15T23:00:00Z",
        required=True,
        help="snapshot instant (UTC), snapped down to the 5-minute grid",
    )


class OddsaPlayerPropsHis(Scraper[OddsaPlayerPropsHisOptions]):
    options_type = OddsaPlayerPropsHisOptions
    validator = validators.historical_odds
    date_option = "game_date"
    path_fields = frozenset({"teams", "snap"})
    lands = Landing.UPSTREAM_BODY
    label = "oddsa_player_props_his"

    def requests(self, opts: OddsaPlayerPropsHisOptions) -> Sequence[Request]:
        return (event_odds_request(odds_query(opts), snapshot=opts.snapshot_timestamp),)

    def quota_cost(self, opts: OddsaPlayerPropsHisOptions) -> int:
        return odds_query(opts).cost(historical=True)

    def extra_metadata(self, odds: EventOdds | None) -> dict[str, Any]:
        """What a variant reports beyond the shared metadata (game lines count spreads and totals)."""
        return {}

    def parse(self, opts: OddsaPlayerPropsHisOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, self.label)
        snapshot, odds = read_historical_odds(page, opts.event_id)
        return odds_parsed(
            page,
            odds,
            query=odds_query(opts),
            teams=opts.teams,
            snap=snap_label(snap_down(opts.snapshot_timestamp)),
            empty_because=no_odds_because(page, snapshot),
            metadata={
                **snapshot_metadata(snapshot, opts.snapshot_timestamp),
                **self.extra_metadata(odds),
            },
        )
