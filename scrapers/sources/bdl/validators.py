"""Data-quality checks of every BallDontLie document (see scrapers/quality).

The box scores carry the checks that would have caught the 2025 incident (minutes at a half or two
thirds of the truth on alternating days): each final team's player minutes must sum to 240 (+25 per
overtime) and its player points to the team's score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from scrapers.core.verdict import Check, Document, Options, Status
from scrapers.nba.keys import game_key, is_nba_team
from scrapers.quality.checks import (
    MAX_GAMES_PER_DATE,
    NUMBER,
    OPTIONAL_TEXT,
    Line,
    PriceFormat,
    Row,
    TeamBox,
    box_score_checks,
    count_matches,
    dig,
    ids_present,
    integer,
    is_blank,
    is_type,
    judged,
    line_problem,
    mapping,
    minutes,
    number,
    objects,
    price_problem,
    row_fields,
    structure,
    team_once_per_date,
    unique,
)

FINAL = "Final"
GAME_FIELDS = {"date": str, "home_team": dict, "visitor_team": dict, "status": str}
TEAM_FIELDS = {"id": int, "abbreviation": str}
PLAYER_FIELDS = {"id": int, "first_name": str, "last_name": str}
# BallDontLie's injury vocabulary; a new word is worth a look, not proof of bad data.
INJURY_STATUSES = frozenset({"Out", "Day-To-Day", "Questionable", "Doubtful", "Probable", "Out For Season"})
REGULAR_SEASON_GAMES = 82


# --- games and box scores ------------------------------------------------------------------------


def _game_label(game: Row) -> str:
    return game_key(
        str(game.get("date") or ""),
        str(dig(game, "visitor_team", "abbreviation") or "?"),
        str(dig(game, "home_team", "abbreviation") or "?"),
    )


def _game_checks(games: list[Row]) -> list[Check]:
    finals = [game for game in games if game.get("status") == FINAL]
    per_date: dict[str, int] = defaultdict(int)
    for game in games:
        per_date[str(game.get("date"))[:10]] += 1
    return [
        unique((_game_label(game) for game in games), "games", name="unique_games"),
        team_once_per_date(
            (str(game.get("date"))[:10], str(dig(game, side, "abbreviation")))
            for game in games
            for side in ("home_team", "visitor_team")
        ),
        judged(
            "games_per_date",
            [f"{day}: {count} games" for day, count in per_date.items() if count > MAX_GAMES_PER_DATE],
            len(per_date),
            "dates",
        ),
        judged(
            "final_scores",
            [
                f"{_game_label(game)}: {game.get('visitor_team_score')!r}-{game.get('home_team_score')!r}"
                for game in finals
                if not _decided(game.get("visitor_team_score"), game.get("home_team_score"))
            ],
            len(finals),
            "final games",
        ),
    ]


def _decided(away: object, home: object) -> bool:
    """A final NBA game has two positive scores and a winner."""
    scores = (integer(away), integer(home))
    return None not in scores and min(s or 0 for s in scores) > 0 and scores[0] != scores[1]


def stat_line(row: Row) -> Line:
    player = mapping(row.get("player"))
    name = f"{player.get('first_name') or ''} {player.get('last_name') or ''}".strip()
    stat = {key: integer(row.get(key)) for key in ("pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")}
    return Line(
        player=name or f"player {player.get('id')}",
        minutes=minutes(row.get("min")),
        points=stat["pts"],
        fgm=stat["fgm"],
        fga=stat["fga"],
        fg3m=stat["fg3m"],
        fg3a=stat["fg3a"],
        ftm=stat["ftm"],
        fta=stat["fta"],
        oreb=integer(row.get("oreb")),
        dreb=integer(row.get("dreb")),
        reb=integer(row.get("reb")),
    )


def _box_teams(game: Row) -> list[TeamBox]:
    # A game in progress has neither all its minutes nor a settled score: only a final one adds up.
    final = game.get("status") == FINAL
    teams = []
    for side, score_key in (("home_team", "home_team_score"), ("visitor_team", "visitor_team_score")):
        team = mapping(game.get(side))
        teams.append(
            TeamBox(
                game=_game_label(game),
                team=str(team.get("abbreviation") or "?"),
                lines=tuple(stat_line(row) for row in objects(team.get("players"))),
                score=integer(game.get(score_key)) if final else None,
                periods=integer(game.get("period")) if final else None,
            )
        )
    return teams


def _player_lists(games: list[Row]) -> Check:
    sides = [(game, side) for game in games for side in ("home_team", "visitor_team")]
    problems = [
        f"{dig(game, side, 'abbreviation')} in {_game_label(game)}"
        for game, side in sides
        if not isinstance(dig(game, side, "players"), list)
    ]
    return judged("player_lists", problems, len(sides), "teams")


def _box_scores(document: Document, key: str, count_key: str, extra: Mapping[str, type]) -> list[Check]:
    games = objects(document.get(key))
    lines = [
        row
        for game in games
        for side in ("home_team", "visitor_team")
        for row in objects(dig(game, side, "players"))
    ]
    return [
        *structure(document, {"timestamp": str, count_key: int, key: list, **extra}),
        row_fields(document.get(key), GAME_FIELDS, "games"),
        count_matches(document, count_key, len(games)),
        _player_lists(games),
        ids_present(lines, lambda row: dig(row, "player", "id"), "player lines", name="player_ids"),
        *_game_checks(games),
        *box_score_checks([team for game in games for team in _box_teams(game)]),
    ]


def box_scores(document: Document, options: Options) -> list[Check]:
    return _box_scores(document, "boxScores", "rowCount", {"date": str})


def live_box_scores(document: Document, options: Options) -> list[Check]:
    return _box_scores(document, "liveBoxes", "gameCount", {"pollId": str})


def player_box_scores(document: Document, options: Options) -> list[Check]:
    stats = objects(document.get("stats"))
    # Filtered to some players, a team's lines cannot add up to its minutes or score.
    whole_teams = not options.get("player_ids")
    return [
        *structure(
            document, {"startDate": str, "endDate": str, "timestamp": str, "rowCount": int, "stats": list}
        ),
        row_fields(
            document.get("stats"), {"id": int, "player": dict, "team": dict, "game": dict}, "stat lines"
        ),
        count_matches(document, "rowCount", len(stats)),
        ids_present(stats, lambda row: row.get("id"), "stat lines"),
        unique((row.get("id") for row in stats), "stat line ids"),
        unique(
            ((dig(row, "game", "id"), dig(row, "player", "id")) for row in stats),
            "player games",
            name="one_line_per_player_game",
        ),
        *box_score_checks(_stat_teams(stats, whole_teams)),
    ]


def _stat_teams(stats: list[Row], whole_teams: bool) -> list[TeamBox]:
    groups: dict[tuple[Any, Any], list[Row]] = defaultdict(list)
    for row in stats:
        groups[(dig(row, "game", "id"), dig(row, "team", "id"))].append(row)
    teams = []
    for (_, team_id), rows in groups.items():
        game = mapping(rows[0].get("game"))
        home = team_id == game.get("home_team_id")
        final = whole_teams and game.get("status") == FINAL
        teams.append(
            TeamBox(
                game=f"game {game.get('id')} on {str(game.get('date'))[:10]}",
                team=str(dig(rows[0], "team", "abbreviation") or team_id),
                lines=tuple(stat_line(row) for row in rows),
                score=integer(game.get("home_team_score" if home else "visitor_team_score"))
                if final
                else None,
                periods=integer(game.get("period")) if final else None,
            )
        )
    return teams


def games(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("games"))
    return [
        *structure(
            document, {"startDate": str, "endDate": str, "timestamp": str, "gameCount": int, "games": list}
        ),
        row_fields(document.get("games"), {"id": int, **GAME_FIELDS}, "games"),
        count_matches(document, "gameCount", len(rows)),
        ids_present(rows, lambda row: row.get("id"), "games"),
        unique((row.get("id") for row in rows), "game ids"),
        *_game_checks(rows),
    ]


# --- players, injuries, teams, standings ---------------------------------------------------------


def _people(document: Document, key: str, count_key: str, extra: Mapping[str, type]) -> list[Check]:
    rows = objects(document.get(key))
    return [
        *structure(document, {"timestamp": str, count_key: int, key: list, **extra}),
        row_fields(document.get(key), PLAYER_FIELDS, "players"),
        count_matches(document, count_key, len(rows)),
        ids_present(rows, lambda row: row.get("id"), "players"),
        unique((row.get("id") for row in rows), "player ids"),
        judged(
            "names_present",
            [f"player {row.get('id')}" for row in rows if is_blank(row.get("last_name"))],
            len(rows),
            "players",
        ),
    ]


def active_players(document: Document, options: Options) -> list[Check]:
    return _people(document, "activePlayers", "playerCount", {"ident": str})


def players(document: Document, options: Options) -> list[Check]:
    return _people(document, "players", "playerCount", {})


def injuries(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("injuries"))
    return [
        *structure(document, {"ident": str, "timestamp": str, "rowCount": int, "injuries": list}),
        row_fields(document.get("injuries"), {"player": dict, "status": str}, "injuries"),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda row: dig(row, "player", "id"), "injuries", name="player_ids"),
        ids_present(rows, lambda row: dig(row, "player", "team_id"), "injuries", name="team_present"),
        judged(
            "known_statuses",
            [
                f"{dig(row, 'player', 'last_name')}: {row.get('status')!r}"
                for row in rows
                if row.get("status") not in INJURY_STATUSES
            ],
            len(rows),
            "injuries",
            Status.WARN,
        ),
        unique(
            (dig(row, "player", "id") for row in rows),
            "injured players",
            "one_injury_per_player",
            Status.WARN,
        ),
    ]


def teams(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("teams"))
    return [
        *structure(document, {"timestamp": str, "teamCount": int, "teams": list}),
        row_fields(document.get("teams"), {**TEAM_FIELDS, "full_name": str}, "teams"),
        count_matches(document, "teamCount", len(rows)),
        ids_present(rows, lambda row: row.get("id"), "teams"),
        unique((row.get("id") for row in rows), "team ids"),
    ]


def standings(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("standings"))
    return [
        *structure(document, {"season": int, "timestamp": str, "teamCount": int, "standings": list}),
        row_fields(document.get("standings"), {"team": dict, "wins": int, "losses": int}, "standings"),
        count_matches(document, "teamCount", len(rows)),
        ids_present(rows, lambda row: dig(row, "team", "id"), "standings", name="team_ids"),
        unique((dig(row, "team", "id") for row in rows), "teams"),
        judged(
            "record_bounds",
            [
                f"{dig(row, 'team', 'abbreviation')}: {row.get('wins')}-{row.get('losses')}"
                for row in rows
                if not _possible_record(row.get("wins"), row.get("losses"))
            ],
            len(rows),
            "teams",
        ),
    ]


def _possible_record(wins: object, losses: object) -> bool:
    won, lost = integer(wins), integer(losses)
    return (
        won is not None and lost is not None and won >= 0 and lost >= 0 and won + lost <= REGULAR_SEASON_GAMES
    )


# --- odds ---------------------------------------------------------------------------------------

ODDS_FIELDS = {"id": int, "game_id": int, "type": str, "vendor": str}
PRICE_KEYS = ("odds_american_home", "odds_american_visitor", "odds_decimal_home", "odds_decimal_visitor")
LINE_KEYS = {"away_spread": "spreads", "over_under": "totals"}


def odds(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("odds"))
    prices = [
        f"{row.get('vendor')} {row.get('type')} game {row.get('game_id')}: {problem}"
        for row in rows
        for key in PRICE_KEYS
        if row.get(key) is not None
        and (
            problem := price_problem(
                row[key], PriceFormat.AMERICAN if "american" in key else PriceFormat.DECIMAL
            )
        )
    ]
    lines = [
        f"{row.get('vendor')} game {row.get('game_id')}: {problem}"
        for row in rows
        for key, market in LINE_KEYS.items()
        if row.get(key) is not None and (problem := line_problem(market, row[key]))
    ]
    return [
        *structure(document, {"ident": str, "timestamp": str, "rowCount": int, "odds": list}),
        row_fields(document.get("odds"), {**ODDS_FIELDS, "away_spread": OPTIONAL_TEXT + NUMBER}, "odds rows"),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda row: row.get("id"), "odds rows"),
        unique((row.get("id") for row in rows), "odds ids"),
        judged("price_range", prices, len(rows), "odds rows"),
        judged("line_range", lines, len(rows), "odds rows"),
        unique(
            ((row.get("game_id"), row.get("vendor"), row.get("type"), row.get("live")) for row in rows),
            "game/vendor/type lines",
            name="one_line_per_book",
        ),
    ]


# --- advanced stats, season averages, leaders ---------------------------------------------------

# Shares of the team's assists, rebounds or possessions while on the floor: at most all of them.
ADV_SHARES = (
    "assist_percentage",
    "defensive_rebound_percentage",
    "offensive_rebound_percentage",
    "rebound_percentage",
    "usage_percentage",
)
# Shooting efficiency tops out at 1.5: every shot a made three.
ADV_EFFICIENCY = ("effective_field_goal_percentage", "true_shooting_percentage")
MAX_EFFICIENCY = 1.5


def _player_name(row: Row) -> str:
    player = mapping(row.get("player"))
    name = f"{player.get('first_name') or ''} {player.get('last_name') or ''}".strip()
    return name or f"player {player.get('id')}"


def _out_of_range(rows: list[Row], bounds: Mapping[str, float]) -> list[str]:
    """`key=value` of every present value outside 0..bound (null: not computed, fine)."""
    return [
        f"{_player_name(row)} {key}={row.get(key)!r}"
        for row in rows
        for key, high in bounds.items()
        if row.get(key) is not None and not _fraction_within(row.get(key), high)
    ]


def _fraction_within(value: object, high: float) -> bool:
    """0 <= value <= high, for a number (or a numeric text); anything else is out of range."""
    amount = number(value)
    return amount is not None and 0 <= amount <= high


def game_adv_stats(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("advancedStats"))
    bounds = {**dict.fromkeys(ADV_SHARES, 1.0), **dict.fromkeys(ADV_EFFICIENCY, MAX_EFFICIENCY)}
    return [
        *structure(document, {"ident": str, "timestamp": str, "rowCount": int, "advancedStats": list}),
        row_fields(
            document.get("advancedStats"),
            {"id": int, "player": dict, "team": dict, "game": dict},
            "advanced stat lines",
        ),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda row: row.get("id"), "advanced stat lines"),
        unique((row.get("id") for row in rows), "advanced stat ids"),
        unique(
            ((dig(row, "game", "id"), dig(row, "player", "id")) for row in rows),
            "player games",
            name="one_line_per_player_game",
        ),
        judged(
            "team_in_game",
            [
                f"{_player_name(row)}: team {dig(row, 'team', 'id')} in game {dig(row, 'game', 'id')}"
                for row in rows
                if dig(row, "team", "id")
                not in (dig(row, "game", "home_team_id"), dig(row, "game", "visitor_team_id"))
            ],
            len(rows),
            "advanced stat lines",
        ),
        judged("percentages_range", _out_of_range(rows, bounds), len(rows), "advanced stat lines"),
    ]


def player_averages(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("playerAverages"))
    split = (document.get("season"), document.get("seasonType"))
    requested = integer(document.get("playerCountRequested")) or 0
    return [
        *structure(
            document,
            {
                "ident": str,
                "timestamp": str,
                "season": int,
                "category": str,
                "seasonType": str,
                "statType": str,
                "playerCountRequested": int,
                "rowCount": int,
                "playerAverages": list,
            },
        ),
        row_fields(
            document.get("playerAverages"),
            {"player": dict, "season": int, "season_type": str, "stats": dict},
            "season averages",
        ),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda row: dig(row, "player", "id"), "season averages", name="player_ids"),
        unique((dig(row, "player", "id") for row in rows), "players", name="one_row_per_player"),
        judged(
            "season_matches",
            [
                f"{_player_name(row)}: {row.get('season')!r} {row.get('season_type')!r}"
                for row in rows
                if (row.get("season"), row.get("season_type")) != split
            ],
            len(rows),
            "season averages",
        ),
        # At most one row per player asked for (0 asked for: the whole league).
        judged(
            "requested_players",
            [f"{len(rows)} rows for {requested} players"] if 0 < requested < len(rows) else [],
            len(rows),
            "season averages",
        ),
        judged(
            "pct_range",
            [
                f"{_player_name(row)} {key}={value!r}"
                for row in rows
                for key, value in mapping(row.get("stats")).items()
                if key.endswith("_pct") and value is not None and not _fraction_within(value, 1.0)
            ],
            len(rows),
            "season averages",
            Status.WARN,
        ),
    ]


def player_leaders(document: Document, options: Options) -> list[Check]:
    rows = objects(document.get("leaders"))
    ranked = sorted(rows, key=lambda row: integer(row.get("rank")) or 0)
    return [
        *structure(document, {"ident": str, "timestamp": str, "rowCount": int, "leaders": list}),
        row_fields(
            document.get("leaders"),
            {
                "player": dict,
                "stat_type": str,
                "season": int,
                "value": NUMBER,
                "rank": int,
                "games_played": int,
            },
            "leaders",
        ),
        count_matches(document, "rowCount", len(rows)),
        ids_present(rows, lambda row: dig(row, "player", "id"), "leaders", name="player_ids"),
        unique((dig(row, "player", "id") for row in rows), "players", name="one_row_per_player"),
        # The ident is `<season>_<stat>`: every row must be of that board.
        judged(
            "one_board",
            [
                f"{_player_name(row)}: {row.get('season')}_{row.get('stat_type')}"
                for row in rows
                if f"{row.get('season')}_{row.get('stat_type')}" != document.get("ident")
            ],
            len(rows),
            "leaders",
        ),
        judged(
            "ranks_follow_values",
            [
                f"#{after.get('rank')} {_player_name(after)} {after.get('value')!r}"
                f" above #{before.get('rank')} {before.get('value')!r}"
                for before, after in pairwise(ranked)
                if (number(after.get("value")) or 0.0) > (number(before.get("value")) or 0.0)
            ],
            len(rows),
            "leaders",
        ),
        judged(
            "plausible_values",
            [
                f"{_player_name(row)}: {row.get('value')!r} in {row.get('games_played')!r} games"
                for row in rows
                if (number(row.get("value")) or 0.0) < 0 or (integer(row.get("games_played")) or 0) < 1
            ],
            len(rows),
            "leaders",
        ),
    ]


# --- single team, player and game ---------------------------------------------------------------

DIVISIONS = {
    "East": frozenset({"Atlantic", "Central", "Southeast"}),
    "West": frozenset({"Northwest", "Pacific", "Southwest"}),
}
# Listed heights and weights of every NBA player ever fall well inside these.
HEIGHT_FEET = (5, 7)
WEIGHT_POUNDS = (130, 400)


def _one(document: Document, id_key: str, key: str, fields: Mapping[str, type]) -> list[Check]:
    """Structure, the object's fields, and that it is the object the run asked for."""
    found = mapping(document.get(key))
    return [
        *structure(document, {id_key: int, "timestamp": str, key: dict}),
        row_fields([found], fields, key, name=f"{key}_fields"),
        Check("id_matches", Status.OK, f"{key} {found.get('id')}")
        if is_type(found.get("id"), int) and found.get("id") == document.get(id_key)
        else Check(
            "id_matches", Status.FAIL, f"{id_key} is {document.get(id_key)!r}, {key} {found.get('id')!r}"
        ),
    ]


