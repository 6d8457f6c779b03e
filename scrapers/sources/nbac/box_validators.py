"""Data-quality checks of NBA.com box scores: leaguegamelog, boxscoretraditionalv3 and gamebooks.

They must add up: team minutes to 240 (+25 per overtime; these documents do not say how many periods
were played, so the overtimes are read from the larger team total of the game and both teams must
agree), made <= attempted, rebounds and the points formula; leaguegamelog's W team scored more.
Registered in `scrapers.sources.nbac.validators`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.core.verdict import Check, Document, Options, Status
from scrapers.nba.keys import game_key
from scrapers.quality.checks import (
    OVERTIME_TEAM_MINUTES,
    REGULATION_TEAM_MINUTES,
    Line,
    Row,
    TeamBox,
    box_score_checks,
    count_matches,
    dig,
    ids_present,
    integer,
    judged,
    listed,
    mapping,
    minutes,
    objects,
    periods_from_minutes,
    row_fields,
    structure,
    unique,
    with_periods_read,
)

# --- stats.nba.com result sets ---------------------------------------------------------------------


def _result_set(document: Document, name: str) -> tuple[list[str], list[list[Any]]]:
    for item in objects(document.get("resultSets")):
        if item.get("name") == name:
            headers, rows = listed(item.get("headers")), listed(item.get("rowSet"))
            return [str(header) for header in headers], [row for row in rows if isinstance(row, list)]
    return [], []


def result_set(document: Document, name: str) -> list[Row]:
    """The rows of a named stats.nba.com result set, as objects keyed by its headers."""
    headers, rows = _result_set(document, name)
    return [dict(zip(headers, row, strict=False)) for row in rows]


def result_set_checks(
    document: Document, name: str, required: Sequence[str]
) -> tuple[list[Check], list[Row]]:
    """Structure of a stats.nba.com resultSets answer; the named set's rows as objects."""
    headers, rows = _result_set(document, name)
    checks = [
        *structure(document, {"resource": str, "parameters": dict, "resultSets": list}),
        judged("result_set", [] if headers else [f"no '{name}' set with headers"], 1, "result sets"),
        judged(
            "required_columns",
            [f"missing {column}" for column in required if column not in headers],
            len(required),
            "columns",
        ),
        judged(
            "row_width",
            [
                f"row {index} has {len(row)} cells"
                for index, row in enumerate(rows)
                if len(row) != len(headers)
            ],
            len(rows),
            "rows",
        ),
    ]
    return checks, [dict(zip(headers, row, strict=False)) for row in rows]


def _two_teams(teams_by_game: Mapping[str, set[str]]) -> Check:
    problems = [
        f"{game}: {', '.join(sorted(teams)) or 'none'}"
        for game, teams in teams_by_game.items()
        if len(teams) != 2
    ]
    return judged("both_teams_present", problems, len(teams_by_game), "games")


# --- box scores -------------------------------------------------------------------------------------

GAMELOG_COLUMNS = (
    *("GAME_ID", "GAME_DATE", "MATCHUP", "WL", "PLAYER_ID", "PLAYER_NAME", "TEAM_ABBREVIATION", "MIN"),
    *("FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "PTS"),
)


def gamelog_line(row: Row) -> Line:
    stat = {key: integer(row.get(key)) for key in GAMELOG_COLUMNS[8:]}
    return Line(
        player=str(row.get("PLAYER_NAME") or row.get("PLAYER_ID")),
        minutes=minutes(row.get("MIN")),
        points=stat["PTS"],
        fgm=stat["FGM"],
        fga=stat["FGA"],
        fg3m=stat["FG3M"],
        fg3a=stat["FG3A"],
        ftm=stat["FTM"],
        fta=stat["FTA"],
        oreb=stat["OREB"],
        dreb=stat["DREB"],
        reb=stat["REB"],
    )


def gamelog_game_key(row: Row) -> str:
    """`PHI vs. HOU` (home first) or `HOU @ PHI` (away first), on the row's game date."""
    matchup = str(row.get("MATCHUP") or "")
    day = str(row.get("GAME_DATE") or "")
    if " @ " in matchup:
        away, home = matchup.split(" @ ", 1)
        return game_key(day, away, home)
    home, _, away = matchup.partition(" vs. ")
    return game_key(day, away or "?", home)


def player_boxscore(document: Document, options: Options) -> list[Check]:
    checks, rows = result_set_checks(document, "LeagueGameLog", GAMELOG_COLUMNS)
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(gamelog_game_key(row), str(row.get("TEAM_ABBREVIATION")))].append(row)
    teams = with_periods_read(
        [
            TeamBox(game, team, tuple(gamelog_line(row) for row in group))
            for (game, team), group in groups.items()
        ]
    )
    teams_by_game: dict[str, set[str]] = defaultdict(set)
    for game, team in groups:
        teams_by_game[game].add(team)
    return [
        *checks,
        ids_present(rows, lambda row: row.get("PLAYER_ID"), "player lines", name="player_ids"),
        ids_present(rows, lambda row: row.get("GAME_ID"), "player lines", name="game_ids"),
        unique(
            ((row.get("GAME_ID"), row.get("PLAYER_ID")) for row in rows),
            "player games",
            "one_line_per_player_game",
        ),
        _two_teams(teams_by_game),
        _winner_scored_more(groups),
        *box_score_checks(teams),
    ]


