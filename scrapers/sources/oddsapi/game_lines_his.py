"""oddsa_game_lines_his: one event's spreads and totals at a historical snapshot.

Same endpoint and snapshot handling as oddsa_player_props_his; the document adds per-market row
counts for spreads and totals.
"""

from __future__ import annotations

from typing import Any

from scrapers.sources.oddsapi.common import EventOdds
from scrapers.sources.oddsapi.player_props_his import OddsaPlayerPropsHis, OddsaPlayerPropsHisOptions

# The same options as the historical props (registry.yaml lists the same names and defaults shape).
OddsaGameLinesHisOptions = OddsaPlayerPropsHisOptions


class OddsaGameLinesHis(OddsaPlayerPropsHis):
    label = "oddsa_game_lines_his"

    def market_fields(self, odds: EventOdds | None) -> dict[str, Any]:
        rows = odds.rows_by_market if odds else {}
        return {"spreadsCount": rows.get("spreads", 0), "totalsCount": rows.get("totals", 0)}
