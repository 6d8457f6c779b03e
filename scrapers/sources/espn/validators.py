"""Data-quality checks of every ESPN document (see scrapers/quality).

The box score lands each player's 14 stat cells as text ("36", "9-17", "+5"); they are read into
numbers here, and each team's minutes must add up (ESPN rounds a player's minutes, so the team sum
may be off by half a minute per player).
"""

from __future__ import annotations

from collections import defaultdict

from scrapers.core.verdict import Check, Document, Options
from scrapers.nba.keys import game_key, is_nba_team
from scrapers.quality.checks import (
    MAX_GAMES_PER_DATE,
    Line,
    Row,
    TeamBox,
    box_score_checks,
    count_matches,
    ids_present,
    integer,
    judged,
    listed,
    mapping,
    minutes,
    objects,
    roster_sanity,
    row_fields,
    structure,
    team_once_per_date,
    unique,
    with_periods_read,
)
from scrapers.sources.espn.stat_columns import STAT_LABELS

FINAL_STATE = "post"
COLUMN = {label: index for index, label in enumerate(STAT_LABELS)}


# --- box score ----------------------------------------------------------------------------------


def _made_attempted(cell: object) -> tuple[int | None, int | None]:
    made, _, tried = str(cell).partition("-")
    return integer(made), integer(tried)


def stat_line(player: Row) -> Line:
    """A landed player's line; a DNP (no stat cells) played no minutes."""
    cells = listed(player.get("stats"))
    name = str(player.get("playerName") or player.get("playerId"))
    if not cells:
        return Line(player=name, minutes=0.0)
    if len(cells) != len(STAT_LABELS):
        return Line(player=name, minutes=None)  # reported by `stat_columns`
    fgm, fga = _made_attempted(cells[COLUMN["FG"]])
    fg3m, fg3a = _made_attempted(cells[COLUMN["3PT"]])
    ftm, fta = _made_attempted(cells[COLUMN["FT"]])
    return Line(
        player=name,
        minutes=minutes(cells[COLUMN["MIN"]]),
        points=integer(cells[COLUMN["PTS"]]),
        fgm=fgm,
        fga=fga,
        fg3m=fg3m,
        fg3a=fg3a,
        ftm=ftm,
        fta=fta,
        oreb=integer(cells[COLUMN["OREB"]]),
        dreb=integer(cells[COLUMN["DREB"]]),
        reb=integer(cells[COLUMN["REB"]]),
    )


def boxscore(document: Document, options: Options) -> list[Check]:
    players = objects(document.get("players"))
    sides = mapping(document.get("teams"))
    key = game_key(
        str(document.get("gamedate") or ""), str(sides.get("away", "?")), str(sides.get("home", "?"))
    )
    by_team: dict[str, list[Line]] = defaultdict(list)
    for player in players:
        by_team[str(player.get("team"))].append(stat_line(player))
    teams = with_periods_read([TeamBox(key, team, tuple(lines)) for team, lines in by_team.items()])
    return [
        *structure(
            document, {"game_id": str, "gamedate": str, "teams": dict, "playerCount": int, "players": list}
        ),
        row_fields(
            document.get("players"),
            {"playerId": str, "playerName": str, "stats": list, "team": str, "teamType": str},
            "players",
        ),
        count_matches(document, "playerCount", len(players)),
        ids_present(players, lambda player: player.get("playerId"), "players"),
        unique((player.get("playerId") for player in players), "player ids"),
        judged(
            "stat_columns",
            [
                f"{player.get('playerName')}: {len(player.get('stats') or [])} cells"
                for player in players
                if len(player.get("stats") or []) not in (0, len(STAT_LABELS))
            ],
            len(players),
            "players",
        ),
        judged(
            "both_teams_present",
            []
            if set(by_team) == {sides.get("away"), sides.get("home")}
            else [f"teams {sorted(by_team)} vs {dict(sides)}"],
            1,
            "games",
        ),
        *box_score_checks(teams),
    ]


# --- scoreboard ---------------------------------------------------------------------------------


def _sides(game: Row) -> dict[str, Row]:
    return {str(team.get("homeAway")): team for team in objects(game.get("teams"))}


def scoreboard(document: Document, options: Options) -> list[Check]:
    games = objects(document.get("games"))
    day = str(document.get("gamedate") or "")
    finals = [game for game in games if game.get("state") == FINAL_STATE]
    return [
        *structure(document, {"timestamp": str, "gamedate": str, "gameCount": int, "games": list}),
        row_fields(document.get("games"), {"gameId": str, "state": str, "teams": list}, "games"),
        count_matches(document, "gameCount", len(games)),
        ids_present(games, lambda game: game.get("gameId"), "games"),
        unique((game.get("gameId") for game in games), "game ids"),
        judged(
            "home_and_away",
            [str(game.get("gameId")) for game in games if set(_sides(game)) != {"home", "away"}],
            len(games),
            "games",
        ),
        team_once_per_date(
            (day, str(team.get("abbreviation")))
            for game in games
            for team in objects(game.get("teams"))
            if is_nba_team(str(team.get("abbreviation")))
        ),
        judged(
            "games_per_date", [f"{len(games)} games"] if len(games) > MAX_GAMES_PER_DATE else [], 1, "dates"
        ),
        judged(
            "final_scores",
            [problem for game in finals if (problem := _final_problem(game))],
            len(finals),
            "final games",
        ),
    ]


def _final_problem(game: Row) -> str | None:
    """A final game has two different scores, and the team marked winner has the higher one."""
    teams = objects(game.get("teams"))
    scores = [integer(team.get("score")) for team in teams]
    if len(teams) != 2 or None in scores or scores[0] == scores[1]:
        return f"{game.get('gameId')}: scores {scores}"
    winner = max(teams, key=lambda team: integer(team.get("score")) or 0)
    if winner.get("winner") is not True:
        return f"{game.get('gameId')}: {winner.get('abbreviation')} scored more but is not the winner"
    return None


# --- roster -------------------------------------------------------------------------------------


def roster(document: Document, options: Options) -> list[Check]:
    players = objects(document.get("players"))
    return [
        *structure(
            document,
            {"team_abbr": str, "espn_team_id": int, "teamName": str, "playerCount": int, "players": list},
        ),
        row_fields(document.get("players"), {"playerId": str, "fullName": str}, "players"),
        count_matches(document, "playerCount", len(players)),
        ids_present(players, lambda player: player.get("playerId"), "players"),
        unique((player.get("playerId") for player in players), "player ids"),
        *roster_sanity(document.get("team_abbr"), players),
    ]