def _winner_scored_more(groups: Mapping[tuple[str, str], list[Row]]) -> Check:
    """The team a row marks W scored more than the team marked L (summed from the player lines)."""
    games: dict[str, dict[str, int]] = defaultdict(dict)
    for (game, _), rows in groups.items():
        result = str(rows[0].get("WL"))
        games[game][result] = sum(integer(row.get("PTS")) or 0 for row in rows)
    decided = {game: sides for game, sides in games.items() if set(sides) == {"W", "L"}}
    problems = [
        f"{game}: W {sides['W']}, L {sides['L']}"
        for game, sides in decided.items()
        if sides["W"] <= sides["L"]
    ]
    return judged("winner_scored_more", problems, len(decided), "games")


def team_boxscore(document: Document, options: Options) -> list[Check]:
    teams = objects(document.get("teams"))
    lines = [
        TeamBox(
            str(document.get("gameId")),
            str(team.get("teamAbbreviation")),
            (_team_total_line(team),),
            score=integer(team.get("points")),
        )
        for team in teams
    ]
    totals = [line.lines[0].minutes or 0.0 for line in lines]
    periods = periods_from_minutes(totals)
    expected = REGULATION_TEAM_MINUTES + OVERTIME_TEAM_MINUTES * (periods - 4)
    scores = [integer(team.get("points")) for team in teams]
    return [
        *structure(
            document, {"timestamp": str, "gameId": str, "gameDate": str, "teamCount": int, "teams": list}
        ),
        row_fields(
            document.get("teams"),
            {"teamId": int, "teamAbbreviation": str, "minutes": str, "points": int, "fieldGoals": dict},
            "teams",
        ),
        count_matches(document, "teamCount", len(teams)),
        judged("both_teams_present", [] if len(teams) == 2 else [f"{len(teams)} teams"], 1, "games"),
        judged(
            "team_minutes",
            [
                f"{line.team}: {total:.1f} of {expected}"
                for line, total in zip(lines, totals, strict=True)
                if abs(total - expected) > 1
            ],
            len(lines),
            "teams",
        ),
        judged(
            "final_scores",
            [f"tied {scores}"] if len(scores) == 2 and scores[0] == scores[1] else [],
            1,
            "games",
        ),
        *[check for check in box_score_checks(lines) if check.name not in ("team_minutes", "team_points")],
    ]


def _team_total_line(team: Row) -> Line:
    def part(group: str, key: str) -> int | None:
        return integer(dig(team, group, key))

    return Line(
        player=f"{team.get('teamAbbreviation')} totals",
        minutes=minutes(team.get("minutes")),
        points=integer(team.get("points")),
        fgm=part("fieldGoals", "made"),
        fga=part("fieldGoals", "attempted"),
        fg3m=part("threePointers", "made"),
        fg3a=part("threePointers", "attempted"),
        ftm=part("freeThrows", "made"),
        fta=part("freeThrows", "attempted"),
        oreb=part("rebounds", "offensive"),
        dreb=part("rebounds", "defensive"),
        reb=part("rebounds", "total"),
    )


GAMEBOOK_STATS = {
    "points": "points",
    "fgm": "field_goals_made",
    "fga": "field_goals_attempted",
    "fg3m": "three_pointers_made",
    "fg3a": "three_pointers_attempted",
    "ftm": "free_throws_made",
    "fta": "free_throws_attempted",
    "oreb": "offensive_rebounds",
    "dreb": "defensive_rebounds",
    "reb": "total_rebounds",
}


def gamebook(document: Document, options: Options) -> list[Check]:
    active = objects(document.get("active_players"))
    away, home = str(document.get("away_team") or ""), str(document.get("home_team") or "")
    key = game_key(str(document.get("date") or ""), away, home)
    by_team: dict[str, list[Line]] = defaultdict(list)
    for player in active:
        stats = mapping(player.get("stats"))
        by_team[str(player.get("team"))].append(
            Line(
                player=str(player.get("name")),
                minutes=minutes(stats.get("minutes")),
                **{field: integer(stats.get(name)) for field, name in GAMEBOOK_STATS.items()},
            )
        )
    teams = with_periods_read(
        [TeamBox(key, team, tuple(lines), whole_minutes=False) for team, lines in by_team.items()]
    )
    lists = ("active_players", "dnp_players", "inactive_players")
    counted = sum(len(objects(document.get(name))) for name in lists)
    return [
        *structure(
            document,
            {
                "game_code": str,
                "date": str,
                "away_team": str,
                "home_team": str,
                "active_players": list,
                "dnp_players": list,
                "inactive_players": list,
                "total_players": int,
            },
        ),
        row_fields(
            document.get("active_players"), {"name": str, "team": str, "stats": dict}, "active players"
        ),
        count_matches(document, "active_count", len(active), "active_count_matches"),
        count_matches(document, "total_players", counted),
        judged(
            "game_code_matches",
            []
            if document.get("game_code") == f"{key[:8]}/{away}{home}"
            and document.get("matchup") == f"{away}@{home}"
            else [f"{document.get('game_code')!r} / {document.get('matchup')!r} vs {away}@{home}"],
            1,
            "games",
        ),
        judged(
            "both_teams_present",
            [] if len(by_team) == 2 else [f"{len(by_team)} teams with players"],
            1,
            "games",
        ),
        judged(
            "parser_complete",
            []
            if document.get("data_status") == "complete"
            else [f"data_status {document.get('data_status')!r}"],
            1,
            "gamebooks",
            Status.WARN,
        ),
        *box_score_checks(teams),
    ]
