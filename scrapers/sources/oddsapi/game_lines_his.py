"""oddsa_game_lines_his: one event's spreads and totals at a historical snapshot.

Same endpoint, snapshot handling and landing as oddsa_player_props_his; the completion metadata
adds the spreads and totals row counts (the old documents' spreadsCount and totalsCount).
"""

from __future__ import annotations

from typing import Any

from scrapers.core.options import option
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import KEY, KEY_SHAPE, EventOdds, market_counts
from scrapers.sources.oddsapi.player_props_his import OddsaPlayerPropsHis, OddsaPlayerPropsHisOptions


# The same options as the historical props (registry.yaml lists the same names and defaults shape).
class OddsaGameLinesHisOptions(OddsaPlayerPropsHisOptions):
    """The historical props options with game-line markets by default."""

    markets: tuple[str, ...] = option(
        "list", example="spreads,totals", default="spreads,totals", pattern=KEY, shape=KEY_SHAPE
    )


class OddsaGameLinesHis(OddsaPlayerPropsHis):
    options_type = OddsaGameLinesHisOptions
    validator = validators.historical_odds
    label = "oddsa_game_lines_his"

    def extra_metadata(self, odds: EventOdds | None) -> dict[str, Any]:
        return market_counts(odds)
