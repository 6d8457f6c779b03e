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
from datetime import date, datetime
from typing import Any

from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    EVENT_ID,
    EVENT_ID_SHAPE,
    KEY,
    KEY_SHAPE,
    TEAMS,
    TEAMS_SHAPE,
    EventOdds,
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


class OddsaPlayerPropsHisOptions(ScraperOptions):
    event_id: str = option(
        "str",
        example="71f5d9b3e7a24c6880d2f4b6a8c0e3d5",
        required=True,
        help="Odds API event id (see oddsa_events_his)",
        pattern=EVENT_ID,
        shape=EVENT_ID_SHAPE,
    )
    game_date: date = option(
        "date", example="2024-01-15", required=True, help="Eastern game date of the event (path only)"
    )
    snapshot_timestamp: datetime = option(
        "datetime",
        example="2024-01-15T23:00:00Z",
        required=True,
        help="snapshot instant (UTC), snapped down to the 5-minute grid",
    )
    sport: str = option(
        "str", example="basketball_nba", default="basketball_nba", pattern=KEY, shape=KEY_SHAPE
    )
    markets: tuple[str, ...] = option(
        "list",
        example="player_points,player_rebounds",
        default="player_points",
        pattern=KEY,
        shape=KEY_SHAPE,
    )
    regions: tuple[str, ...] = option("list", example="us", default="us", pattern=KEY, shape=KEY_SHAPE)
    bookmakers: tuple[str, ...] = option(
        "list",
        example="draftkings,fanduel",
        default="draftkings,fanduel,betmgm,williamhill_us,betrivers,bovada,espnbet,hardrockbet,betonlineag,fliff,betparx,ballybet",
        help="every 10 bookmakers bill as one region",
        pattern=KEY,
        shape=KEY_SHAPE,
    )
    odds_format: str | None = option(
        "choice",
        example="american",
        choices=(
            "american",
            "decimal",
        ),
        aliases=("oddsFormat",),
        help="default is the API's (decimal)",
    )
    teams: str | None = option(
        "str",
        example="OKCLAL",
        help="path suffix AWYHOM when the snapshot is empty (a 204 lands nothing); default: from the body",
        pattern=TEAMS,
        shape=TEAMS_SHAPE,
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
