"""oddsa_game_lines_his: one event's spreads and totals at a historical snapshot.

Same endpoint and snapshot handling as oddsa_player_props_his; the document adds per-market row
counts for spreads and totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.http.request import Page, Request
from scrapers.sources.oddsapi.common import (
    event_odds_request,
    no_odds_because,
    odds_parsed,
    odds_query,
    only_page,
    read_historical_odds,
    snap_down,
    snap_label,
    snapshot_fields,
)


@dataclass(frozen=True)
class OddsaGameLinesHisOptions:
    event_id: str
    game_date: date
    snapshot_timestamp: datetime
    sport: str
    markets: tuple[str, ...]
    regions: tuple[str, ...]
    bookmakers: tuple[str, ...]
    oddsFormat: str | None
    teams: str | None


class OddsaGameLinesHis(Scraper[OddsaGameLinesHisOptions]):
    options_type = OddsaGameLinesHisOptions
    date_option = "game_date"
    path_fields = frozenset({"teams", "snap"})

    def requests(self, opts: OddsaGameLinesHisOptions) -> Sequence[Request]:
        return (event_odds_request(odds_query(opts), snapshot=opts.snapshot_timestamp),)

    def quota_cost(self, opts: OddsaGameLinesHisOptions) -> int:
        return odds_query(opts).cost(historical=True)

    def parse(self, opts: OddsaGameLinesHisOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, "oddsa_game_lines_his")
        query = odds_query(opts)
        snapshot, odds = read_historical_odds(page, opts.event_id)
        rows = odds.rows_by_market if odds else {}
        document = {
            "sport": opts.sport,
            "eventId": opts.event_id,
            **snapshot_fields(snapshot, opts.snapshot_timestamp),
            "regions": query.regions_text,
            "markets": query.markets_text,
            "rowCount": odds.row_count if odds else 0,
            "spreadsCount": rows.get("spreads", 0),
            "totalsCount": rows.get("totals", 0),
            "eventOdds": snapshot.data if snapshot else None,
        }
        return odds_parsed(
            document,
            odds,
            query=query,
            teams=opts.teams,
            snap=snap_label(snap_down(opts.snapshot_timestamp)),
            empty_because=no_odds_because(page, snapshot),
        )
