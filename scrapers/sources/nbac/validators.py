"""Data-quality checks of every NBA.com document (see scrapers/quality).

Scoreboards and schedules must fit a day and a season (unique ids, no team twice a day, season
bounds, quarters adding up to the score); play-by-play scores never go down and periods run in
order; injury reports use the report's statuses and name a team of the matchup. The box scores'
arithmetic lives in box_validators.py; this module declares every NBA.com scraper's validator.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from scrapers.core.verdict import Check, Document, Options, Status
from scrapers.nba.keys import is_nba_team
from scrapers.quality.checks import (
    MAX_GAMES_PER_DATE,
    NUMBER,
    Row,
    count_matches,
    dig,
    ids_present,
    integer,
    is_blank,
    judged,
    listed,
    mapping,
    objects,
    roster_sanity,
    row_fields,
    structure,
    team_once_per_date,
    unique,
)
from scrapers.sources.nbac.box_validators import result_set_checks
from scrapers.sources.nbac.injury_report_parser import KNOWN_STATUSES

FINAL_STATUS = 3  # gameStatus of a finished game
GAME_ID = re.compile(r"^00[1-6]\d{7}$")  # 00 + season type + season yy + number
MATCHUP = re.compile(r"^([A-Z]{3})@([A-Z]{3})$")
# Season bounds by the game id's season-type digit (the `isRegularSeason` flag is true for playoff
# games too): 1230 regular-season games, 82 per team (the Cup final is type 6 and not among them);
# 15 series of at most 7 playoff games, at most 28 per team; 6 play-in games, at most 2 per team.
SEASON_BOUNDS: Mapping[str, tuple[str, int, int]] = {
    "2": ("regular-season", 1230, 82),
    "4": ("playoff", 105, 28),
    "5": ("play-in", 6, 2),
}


# --- shared -----------------------------------------------------------------------------------------


def _game_list_checks(
    rows: list[Row], day_of: Callable[[Row], str], teams_of: Callable[[Row], Iterable[str]]
) -> list[Check]:
    per_date = Counter(day_of(row) for row in rows)
    return [
        team_once_per_date(
            (day_of(row), team) for row in rows for team in teams_of(row) if is_nba_team(team)
        ),
        judged(
            "games_per_date",
            [f"{day}: {count} games" for day, count in per_date.items() if count > MAX_GAMES_PER_DATE],
            len(per_date),
            "dates",
        ),
    ]


# --- scoreboard and schedules -----------------------------------------------------------------------


def scoreboard_v2(document: Document, options: Options) -> list[Check]:
    games = objects(document.get("games"))
    finals = [game for game in games if game.get("gameStatus") == FINAL_STATUS]
    lines = [(game, _side_line(game, side)) for game in finals for side in ("home", "away")]
    return [
        *structure(
            document, {"timestamp": str, "gamedate": str, "gameCount": int, "games": list, "source": str}
        ),
        row_fields(
            document.get("games"),
            {
                "gameId": str,
                "gameCode": str,
                "gameStatus": int,
                "state": str,
                "home": str,
                "away": str,
                "teams": dict,
            },
            "games",
        ),
        count_matches(document, "gameCount", len(games)),
        ids_present(games, lambda game: game.get("gameId"), "games"),
        unique((game.get("gameId") for game in games), "game ids"),
        *_game_list_checks(games, lambda game: str(document.get("gamedate")), _scoreboard_tricodes),
        judged(
            "quarters_sum",
            [problem for game, line in lines if (problem := _quarters_problem(game, line))],
            len(lines),
            "final team lines",
        ),
        judged(
            "final_scores",
            [
                f"{game.get('gameCode')}: {_points(game, 'away')}-{_points(game, 'home')}"
                for game in finals
                if _points(game, "away") == _points(game, "home")
            ],
            len(finals),
            "final games",
        ),
    ]


def _side_line(game: Row, side: str) -> Row:
    """One team's line score of a landed game: `teams.home` or `teams.away` ({} when absent)."""
    return mapping(dig(game, "teams", side))


def _points(game: Row, side: str) -> int | None:
    return integer(_side_line(game, side).get("points"))


def _quarters_problem(game: Row, line: Row) -> str | None:
    """A final team's quarters (and overtimes) add up to its points."""
    total = sum(integer(value) or 0 for value in mapping(line.get("quarters")).values())
    points = integer(line.get("points"))
    return (
        None if total == points else f"{game.get('gameCode')} {line.get('abbreviation')}: {total} != {points}"
    )


def _scoreboard_tricodes(game: Row) -> tuple[str, str]:
    return str(game.get("home")), str(game.get("away"))


