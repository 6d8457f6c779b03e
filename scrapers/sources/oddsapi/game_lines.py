"""oddsa_game_lines: current spreads and totals (or any game markets) of one Odds API event.

Same endpoint and landing as the props (the event object as served); the completion metadata adds
the spreads and totals row counts (the old documents' spreadsCount and totalsCount).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from scrapers.sources.oddsapi.common import EventOdds, market_counts
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

    def extra_metadata(self, opts: OddsaGameLinesOptions, odds: EventOdds | None) -> dict[str, Any]:
        return market_counts(odds)
