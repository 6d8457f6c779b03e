"""NBA.com's box scores as per-player lines for `scrapers quality-compare`.

The `lines` of `NbacPlayerBoxscore` (the league game log) and `NbacGamebookPdf`; the stat cells are
read by the same code as their validators, and a player listed as not playing has 0 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapers.core.lines import PlayerLine
from scrapers.nba.keys import game_key
from scrapers.quality.checks import Line, integer, mapping, minutes, objects
from scrapers.quality.lines import player_lines
from scrapers.sources.nbac.box_validators import gamelog_game_key, gamelog_line, result_set


def player_boxscore_lines(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    return player_lines(
        (gamelog_game_key(row), str(row.get("TEAM_ABBREVIATION")), gamelog_line(row))
        for row in result_set(document, "LeagueGameLog")
        if str(row.get("GAME_DATE"))[:10] == day
    )


def gamebook_lines(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    if str(document.get("date"))[:10] != day:
        return []
    key = game_key(day, str(document.get("away_team")), str(document.get("home_team")))
    found: list[tuple[str, str, Line]] = []
    for player in objects(document.get("active_players")):
        stats = mapping(player.get("stats"))
        line = Line(str(player.get("name")), minutes(stats.get("minutes")), integer(stats.get("points")))
        found.append((key, str(player.get("team")), line))
    found += [
        (key, str(player.get("team")), Line(str(player.get("name")), 0.0, 0))
        for player in objects(document.get("dnp_players"))
    ]
    return player_lines(found)
