"""oddsa_game_lines: current spreads and totals (or any game markets) of one Odds API event.

Same endpoint as the props; the document adds per-market row counts for spreads and totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scrapers.core.outcome import Outcome
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.http.request import Page, Request
from scrapers.sources.oddsapi.common import (
    event_odds_request,
    no_odds_because,
    odds_parsed,
    odds_query,
    only_page,
    read_event_odds,
    snap_label,
)


@dataclass(frozen=True)
class OddsaGameLinesOptions:
    event_id: str
    game_date: date
    sport: str
    markets: tuple[str, ...]
    regions: tuple[str, ...]
    bookmakers: tuple[str, ...]
    oddsFormat: str | None
    teams: str | None


class OddsaGameLines(Scraper[OddsaGameLinesOptions]):
    options_type = OddsaGameLinesOptions
    date_option = "game_date"
    path_fields = frozenset({"teams", "snap"})

    def requests(self, opts: OddsaGameLinesOptions) -> Sequence[Request]:
        return (event_odds_request(odds_query(opts)),)

    def quota_cost(self, opts: OddsaGameLinesOptions) -> int:
        return odds_query(opts).cost(historical=False)

    def parse(self, opts: OddsaGameLinesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, "oddsa_game_lines")
        query = odds_query(opts)
        odds = None if page.outcome is Outcome.NO_DATA else read_event_odds(page.data, opts.event_id)
        rows = odds.rows_by_market if odds else {}
        document = {
            "sport": opts.sport,
            "eventId": opts.event_id,
            "markets": query.markets_text,
            "regions": query.regions_text,
            "rowCount": odds.row_count if odds else 0,
            "spreadsCount": rows.get("spreads", 0),
            "totalsCount": rows.get("totals", 0),
            "odds": page.data,
        }
        return odds_parsed(
            document,
            odds,
            query=query,
            teams=opts.teams,
            snap=snap_label(ctx.fetched_at),
            empty_because=no_odds_because(page),
        )
