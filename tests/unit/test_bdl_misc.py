"""bdl_injuries, bdl_standings, bdl_teams, bdl_odds: requests, option rules and the documents.

Failures shared by every BDL scraper and the CLI replay are in test_bdl_common.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from scrapers.core.errors import OptionError, ParseError
from scrapers.core.season import Season
from scrapers.sources.bdl.injuries import BdlInjuries, InjuriesOptions
from scrapers.sources.bdl.odds import BdlOdds, OddsOptions
from scrapers.sources.bdl.standings import BdlStandings, StandingsOptions
from scrapers.sources.bdl.teams import BdlTeams, TeamsOptions
from tests.pages import TEST_CTX
from tests.unit.test_bdl_common import FIXTURES, fixture_pages, json_page

DAY = date(2024, 1, 15)
INJURIES = BdlInjuries()
STANDINGS = BdlStandings()
TEAMS = BdlTeams()
ODDS = BdlOdds()
LEAGUE = InjuriesOptions(team_id=None, player_id=None)
SEASON = StandingsOptions(season=Season(2023))
ODDS_OF_DAY = OddsOptions(game_date=DAY, game_id=None)
ODDS_OF_GAME = OddsOptions(game_date=None, game_id=1037593)


def _data(slug: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FIXTURES / f"{slug}.body.json").read_text(encoding="utf-8"))[
        "data"
    ]
    return rows


# --- bdl_injuries -------------------------------------------------------------------------------


def test_injuries_league_wide_land_under_the_old_document_keys() -> None:
    parsed = INJURIES.parse(LEAGUE, fixture_pages(INJURIES, LEAGUE, "bdl_injuries-league"), TEST_CTX)
    document = parsed.document
    assert list(document) == ["ident", "timestamp", "rowCount", "injuries"]
    assert document["ident"] == "league"
    assert parsed.record_count == document["rowCount"] == 2
    assert document["injuries"] == _data("bdl_injuries-league")


def test_injuries_of_one_team_ask_for_it_and_say_so() -> None:
    opts = InjuriesOptions(team_id=23, player_id=None)
    (request,) = INJURIES.requests(opts)
    assert request.params == (("team_ids[]", "23"), ("per_page", "100"))
    parsed = INJURIES.parse(opts, [json_page(request, {"data": [], "meta": {"per_page": 100}})], TEST_CTX)
    assert parsed.document["ident"] == "team_23"
    assert parsed.no_data_reason == "BallDontLie lists no injuries for team_23"


# --- bdl_standings ------------------------------------------------------------------------------


def test_standings_ask_for_the_season_start_year() -> None:
    (request,) = STANDINGS.requests(SEASON)
    assert request.full_url == "https://api.balldontlie.io/v1/standings?season=2023"


def test_standings_land_every_team_with_the_start_year() -> None:
    parsed = STANDINGS.parse(SEASON, fixture_pages(STANDINGS, SEASON, "bdl_standings-2023-24"), TEST_CTX)
    document = parsed.document
    assert list(document) == ["season", "timestamp", "teamCount", "standings"]
    assert document["season"] == 2023
    assert parsed.record_count == document["teamCount"] == 4
    assert document["standings"] == _data("bdl_standings-2023-24")


def test_a_season_without_standings_is_no_data() -> None:
    opts = StandingsOptions(season=Season(2030))
    parsed = STANDINGS.parse(opts, [json_page(STANDINGS.requests(opts)[0], {"data": []})], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2030-31" in parsed.no_data_reason


# --- bdl_teams ----------------------------------------------------------------------------------


def test_teams_land_current_and_defunct_franchises() -> None:
    opts = TeamsOptions()
    parsed = TEAMS.parse(opts, fixture_pages(TEAMS, opts, "bdl_teams-all"), TEST_CTX)
    assert list(parsed.document) == ["timestamp", "teamCount", "teams"]
    assert parsed.record_count == parsed.document["teamCount"] == 4
    assert [team["abbreviation"] for team in parsed.document["teams"]] == ["DAL", "PHI", "OKC", "SYS"]


def test_no_teams_is_a_broken_answer_never_no_data() -> None:
    with pytest.raises(ParseError, match="no teams"):
        TEAMS.parse(TeamsOptions(), [json_page(TEAMS.requests(TeamsOptions())[0], {"data": []})], TEST_CTX)


def test_a_team_listed_twice_is_a_parse_error() -> None:
    team = _data("bdl_teams-all")[0]
    page = json_page(TEAMS.requests(TeamsOptions())[0], {"data": [team, team]})
    with pytest.raises(ParseError, match="team 7 appears twice"):
        TEAMS.parse(TeamsOptions(), [page], TEST_CTX)


# --- bdl_odds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "given"),
    [
        (OddsOptions(game_date=None, game_id=None), "neither"),
        (OddsOptions(game_date=DAY, game_id=1037593), "both"),
    ],
)
def test_odds_need_exactly_one_of_date_or_game_id(opts: OddsOptions, given: str) -> None:
    with pytest.raises(OptionError, match=f"exactly one of game_date or game_id \\(got {given}\\)") as caught:
        ODDS.check_options(opts)
    assert caught.value.example == "2024-01-15"


@pytest.mark.parametrize(
    ("opts", "url"),
    [
        (ODDS_OF_DAY, "https://api.balldontlie.io/v1/odds?date=2024-01-15&per_page=100"),
        (ODDS_OF_GAME, "https://api.balldontlie.io/v1/odds?game_id=1037593&per_page=100"),
    ],
)
def test_odds_ask_by_date_or_by_game(opts: OddsOptions, url: str) -> None:
    ODDS.check_options(opts)
    (request,) = ODDS.requests(opts)
    assert request.full_url == url


def test_odds_of_a_date_land_every_row() -> None:
    parsed = ODDS.parse(ODDS_OF_DAY, fixture_pages(ODDS, ODDS_OF_DAY, "bdl_odds-2024-01-15"), TEST_CTX)
    assert parsed.metadata == {}  # a date's odds are not a per-game run
    document = parsed.document
    assert list(document) == ["ident", "timestamp", "rowCount", "odds"]
    assert document["ident"] == "date_2024-01-15"
    assert parsed.record_count == document["rowCount"] == 3
    assert document["odds"] == _data("bdl_odds-2024-01-15")


def test_odds_of_one_game_keep_only_that_game() -> None:
    rows = [row for row in _data("bdl_odds-2024-01-15") if row["game_id"] == 1037593]
    page = json_page(ODDS.requests(ODDS_OF_GAME)[0], {"data": rows})
    parsed = ODDS.parse(ODDS_OF_GAME, [page], TEST_CTX)
    assert (parsed.document["ident"], parsed.record_count) == ("game_1037593", 2)
    # Odds rows carry no teams or date: the completion names the game by its BallDontLie id only.
    assert parsed.metadata == {"game_id": 1037593}
    with pytest.raises(ParseError, match="hold a row of game 1037594"):
        ODDS.parse(ODDS_OF_GAME, [json_page(page.request, {"data": _data("bdl_odds-2024-01-15")})], TEST_CTX)


def test_a_day_without_odds_is_no_data() -> None:
    # The recorded empty answer of the old platform carried no meta: the walk ends there.
    page = json_page(ODDS.requests(ODDS_OF_DAY)[0], {"data": []})
    assert ODDS.next_request(ODDS_OF_DAY, page) is None
    parsed = ODDS.parse(ODDS_OF_DAY, [page], TEST_CTX)
    assert parsed.no_data_reason == "BallDontLie has no odds for date_2024-01-15"
