"""One project-authored game in the landed shape of every box-score source, consistent throughout.

Houston at Philadelphia on 2024-01-15 (invented players): ten players a side whose minutes add up to
240 and whose points add up to the score, landed as BallDontLie box scores and stat lines, an NBA.com
leaguegamelog and gamebook, and an ESPN box score. `halved` cuts the named players' BallDontLie
minutes in half, as the upstream did for weeks in 2025.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

DAY = "2024-01-15"
KEY = "20240115_HOU_PHI"
GAME_ID = "0022300555"
BDL_GAME_ID = 1037593
TIMESTAMP = "2024-01-16T03:00:00.000000+00:00"


@dataclass(frozen=True)
class Player:
    first: str
    last: str
    minutes: int
    fgm: int
    fga: int
    fg3m: int
    fg3a: int
    ftm: int
    fta: int
    oreb: int
    dreb: int

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def points(self) -> int:
        return 2 * self.fgm + self.fg3m + self.ftm

    @property
    def reb(self) -> int:
        return self.oreb + self.dreb


@dataclass(frozen=True)
class Team:
    code: str
    bdl_id: int
    nba_id: int
    name: str
    players: tuple[Player, ...]

    @property
    def score(self) -> int:
        return sum(player.points for player in self.players)


def _team(code: str, bdl_id: int, nba_id: int, name: str, first_names: tuple[str, ...], last: str) -> Team:
    minutes = (
        (36, 34, 32, 30, 28, 24, 22, 16, 12, 6) if code == "PHI" else (38, 35, 33, 31, 27, 25, 20, 15, 10, 6)
    )
    players = tuple(
        Player(
            first=first,
            last=f"{last}{index}",
            minutes=played,
            fgm=played // 4,
            fga=played // 4 + 5,
            fg3m=played // 12,
            fg3a=played // 12 + 2,
            ftm=played // 9,
            fta=played // 9 + 1,
            oreb=index % 3,
            dreb=played // 6,
        )
        for index, (first, played) in enumerate(zip(first_names, minutes, strict=True))
    )
    return Team(code, bdl_id, nba_id, name, players)


AWAY = _team(
    "HOU",
    11,
    1610612745,
    "Houston Rockets",
    ("Arlo", "Bram", "Cyrus", "Dax", "Ezra", "Flint", "Gideon", "Hollis", "Idris", "Jett"),
    "Quillfeather",
)
HOME = _team(
    "PHI",
    23,
    1610612755,
    "Philadelphia 76ers",
    ("Kasimir", "Lorcan", "Magnus", "Nikolai", "Osric", "Percival", "Quentin", "Rafferty", "Soren", "Tobias"),
    "Brightwater",
)


# --- BallDontLie --------------------------------------------------------------------------------


def _bdl_team(team: Team) -> dict[str, Any]:
    return {"id": team.bdl_id, "full_name": team.name, "abbreviation": team.code}


def _player_id(team: Team, player: Player) -> int:
    return team.bdl_id * 100 + team.players.index(player) + 1


def _bdl_line(team: Team, player: Player, minutes: int) -> dict[str, Any]:
    return {
        "min": f"{minutes:02d}",
        **{key: getattr(player, key) for key in ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb")},
        "reb": player.reb,
        "pts": player.points,
        "player": {"id": _player_id(team, player), "first_name": player.first, "last_name": player.last},
    }


def _minutes(player: Player, halved: Collection[str]) -> int:
    return player.minutes // 2 if player.name in halved else player.minutes


def bdl_game(halved: Collection[str] = ()) -> dict[str, Any]:
    """One `/box_scores` row, as the API sends it and bdl_box_scores lands it."""
    return {
        "date": DAY,
        "season": 2023,
        "status": "Final",
        "period": 4,
        "time": "Final",
        "postseason": False,
        "home_team_score": HOME.score,
        "visitor_team_score": AWAY.score,
        **{
            side: {
                **_bdl_team(team),
                "players": [_bdl_line(team, p, _minutes(p, halved)) for p in team.players],
            }
            for side, team in (("home_team", HOME), ("visitor_team", AWAY))
        },
    }


def bdl_box_scores(halved: Collection[str] = ()) -> dict[str, Any]:
    return {"date": DAY, "timestamp": TIMESTAMP, "rowCount": 1, "boxScores": [bdl_game(halved)]}


def bdl_player_box_scores(halved: Collection[str] = ()) -> dict[str, Any]:
    game = {
        "id": BDL_GAME_ID,
        "date": DAY,
        "status": "Final",
        "period": 4,
        "home_team_score": HOME.score,
        "visitor_team_score": AWAY.score,
        "home_team_id": HOME.bdl_id,
        "visitor_team_id": AWAY.bdl_id,
    }
    stats = [
        {
            "id": 14_900_000 + index,
            **_bdl_line(team, player, _minutes(player, halved)),
            "team": _bdl_team(team),
            "game": game,
        }
        for index, (team, player) in enumerate((team, p) for team in (HOME, AWAY) for p in team.players)
    ]
    return {
        "startDate": DAY,
        "endDate": DAY,
        "datesProcessed": [DAY],
        "timestamp": TIMESTAMP,
        "rowCount": len(stats),
        "stats": stats,
    }


# --- NBA.com ------------------------------------------------------------------------------------

GAMELOG_HEADERS = [
    *("SEASON_ID", "PLAYER_ID", "PLAYER_NAME", "TEAM_ID", "TEAM_ABBREVIATION", "TEAM_NAME", "GAME_ID"),
    *("GAME_DATE", "MATCHUP", "WL", "MIN", "FGM", "FGA", "FG_PCT", "FG3M", "FG3A", "FG3_PCT", "FTM", "FTA"),
    *("FT_PCT", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV", "PF", "PTS", "PLUS_MINUS"),
    *("FANTASY_PTS", "VIDEO_AVAILABLE"),
]


def _gamelog_row(team: Team, player: Player, index: int) -> list[Any]:
    home = team is HOME
    won = team.score > (AWAY if home else HOME).score
    values = {
        "SEASON_ID": "22023",
        "PLAYER_ID": 9_300_000 + index,
        "PLAYER_NAME": player.name,
        "TEAM_ID": team.nba_id,
        "TEAM_ABBREVIATION": team.code,
        "TEAM_NAME": team.name,
        "GAME_ID": GAME_ID,
        "GAME_DATE": DAY,
        "MATCHUP": "PHI vs. HOU" if home else "HOU @ PHI",
        "WL": "W" if won else "L",
        "MIN": player.minutes,
        "FGM": player.fgm,
        "FGA": player.fga,
        "FG3M": player.fg3m,
        "FG3A": player.fg3a,
        "FTM": player.ftm,
        "FTA": player.fta,
        "OREB": player.oreb,
        "DREB": player.dreb,
        "REB": player.reb,
        "PTS": player.points,
    }
    return [values.get(header) for header in GAMELOG_HEADERS]


def nbac_player_boxscore() -> dict[str, Any]:
    rows = [
        _gamelog_row(team, p, i)
        for i, (team, p) in enumerate((t, p) for t in (HOME, AWAY) for p in t.players)
    ]
    return {
        "resource": "leaguegamelog",
        "parameters": {"LeagueID": "00", "Season": "2023-24", "DateFrom": DAY, "DateTo": DAY},
        "resultSets": [{"name": "LeagueGameLog", "headers": GAMELOG_HEADERS, "rowSet": rows}],
    }


def _gamebook_player(team: Team, player: Player) -> dict[str, Any]:
    stats = {
        "minutes": f"{player.minutes}:00",
        "field_goals_made": player.fgm,
        "field_goals_attempted": player.fga,
        "three_pointers_made": player.fg3m,
        "three_pointers_attempted": player.fg3a,
        "free_throws_made": player.ftm,
        "free_throws_attempted": player.fta,
        "offensive_rebounds": player.oreb,
        "defensive_rebounds": player.dreb,
        "total_rebounds": player.reb,
        "points": player.points,
    }
    return {"name": player.name, "team": team.name, "status": "active", "stats": stats}


def nbac_gamebook() -> dict[str, Any]:
    active = [_gamebook_player(team, player) for team in (AWAY, HOME) for player in team.players]
    return {
        "game_code": "20240115/HOUPHI",
        "date": DAY,
        "matchup": "HOU@PHI",
        "away_team": "HOU",
        "home_team": "PHI",
        "active_players": active,
        "dnp_players": [],
        "inactive_players": [],
        "total_players": len(active),
        "active_count": len(active),
        "dnp_count": 0,
        "inactive_count": 0,
        "source": "nba_gamebook_pdf",
        "data_status": "complete",
    }


# --- ESPN ---------------------------------------------------------------------------------------


def _espn_player(team: Team, player: Player, index: int, side: str) -> dict[str, Any]:
    stats = [
        str(player.minutes),
        f"{player.fgm}-{player.fga}",
        f"{player.fg3m}-{player.fg3a}",
        f"{player.ftm}-{player.fta}",
        str(player.oreb),
        str(player.dreb),
        str(player.reb),
        "2",
        "1",
        "0",
        "1",
        "2",
        "+1",
        str(player.points),
    ]
    return {
        "playerId": str(5_300_000 + index),
        "playerName": player.name,
        "jersey": str(index),
        "stats": stats,
        "type": "starters" if index % 10 < 5 else "bench",
        "team": team.code,
        "teamType": side,
    }


def espn_boxscore() -> dict[str, Any]:
    players = [
        _espn_player(team, player, index, side)
        for side, team in (("away", AWAY), ("home", HOME))
        for index, player in enumerate(team.players, start=0 if side == "away" else 10)
    ]
    return {
        "game_id": "401585183",
        "gamedate": DAY,
        "timestamp": TIMESTAMP,
        "teams": {"away": AWAY.code, "home": HOME.code},
        "playerCount": len(players),
        "players": players,
    }


def halved_names(count: int = 4) -> list[str]:
    """The BallDontLie players whose minutes the incident cut: PHI's first `count` players."""
    return [player.name for player in HOME.players[:count]]


def mutable(document: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(document)
