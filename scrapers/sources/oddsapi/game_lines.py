"""oddsa_game_lines: current spreads and totals (or any game markets) of one Odds API event.

Same endpoint and landing as the props (the event object as served); the completion metadata adds
the spreads and totals row counts (the old documents' spreadsCount and totalsCount).
"""

from __future__ import annotations

from typing import Any

from scrapers.core.options import option
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    KEY,
    KEY_SHAPE,
    EventOdds,
    EventOddsOptions,
    market_counts,
)
from scrapers.sources.oddsapi.player_props import CurrentEventOdds


class OddsaGameLinesOptions(EventOddsOptions):
    """The event-odds options with game-line markets by default."""

    markets: tuple[str, ...] = option(
        "list", example="spreads,totals,h2h", default="spreads,totals", pattern=KEY, shape=KEY_SHAPE
    )


class OddsaGameLines(CurrentEventOdds[OddsaGameLinesOptions]):
    options_type = OddsaGameLinesOptions
    validator = validators.current_odds
    label = "oddsa_game_lines"

    def extra_metadata(self, opts: OddsaGameLinesOptions, odds: EventOdds | None) -> dict[str, Any]:
        return market_counts(odds)
