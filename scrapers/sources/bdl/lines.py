"""BallDontLie's box scores as per-player lines for `scrapers quality-compare`.

The `lines` of `BdlBoxScores` and `BdlPlayerBoxScores`; the stat cells are read by the same code as
their validators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from scrapers.core.lines import PlayerLine
from scrapers.nba.keys import game_key
from scrapers.quality.checks import Line, dig, mapping, objects
from scrapers.quality.lines import player_lines
from scrapers.sources.bdl.validators import stat_line


def box_score_lines(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    found: list[tuple[str, str, Line]] = []
    for game in objects(document.get("boxScores")):
        if str(game.get("date"))[:10] != day:
            continue
        away, home = mapping(game.get("visitor_team")), mapping(game.get("home_team"))
        key = game_key(day, str(away.get("abbreviation")), str(home.get("abbreviation")))
        for team in (away, home):
            code = str(team.get("abbreviation"))
            found += [(key, code, stat_line(row)) for row in objects(team.get("players"))]
    return player_lines(found)


def player_box_score_lines(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    rows = [row for row in objects(document.get("stats")) if str(dig(row, "game", "date"))[:10] == day]
    codes: dict[object, dict[object, str]] = defaultdict(dict)  # game id -> team id -> code
    for row in rows:
        codes[dig(row, "game", "id")][dig(row, "team", "id")] = str(dig(row, "team", "abbreviation"))
    found: list[tuple[str, str, Line]] = []
    for row in rows:
        game = mapping(row.get("game"))
        teams = codes[game.get("id")]
        away, home = teams.get(game.get("visitor_team_id")), teams.get(game.get("home_team_id"))
        if away is None or home is None:
            continue  # only one team's lines landed: no canonical key to join on
        found.append((game_key(day, away, home), str(dig(row, "team", "abbreviation")), stat_line(row)))
    return player_lines(found)
