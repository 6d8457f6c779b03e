"""oddsa_game_lines: current spreads and totals (or any game markets) of one Odds API event.

Same endpoint as the props; the document adds per-market row counts for spreads and totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from scrapers.sources.oddsapi.common import EventOdds
from scrapers.sources.oddsapi.player_props import CurrentEventOdds


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


class OddsaGameLines(CurrentEventOdds[OddsaGameLinesOptions]):
    options_type = OddsaGameLinesOptions
    label = "oddsa_game_lines"

    def market_fields(self, opts: OddsaGameLinesOptions, odds: EventOdds | None) -> dict[str, Any]:
        rows = odds.rows_by_market if odds else {}
        return {"spreadsCount": rows.get("spreads", 0), "totalsCount": rows.get("totals", 0)}