def team_detail(document: Document, options: Options) -> list[Check]:
    team = mapping(document.get("team"))
    conference, division = team.get("conference"), team.get("division")
    current = conference in DIVISIONS
    return [
        *_one(document, "teamId", "team", {**TEAM_FIELDS, "full_name": str}),
        judged("names_present", [] if not is_blank(team.get("full_name")) else ["full_name"], 1, "teams"),
        # BallDontLie also lists the league's early franchises, without conference or division.
        judged(
            "current_franchise",
            [] if current and is_nba_team(str(team.get("abbreviation"))) else [f"{team.get('full_name')}"],
            1,
            "teams",
            Status.WARN,
        ),
        judged(
            "division_in_conference",
            [f"{division} is not in the {conference}"]
            if current and division not in DIVISIONS[str(conference)]
            else [],
            1,
            "teams",
        ),
    ]


def player_detail(document: Document, options: Options) -> list[Check]:
    player = mapping(document.get("player"))
    team = player.get("team")
    return [
        *_one(document, "playerId", "player", PLAYER_FIELDS),
        judged("names_present", [] if not is_blank(player.get("last_name")) else ["last_name"], 1, "players"),
        # A player without a team (`null`) is possible; a team without its id and code is not.
        row_fields([team] if team is not None else [], TEAM_FIELDS, "teams", name="team_fields"),
        judged("body_measures", _body_problems(player), 1, "players", Status.WARN),
    ]


def _body_problems(player: Row) -> list[str]:
    problems = []
    height, weight = player.get("height"), player.get("weight")
    if height not in (None, ""):
        feet, _, inches = str(height).partition("-")
        if not (
            feet.isdigit()
            and inches.isdigit()
            and HEIGHT_FEET[0] <= int(feet) <= HEIGHT_FEET[1]
            and int(inches) < 12
        ):
            problems.append(f"height {height!r}")
    if weight not in (None, "") and not WEIGHT_POUNDS[0] <= (integer(weight) or 0) <= WEIGHT_POUNDS[1]:
        problems.append(f"weight {weight!r}")
    return problems


def game_detail(document: Document, options: Options) -> list[Check]:
    game = mapping(document.get("game"))
    return [
        *_one(document, "gameId", "game", {"id": int, **GAME_FIELDS}),
        *_game_checks([game] if game else []),
    ]