def _tricodes(game: Row) -> tuple[str, str]:
    return str(dig(game, "homeTeam", "teamTricode")), str(dig(game, "awayTeam", "teamTricode"))


def schedule(document: Document, options: Options) -> list[Check]:
    games = objects(document.get("games"))
    season = str(document.get("season") or "")
    by_type = Counter(str(game.get("gameId"))[2:3] for game in games)
    per_team = Counter(
        (str(game.get("gameId"))[2:3], str(dig(game, side, "teamTricode")))
        for game in games
        for side in ("homeTeam", "awayTeam")
    )
    return [
        *structure(
            document,
            {"season": str, "season_nba_format": str, "game_count": int, "date_count": int, "games": list},
        ),
        row_fields(
            document.get("games"),
            {
                "gameId": str,
                "gameCode": str,
                "gameDateEst": str,
                "gameStatus": int,
                "homeTeam": dict,
                "awayTeam": dict,
            },
            "games",
        ),
        count_matches(document, "game_count", len(games)),
        count_matches(
            document,
            "date_count",
            len({str(game.get("gameDateEst"))[:10] for game in games}),
            "date_count_matches",
        ),
        ids_present(games, lambda game: game.get("gameId"), "games"),
        unique((game.get("gameId") for game in games), "game ids"),
        judged(
            "game_ids_in_season",
            [
                str(game.get("gameId"))
                for game in games
                if not GAME_ID.match(str(game.get("gameId"))) or str(game.get("gameId"))[3:5] != season[2:4]
            ],
            len(games),
            "games",
        ),
        *_game_list_checks(
            [game for game in games if game.get("isAllStar") is not True],
            lambda game: str(game.get("gameDateEst"))[:10],
            _tricodes,
        ),
        judged(
            "season_game_count",
            [
                f"{count} {SEASON_BOUNDS[kind][0]} games"
                for kind, count in by_type.items()
                if kind in SEASON_BOUNDS and count > SEASON_BOUNDS[kind][1]
            ],
            len(by_type),
            "season types",
        ),
        judged(
            "team_game_counts",
            [
                f"{team}: {count} {SEASON_BOUNDS[kind][0]} games"
                for (kind, team), count in per_team.items()
                if kind in SEASON_BOUNDS and count > SEASON_BOUNDS[kind][2]
            ],
            len(per_team),
            "team season types",
        ),
    ]


# --- play-by-play -----------------------------------------------------------------------------------


def play_by_play(document: Document, options: Options) -> list[Check]:
    actions = objects(dig(document, "playByPlay", "game", "actions"))
    decreases, backwards, gaps = [], [], []
    previous = (0, 0)
    period: int | None = None
    for action in actions:
        number = action.get("actionNumber")
        score = (integer(action.get("scoreHome")) or 0, integer(action.get("scoreAway")) or 0)
        if score[0] < previous[0] or score[1] < previous[1]:
            decreases.append(f"action {number}: {previous[1]}-{previous[0]} then {score[1]}-{score[0]}")
        previous = score
        current = integer(action.get("period")) or 0
        if period is None and current != 1:
            gaps.append(f"the feed starts in period {current}")
        elif period is not None and current < period:
            backwards.append(f"action {number}: period {current} after {period}")
        elif period is not None and current > period + 1:
            gaps.append(f"action {number}: period {current} after {period}")
        period = current if period is None else max(period, current)
    count = dig(document, "metadata", "eventCount")
    return [
        *structure(document, {"metadata": dict, "playByPlay": dict}),
        row_fields(
            dig(document, "playByPlay", "game", "actions"),
            {"actionNumber": int, "period": int, "actionType": str, "scoreHome": str, "scoreAway": str},
            "actions",
        ),
        judged(
            "event_count", [] if count == len(actions) else [f"eventCount {count!r}"], len(actions), "actions"
        ),
        judged(
            "game_id_matches",
            []
            if dig(document, "playByPlay", "game", "gameId") == dig(document, "metadata", "game_id")
            else ["the feed's gameId is not metadata.game_id"],
            1,
            "games",
        ),
        unique((action.get("actionNumber") for action in actions), "action numbers"),
        judged("scores_never_decrease", decreases, len(actions), "actions"),
        judged("periods_in_order", backwards, len(actions), "actions"),
        judged("periods_contiguous", gaps, len(actions), "actions"),
    ]


# --- injury report, rosters, lists ------------------------------------------------------------------


