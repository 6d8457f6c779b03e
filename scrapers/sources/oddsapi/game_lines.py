"""oddsa_game_lines: current spreads and totals (or any game markets) of one Odds API event.

Same endpoint and landing as the props (the event object as served); the completion metadata adds
the spreads and totals row counts (the old documents' spreadsCount and totalsCount).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from scrapers.core.options import ScraperOptions, option
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    EVENT_ID,
    EVENT_ID_SHAPE,
    KEY,
    KEY_SHAPE,
    TEAMS,
    TEAMS_SHAPE,
    EventOdds,
    market_counts,
)
from scrapers.sources.oddsapi.player_props import CurrentEventOdds


class OddsaGameLinesOptions(ScraperOptions):
    event_id: str = option(
        "str",
        example="e2a6c4f8b1d34e79a5c0b3d7f9e1a2c4",
        required=True,
        help="Odds API event id (see oddsa_events)",
        pattern=EVENT_ID,
        shape=EVENT_ID_SHAPE,
    )
    game_date: date = option(
        "date", example="2024-01-15", required=True, help="Eastern game date of the event (path only)"
    )
    sport: str = option(
        "str", example="basketball_nba", default="basketball_nba", pattern=KEY, shape=KEY_SHAPE
    )
    markets: tuple[str, ...] = option(
        "list", example="spreads,totals,h2h", default="spreads,totals", pattern=KEY, shape=KEY_SHAPE
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
        example="GSWMEM",
        help="AWYHOM for the completion's teams when a 204 names none; default: from the body",
        pattern=TEAMS,
        shape=TEAMS_SHAPE,
    )


class OddsaGameLines(CurrentEventOdds[OddsaGameLinesOptions]):
    options_type = OddsaGameLinesOptions
    validator = validators.current_odds
    label = "oddsa_game_lines"

    def extra_metadata(self, opts: OddsaGameLinesOptions, odds: EventOdds | None) -> dict[str, Any]:
        return market_counts(odds)
