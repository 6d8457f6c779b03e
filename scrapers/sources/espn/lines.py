"""ESPN's box score as per-player lines for `scrapers quality-compare`.

The `lines` of `EspnBoxscore`; the stat cells are read by the same code as its validator, and a
player who did not play (no stat cells) has 0 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapers.core.lines import PlayerLine
from scrapers.nba.keys import game_key
from scrapers.quality.checks import mapping, objects
from scrapers.quality.lines import player_lines
from scrapers.sources.espn.validators import stat_line


def boxscore_lines(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    if str(document.get("gamedate"))[:10] != day:
        return []
    sides = mapping(document.get("teams"))
    key = game_key(day, str(sides.get("away")), str(sides.get("home")))
    return player_lines(
        (key, str(player.get("team")), stat_line(player)) for player in objects(document.get("players"))
    )
