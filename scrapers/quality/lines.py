"""Box-score stat lines, as the validators read them (`checks.Line`), made joinable across sources.

Each box-score source's `lines.py` reads its landed documents into (game key, team, `Line`) and
hands them here, so every source's `PlayerLine`s carry the same normalised name and NBA tricode.
"""

from __future__ import annotations

from collections.abc import Iterable

from scrapers.core.lines import PlayerLine
from scrapers.nba.keys import player_key, tricode
from scrapers.quality.checks import Line


def player_lines(found: Iterable[tuple[str, str, Line]]) -> list[PlayerLine]:
    """(canonical game key, team as the source writes it, stat line) -> the lines to join on.

    A line whose minutes do not read cannot be compared and is left out (the validators report it).
    """
    return [
        PlayerLine(game, player_key(line.player), line.player, tricode(team), line.minutes, line.points)
        for game, team, line in found
        if line.minutes is not None
    ]