def injury_report(document: Document, options: Options) -> list[Check]:
    records = objects(document.get("records"))
    return [
        *structure(document, {"metadata": dict, "parsing_stats": dict, "records": list}),
        row_fields(
            document.get("records"),
            {"matchup": str, "team": str, "player": str, "status": str, "reason": str},
            "records",
        ),
        judged(
            "known_statuses",
            [
                f"{row.get('player')}: {row.get('status')!r}"
                for row in records
                if row.get("status") not in KNOWN_STATUSES
            ],
            len(records),
            "records",
        ),
        judged(
            "team_and_matchup",
            [_record_problem(row) for row in records if _record_problem(row)],
            len(records),
            "records",
        ),
        judged(
            "players_present",
            [str(row.get("matchup")) for row in records if is_blank(row.get("player"))],
            len(records),
            "records",
        ),
        unique(
            ((row.get("matchup"), row.get("team"), row.get("player")) for row in records),
            "players",
            "one_record_per_player",
            Status.WARN,
        ),
        Check("record_count", Status.OK, f"{len(records)} records")
        if dig(document, "parsing_stats", "total_records") == len(records)
        else Check("record_count", Status.FAIL, "parsing_stats.total_records disagrees with the records"),
    ]


def _record_problem(row: Row) -> str:
    match = MATCHUP.match(str(row.get("matchup") or ""))
    if match is None or not all(is_nba_team(team) for team in match.groups()):
        return f"{row.get('player')}: matchup {row.get('matchup')!r}"
    if row.get("team") not in match.groups():
        return f"{row.get('player')}: team {row.get('team')!r} not in {row.get('matchup')}"
    return ""


def roster(document: Document, options: Options) -> list[Check]:
    players = objects(document.get("players"))
    return [
        *structure(
            document, {"team_abbr": str, "teamId": str, "season": str, "playerCount": int, "players": list}
        ),
        row_fields(document.get("players"), {"name": str, "playerId": int}, "players"),
        count_matches(document, "playerCount", len(players)),
        ids_present(players, lambda player: player.get("playerId"), "players"),
        unique((player.get("playerId") for player in players), "player ids"),
        *roster_sanity(document.get("team_abbr"), players),
    ]


def player_list(document: Document, options: Options) -> list[Check]:
    checks, rows = result_set_checks(
        document, "PlayerIndex", ("PERSON_ID", "PLAYER_LAST_NAME", "TEAM_ABBREVIATION")
    )
    return [
        *checks,
        ids_present(rows, lambda row: row.get("PERSON_ID"), "players"),
        unique((row.get("PERSON_ID") for row in rows), "player ids"),
        judged(
            "names_present",
            [str(row.get("PERSON_ID")) for row in rows if is_blank(row.get("PLAYER_LAST_NAME"))],
            len(rows),
            "players",
        ),
    ]


def player_movement(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("rows"))
    headers = listed(document.get("headers"))
    return [
        *structure(document, {"metadata": dict, "headers": list, "rows": list}),
        row_fields(
            document.get("rows"),
            {"Transaction_Type": str, "TRANSACTION_DATE": str, "TEAM_ID": NUMBER, "PLAYER_ID": NUMBER},
            "transactions",
        ),
        Check("record_count", Status.OK, f"{len(rows)} rows")
        if dig(document, "metadata", "recordCount") == len(rows)
        and dig(document, "metadata", "columnCount") == len(headers)
        else Check("record_count", Status.FAIL, "metadata recordCount/columnCount disagree with the rows"),
        ids_present(rows, lambda row: row.get("TEAM_ID"), "transactions", name="team_ids"),
        judged(
            "rows_match_headers",
            [f"row {index}" for index, row in enumerate(rows) if list(row) != headers],
            len(rows),
            "rows",
        ),
    ]


def referee_assignments(document: Document, options: Options) -> list[Check]:
    leagues = mapping(document.get("refereeAssignments"))
    nba = objects(dig(leagues, "nba", "Table", "rows"))
    counts = mapping(dig(document, "metadata", "gameCount"))
    parts = [integer(counts.get(key)) or 0 for key in ("nba", "gLeague", "wnba")]
    return [
        *structure(document, {"metadata": dict, "refereeAssignments": dict}),
        row_fields(
            dig(leagues, "nba", "Table", "rows"),
            {"game_id": str, "home_team_abbr": str, "away_team_abbr": str},
            "NBA games",
        ),
        judged(
            "game_counts",
            []
            if sum(parts) == integer(counts.get("total")) and parts[0] == len(nba)
            else [f"gameCount {dict(counts)} with {len(nba)} NBA games"],
            1,
            "documents",
        ),
        ids_present(nba, lambda row: row.get("game_id"), "NBA games"),
        unique((row.get("game_id") for row in nba), "NBA game ids"),
        judged(
            "officials_present",
            [str(row.get("game_code")) for row in nba if is_blank(row.get("official1"))],
            len(nba),
            "NBA games",
            Status.WARN,
        ),
    ]
