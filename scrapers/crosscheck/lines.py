"""Per-player minutes and points of each box-score source, keyed for joining across sources.

Every landed box score is read into `PlayerLine`s keyed by the canonical game key and a normalised
player name; the sources' own stat cells are read with the same code their validators use. A player
listed as not playing has 0 minutes, so "played in one source, absent from the other's minutes"
shows up instead of hiding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scrapers.nba.keys import game_key, player_key, tricode
from scrapers.quality.checks import Line, Row, dig, integer, mapping, minutes, objects
from scrapers.sources.bdl.validators import stat_line as bdl_line
from scrapers.sources.espn.validators import stat_line as espn_line
from scrapers.sources.nbac.box_validators import gamelog_game_key, gamelog_line, result_set


@dataclass(frozen=True)
class PlayerLine:
    game: str  # YYYYMMDD_AWY_HOM
    player: str  # normalised name: the join key within a game
    name: str  # as the source writes it
    team: str  # NBA tricode
    minutes: float
    points: int | None


Extractor = Callable[[Mapping[str, Any], str], list[PlayerLine]]


def _player_line(game: str, team: str, line: Line) -> PlayerLine | None:
    if line.minutes is None:
        return None  # unreadable minutes cannot be compared (the validators report them)
    return PlayerLine(game, player_key(line.player), line.player, tricode(team), line.minutes, line.points)


def _kept(lines: list[PlayerLine | None]) -> list[PlayerLine]:
    return [line for line in lines if line is not None]


def bdl_box_scores(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    lines: list[PlayerLine | None] = []
    for game in objects(document.get("boxScores")):
        if str(game.get("date"))[:10] != day:
            continue
        away, home = mapping(game.get("visitor_team")), mapping(game.get("home_team"))
        key = game_key(day, str(away.get("abbreviation")), str(home.get("abbreviation")))
        for team in (away, home):
            team_code = str(team.get("abbreviation"))
            lines += [_player_line(key, team_code, bdl_line(row)) for row in objects(team.get("players"))]
    return _kept(lines)


def bdl_player_box_scores(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    rows = [row for row in objects(document.get("stats")) if str(dig(row, "game", "date"))[:10] == day]
    codes: dict[object, dict[object, str]] = defaultdict(dict)  # game id -> team id -> code
    for row in rows:
        codes[dig(row, "game", "id")][dig(row, "team", "id")] = str(dig(row, "team", "abbreviation"))
    lines: list[PlayerLine | None] = []
    for row in rows:
        game = mapping(row.get("game"))
        teams = codes[game.get("id")]
        away, home = teams.get(game.get("visitor_team_id")), teams.get(game.get("home_team_id"))
        if away is None or home is None:
            continue  # only one team's lines landed: no canonical key to join on
        lines.append(
            _player_line(game_key(day, away, home), str(dig(row, "team", "abbreviation")), bdl_line(row))
        )
    return _kept(lines)


def nbac_player_boxscore(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    return _kept(
        [
            _player_line(gamelog_game_key(row), str(row.get("TEAM_ABBREVIATION")), gamelog_line(row))
            for row in result_set(document, "LeagueGameLog")
            if str(row.get("GAME_DATE"))[:10] == day
        ]
    )


def nbac_gamebook_pdf(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    if str(document.get("date"))[:10] != day:
        return []
    key = game_key(day, str(document.get("away_team")), str(document.get("home_team")))
    lines: list[PlayerLine | None] = []
    for player in objects(document.get("active_players")):
        stats = mapping(player.get("stats"))
        line = Line(str(player.get("name")), minutes(stats.get("minutes")), integer(stats.get("points")))
        lines.append(_player_line(key, str(player.get("team")), line))
    lines += [
        _player_line(key, str(player.get("team")), Line(str(player.get("name")), 0.0, 0))
        for player in objects(document.get("dnp_players"))
    ]
    return _kept(lines)


def espn_game_boxscore(document: Mapping[str, Any], day: str) -> list[PlayerLine]:
    if str(document.get("gamedate"))[:10] != day:
        return []
    sides = mapping(document.get("teams"))
    key = game_key(day, str(sides.get("away")), str(sides.get("home")))
    players: list[Row] = objects(document.get("players"))
    return _kept([_player_line(key, str(player.get("team")), espn_line(player)) for player in players])


# The box-score scrapers compared, in report order; names are registry names.
EXTRACTORS: Mapping[str, Extractor] = {
    "bdl_box_scores": bdl_box_scores,
    "bdl_player_box_scores": bdl_player_box_scores,
    "nbac_player_boxscore": nbac_player_boxscore,
    "nbac_gamebook_pdf": nbac_gamebook_pdf,
    "espn_game_boxscore": espn_game_boxscore,
}
