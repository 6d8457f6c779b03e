"""The per-player line of a box score, as `scrapers quality-compare` joins it across sources.

A box-score scraper declares `lines = <extractor>` on its class; the extractor reads one landed
document into `PlayerLine`s keyed by the canonical game key and a normalised player name, and
`scrapers.crosscheck` compares every pair of sources that hold the same game.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlayerLine:
    game: str  # YYYYMMDD_AWY_HOM
    player: str  # normalised name: the join key within a game
    name: str  # as the source writes it
    team: str  # NBA tricode
    minutes: float
    points: int | None


# (a landed document, the day YYYY-MM-DD) -> the lines of that day's games in the document.
LineExtractor = Callable[[Mapping[str, Any], str], list[PlayerLine]]
