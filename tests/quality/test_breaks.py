"""Project-authored documents that break each check: the check fails (or warns) and names the culprit.

Box scores start from the consistent game of tests/quality/documents.py; every other document from
what the demo landed. Each case mutates one thing and names the check that must catch it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from scrapers.core.registry import load_registry
from scrapers.core.verdict import Status
from scrapers.quality.verdict import evaluate
from tests.quality import documents

Doc = dict[str, Any]
SYNTHETIC: dict[str, Callable[[], Doc]] = {
    "bdl_box_scores": documents.bdl_box_scores,
    "bdl_player_box_scores": documents.bdl_player_box_scores,
    "nbac_player_boxscore": documents.nbac_player_boxscore,
    "nbac_gamebook_pdf": documents.nbac_gamebook,
    "espn_game_boxscore": documents.espn_boxscore,
}


@dataclass(frozen=True)
class Break:
    scraper: str
    what: str
    mutate: Callable[[Doc], object]
    check: str
    status: Status = Status.FAIL
    culprit: str = ""  # text the check's detail must name
    options: dict[str, Any] = field(default_factory=dict)


# --- mutations ----------------------------------------------------------------------------------


def _halve_bdl(document: Doc) -> None:
    for line in document["boxScores"][0]["home_team"]["players"][:4]:
        line["min"] = str(int(line["min"]) // 2)


def _halve_stats(document: Doc) -> None:
    for line in document["stats"][:3]:
        line["min"] = str(int(line["min"]) // 2)


def _gamelog(document: Doc) -> tuple[list[str], list[list[Any]]]:
    result = document["resultSets"][0]
    return result["headers"], result["rowSet"]


def _set_gamelog(document: Doc, column: str, value: Callable[[Any], Any], rows: slice) -> None:
    headers, rowset = _gamelog(document)
    index = headers.index(column)
    for row in rowset[rows]:
        row[index] = value(row[index])


def _drop_away_rows(document: Doc) -> None:
    headers, rowset = _gamelog(document)
    rowset[:] = [row for row in rowset if row[headers.index("TEAM_ABBREVIATION")] != "HOU"]


def _duplicate(items: list[Any], index: int = 0, **changes: Any) -> None:
    items.append({**copy.deepcopy(items[index]), **changes})


def _bp_first_book(document: Doc) -> dict[str, Any]:
    book: dict[str, Any] = document["props"][0]["over"]["sportsbooks"][1]
    return book


def _odds_outcomes(event: Doc) -> list[dict[str, Any]]:
    """The first market's outcomes of an Odds API event object (a current body, a snapshot's data)."""
    outcomes: list[dict[str, Any]] = event["bookmakers"][0]["markets"][0]["outcomes"]
    return outcomes


def _pbp_actions(document: Doc) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = document["playByPlay"]["game"]["actions"]
    return actions


def _crowded_schedule(document: Doc) -> None:
    base = next(game for game in document["games"] if game["gameId"].startswith("002"))
    for number in range(83):
        day = (
            f"2024-03-{number % 28 + 1:02d}"
            if number < 28
            else f"2024-{number // 28 + 3:02d}-{number % 28 + 1:02d}"
        )
        document["games"].append(
            {**copy.deepcopy(base), "gameId": f"00223{number + 900:05d}", "gameDateEst": day}
        )


BREAKS = [
    # BallDontLie box scores: the incident, and the rest of the arithmetic.
    Break("bdl_box_scores", "halved minutes", _halve_bdl, "team_minutes", culprit="PHI in 20240115_HOU_PHI"),
    Break(
        "bdl_box_scores",
        "an overtime game that lists regulation minutes",
        lambda d: d["boxScores"][0].update(period=5),
        "team_minutes",
        culprit="of 265 minutes",
    ),
    Break(
        "bdl_box_scores",
        "points that miss the team score",
        lambda d: d["boxScores"][0].update(home_team_score=d["boxScores"][0]["home_team_score"] + 2),
        "team_points",
        culprit="PHI",
    ),
    Break(
        "bdl_box_scores",
        "made > attempted",
        lambda d: d["boxScores"][0]["visitor_team"]["players"][0].update(fgm=40),
        "made_le_attempted",
        culprit="FG 40/",
    ),
    Break(
        "bdl_box_scores",
        "rebounds that do not add up",
        lambda d: d["boxScores"][0]["visitor_team"]["players"][1].update(reb=0),
        "rebounds_sum",
    ),
    Break(
        "bdl_box_scores",
        "a tied final",
        lambda d: d["boxScores"][0].update(visitor_team_score=d["boxScores"][0]["home_team_score"]),
        "final_scores",
    ),
    Break("bdl_player_box_scores", "halved minutes", _halve_stats, "team_minutes", culprit="PHI"),
    Break(
        "bdl_player_box_scores",
        "the same player twice in a game",
        lambda d: _duplicate(d["stats"], 0, id=1),
        "one_line_per_player_game",
    ),
    Break(
        "bdl_live_box_scores",
        "made > attempted in a live game",
        lambda d: d["liveBoxes"][0]["home_team"]["players"][0].update(fg3m=30),
        "made_le_attempted",
    ),
    Break("bdl_games", "a duplicate game id", lambda d: _duplicate(d["games"]), "unique_ids"),
    Break(
        "bdl_games",
        "a tied final",
        lambda d: d["games"][0].update(visitor_team_score=d["games"][0]["home_team_score"]),
        "final_scores",
    ),
    Break(
        "bdl_injuries",
        "an unknown status",
        lambda d: d["injuries"][0].update(status="Sort Of"),
        "known_statuses",
        Status.WARN,
        "Sort Of",
    ),
    Break(
        "bdl_injuries",
        "an injury without a team",
        lambda d: d["injuries"][0]["player"].pop("team_id"),
        "team_present",
    ),
    Break(
        "bdl_odds",
        "an impossible American price",
        lambda d: d["odds"][0].update(odds_american_home="-50"),
        "price_range",
        culprit="-50",
    ),
    Break("bdl_odds", "a 31.5 total", lambda d: d["odds"][2].update(over_under="31.5"), "line_range"),
    Break("bdl_odds", "two lines of one book", lambda d: _duplicate(d["odds"], 0, id=1), "one_line_per_book"),
    Break("bdl_standings", "a 90-game record", lambda d: d["standings"][0].update(wins=90), "record_bounds"),
    Break("bdl_teams", "a duplicate team", lambda d: _duplicate(d["teams"]), "unique_ids"),
    Break("bdl_players", "a blank player id", lambda d: d["players"][0].update(id=0), "ids_present"),
    Break("bdl_active_players", "a duplicate player", lambda d: _duplicate(d["activePlayers"]), "unique_ids"),
    Break(
        "bdl_game_adv_stats",
        "a usage share above one",
        lambda d: d["advancedStats"][0].update(usage_percentage=1.3),
        "percentages_range",
        culprit="usage_percentage=1.3",
    ),
    Break(
        "bdl_game_adv_stats",
        "a line of a team not in the game",
        lambda d: d["advancedStats"][1]["team"].update(id=7),
        "team_in_game",
        culprit="team 7",
    ),
    Break(
        "bdl_game_detail",
        "a final without a winner",
        lambda d: d["game"].update(visitor_team_score=d["game"]["home_team_score"]),
        "final_scores",
    ),
    Break("bdl_game_detail", "another game", lambda d: d["game"].update(id=1037594), "id_matches"),
    Break(
        "bdl_player_averages",
        "a row of another season",
        lambda d: d["playerAverages"][1].update(season=2022),
        "season_matches",
        culprit="2022",
    ),
    Break(
        "bdl_player_averages",
        "a shooting percentage of 52",
        lambda d: d["playerAverages"][0]["stats"].update(fg_pct=52.0),
        "pct_range",
        Status.WARN,
        culprit="fg_pct",
    ),
    Break(
        "bdl_player_averages",
        "more rows than players asked for",
        lambda d: _duplicate(d["playerAverages"], 0, player={"id": 1, "last_name": "Extra"}),
        "requested_players",
    ),
    Break("bdl_player_detail", "another player", lambda d: d["player"].update(id=237), "id_matches"),
    Break(
        "bdl_player_detail",
        "a nine-foot player",
        lambda d: d["player"].update(height="9-2"),
        "body_measures",
        Status.WARN,
        culprit="9-2",
    ),
    Break(
        "bdl_player_leaders",
        "a higher value further down",
        lambda d: d["leaders"][2].update(value=40.0),
        "ranks_follow_values",
        culprit="#3",
    ),
    Break(
        "bdl_player_leaders",
        "another statistic's leader",
        lambda d: d["leaders"][1].update(stat_type="reb"),
        "one_board",
        culprit="2023_reb",
    ),
    Break(
        "bdl_team_detail",
        "a division of the other conference",
        lambda d: d["team"].update(division="Pacific"),
        "division_in_conference",
        culprit="Pacific",
    ),
    Break(
        "bdl_team_detail",
        "a defunct franchise",
        lambda d: d["team"].update(conference="    ", division=""),
        "current_franchise",
        Status.WARN,
    ),
    # NBA.com
    Break(
        "nbac_player_boxscore",
        "halved minutes",
        lambda d: _set_gamelog(d, "MIN", lambda minutes: minutes // 2, slice(0, 4)),
        "team_minutes",
        culprit="PHI in 20240115_HOU_PHI",
    ),
    Break(
        "nbac_player_boxscore",
        "the loser marked W",
        lambda d: _set_gamelog(d, "WL", lambda result: "L" if result == "W" else "W", slice(None)),
        "winner_scored_more",
    ),
    Break("nbac_player_boxscore", "one team missing", _drop_away_rows, "both_teams_present"),
    Break(
        "nbac_gamebook_pdf",
        "halved minutes",
        lambda d: [p["stats"].update(minutes="10:00") for p in d["active_players"][:3]],
        "team_minutes",
        culprit="Houston Rockets",
    ),
    Break(
        "nbac_gamebook_pdf",
        "a wrong player total",
        lambda d: d.update(total_players=99),
        "count_matches",
    ),
    Break(
        "nbac_team_boxscore",
        "200 team minutes",
        lambda d: d["teams"][0].update(minutes="200:00"),
        "team_minutes",
    ),
    Break(
        "nbac_team_boxscore",
        "made > attempted",
        lambda d: d["teams"][1]["freeThrows"].update(made=99),
        "made_le_attempted",
    ),
    Break(
        "nbac_team_boxscore",
        "total rebounds off",
        lambda d: d["teams"][0]["rebounds"].update(total=1),
        "rebounds_sum",
    ),
    Break(
        "nbac_scoreboard_v2",
        "quarters that miss the points",
        lambda d: d["games"][0]["teams"]["home"].update(points=200),
        "quarters_sum",
    ),
    Break(
        "nbac_scoreboard_v2",
        "a duplicate game id",
        lambda d: d["games"][1].update(gameId=d["games"][0]["gameId"]),
        "unique_ids",
    ),
    Break(
        "nbac_schedule_api",
        "a duplicate game id",
        lambda d: d["games"][1].update(gameId=d["games"][0]["gameId"]),
        "unique_ids",
    ),
    Break(
        "nbac_schedule_cdn",
        "a team twice on one date",
        lambda d: _duplicate(d["games"], 1, gameId="0022300999"),
        "team_once_per_date",
    ),
    Break("nbac_schedule_cdn", "83 regular-season games of one team", _crowded_schedule, "team_game_counts"),
    Break(
        "nbac_schedule_api",
        "a game id of another season",
        lambda d: d["games"][0].update(gameId="0022200001"),
        "game_ids_in_season",
    ),
    Break(
        "nbac_injury_report",
        "an unknown status",
        lambda d: d["records"][0].update(status="Maybe"),
        "known_statuses",
        culprit="Maybe",
    ),
    Break(
        "nbac_injury_report",
        "a record without a team",
        lambda d: d["records"][0].update(team=""),
        "team_and_matchup",
    ),
    Break(
        "nbac_injury_report",
        "a team outside its matchup",
        lambda d: d["records"][0].update(team="BOS"),
        "team_and_matchup",
        culprit="BOS",
    ),
    Break(
        "nbac_injury_report",
        "a broken matchup",
        lambda d: d["records"][0].update(matchup="HOU-PHI"),
        "team_and_matchup",
    ),
    Break(
        "nbac_play_by_play",
        "a score that goes down",
        lambda d: _pbp_actions(d)[3].update(scoreHome="1"),
        "scores_never_decrease",
    ),
    Break(
        "nbac_play_by_play",
        "a period that goes back",
        lambda d: _pbp_actions(d).append({**_pbp_actions(d)[-1], "actionNumber": 641, "period": 2}),
        "periods_in_order",
    ),
    Break("nbac_roster", "a duplicate player", lambda d: _duplicate(d["players"]), "unique_ids"),
    Break(
        "nbac_player_list",
        "a duplicate player",
        lambda d: d["resultSets"][0]["rowSet"].append(list(d["resultSets"][0]["rowSet"][0])),
        "unique_ids",
    ),
    Break(
        "nbac_player_movement",
        "a wrong record count",
        lambda d: d["metadata"].update(recordCount=1),
        "record_count",
    ),
    Break(
        "nbac_referee_assignments",
        "a wrong game count",
        lambda d: d["metadata"]["gameCount"].update(total=9),
        "game_counts",
    ),
    # ESPN
    Break(
        "espn_game_boxscore",
        "made > attempted",
        lambda d: d["players"][0]["stats"].__setitem__(1, "30-17"),
        "made_le_attempted",
        culprit="FG 30/17",
    ),
    Break(
        "espn_game_boxscore",
        "halved minutes",
        lambda d: [p["stats"].__setitem__(0, "10") for p in d["players"][:4]],
        "team_minutes",
        culprit="HOU",
    ),
    Break(
        "espn_game_boxscore", "a short stat line", lambda d: d["players"][0]["stats"].pop(), "stat_columns"
    ),
    Break(
        "espn_scoreboard",
        "the loser marked winner",
        lambda d: [team.update(winner=not team["winner"]) for team in d["games"][0]["teams"]],
        "final_scores",
    ),
    Break("espn_roster", "a duplicate player", lambda d: _duplicate(d["players"]), "unique_ids"),
    # BettingPros
    Break(
        "bp_events", "home = away", lambda d: next(iter(d["events"].values())).update(away="PHI"), "two_teams"
    ),
    Break("bp_player_props", "odds of +50", lambda d: _bp_first_book(d).update(odds=50), "price_range"),
    Break(
        "bp_player_props", "a 200-point line", lambda d: _bp_first_book(d).update(line=200.5), "line_range"
    ),
    Break(
        "bp_player_props",
        "two lines of one book",
        lambda d: d["props"][0]["over"]["sportsbooks"].append(dict(_bp_first_book(d), line_id=1)),
        "one_line_per_book",
    ),
    Break(
        "bp_player_props",
        "the same player's offer twice",
        lambda d: _duplicate(d["props"], 0, offer_id=1),
        "one_offer_per_player",
    ),
    # The Odds API
    # The landed bodies as served; a bare list is checked as {"data": [...]} (see as_document).
    Break("oddsa_events", "a duplicate event", lambda d: _duplicate(d["data"]), "unique_ids"),
    Break(
        "oddsa_events_his",
        "a commence time that is no time",
        lambda d: d["data"][0].update(commence_time="soon"),
        "commence_times",
    ),
    Break(
        "oddsa_events_his",
        "a next snapshot before the one served",
        lambda d: d.update(next_timestamp=d["previous_timestamp"]),
        "snapshot_order",
        culprit="next_timestamp",
    ),
    Break(
        "oddsa_player_props",
        "a decimal price of 0.5",
        lambda d: _odds_outcomes(d)[0].update(price=0.5),
        "price_range",
    ),
    Break(
        "oddsa_player_props",
        "decimal prices in an American run",
        lambda d: None,
        "price_range",
        options={"odds_format": "american"},
    ),
    Break(
        "oddsa_player_props",
        "a 500-point line",
        lambda d: _odds_outcomes(d)[0].update(point=500.5),
        "line_range",
    ),
    Break(
        "oddsa_player_props",
        "the same outcome twice",
        lambda d: _odds_outcomes(d).append(dict(_odds_outcomes(d)[0])),
        "one_outcome_per_side",
    ),
    Break(
        "oddsa_player_props",
        "over and under at different lines",
        lambda d: _odds_outcomes(d)[1].update(point=_odds_outcomes(d)[1]["point"] + 3),
        "one_line_per_book",
    ),
    Break(
        "oddsa_game_lines",
        "spreads that do not mirror",
        lambda d: _odds_outcomes(d)[1].update(point=_odds_outcomes(d)[1]["point"] + 1),
        "one_line_per_book",
    ),
    Break(
        "oddsa_game_lines_his",
        "a player prop without a player",
        lambda d: d["data"]["bookmakers"][0]["markets"][0].update(
            key="player_points", outcomes=[{"name": "Over", "price": 1.9, "point": 20.5}]
        ),
        "players_named",
    ),
    Break(
        "oddsa_player_props_his",
        "a price of 1.0",
        lambda d: _odds_outcomes(d["data"])[0].update(price=1.0),
        "price_range",
    ),
    Break("oddsa_team_players", "a duplicate player", lambda d: _duplicate(d["data"]), "unique_ids"),
]


def _base(case: Break, demo_documents: dict[str, Doc]) -> Doc:
    builder = SYNTHETIC.get(case.scraper)
    return builder() if builder else copy.deepcopy(demo_documents[case.scraper])


@pytest.mark.parametrize("case", BREAKS, ids=[f"{case.scraper}-{case.what}" for case in BREAKS])
def test_each_break_is_caught_by_its_check(case: Break, demo_documents: dict[str, Doc]) -> None:
    cls = load_registry().get(case.scraper).load_class()
    document = _base(case, demo_documents)
    before = {check.name: check.status for check in evaluate(cls, document, {}).checks}
    assert before[case.check] is Status.OK, f"the base document already trips {case.check}"

    case.mutate(document)
    verdict = evaluate(cls, document, case.options)

    check = next(check for check in verdict.checks if check.name == case.check)
    assert check.status is case.status, check
    assert case.culprit in check.detail
    assert verdict.status.rank >= case.status.rank


@pytest.mark.parametrize("scraper", sorted(SYNTHETIC))
def test_the_synthetic_game_passes_every_check(scraper: str) -> None:
    cls = load_registry().get(scraper).load_class()
    verdict = evaluate(cls, SYNTHETIC[scraper](), {})
    assert verdict.status is Status.OK, verdict.failed_checks


def test_every_registered_scraper_has_a_break_beyond_its_structure() -> None:
    assert {case.scraper for case in BREAKS} == set(load_registry().names())


def test_player_box_scores_filtered_to_some_players_skip_the_team_sums() -> None:
    cls = load_registry().get("bdl_player_box_scores").load_class()
    document = documents.bdl_player_box_scores()
    document.update(stats=document["stats"][:2], rowCount=2)
    assert evaluate(cls, document, {}).status is Status.FAIL
    assert evaluate(cls, document, {"player_ids": ["1", "2"]}).status is Status.OK
