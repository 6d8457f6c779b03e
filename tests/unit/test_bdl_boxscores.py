"""bdl_box_scores, bdl_live_box_scores, bdl_player_box_scores: requests and the pure parse.

Failures shared by every BDL scraper (error statuses, wrong shapes of the data/meta wrapper) and the
CLI replay are in test_bdl_common; bodies that are no answer at all are in test_malformed_bodies.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from scrapers.core.errors import OptionError, ParseError
from scrapers.sources.bdl.boxscores import (
    BdlBoxScores,
    BdlLiveBoxScores,
    BdlPlayerBoxScores,
    BoxScoresOptions,
    LiveBoxScoresOptions,
    PlayerBoxScoresOptions,
)
from tests.pages import TEST_CTX
from tests.unit.test_bdl_common import FIXTURES, fixture_pages, json_page

DAY = date(2024, 1, 15)
BOX = BdlBoxScores()
LIVE = BdlLiveBoxScores()
STATS = BdlPlayerBoxScores()
LIVE_OPTS = LiveBoxScoresOptions()


def _body(slug: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{slug}.body.json").read_text(encoding="utf-8"))
    return body


def _stats_opts(
    start: date = DAY,
    end: date = DAY,
    games: tuple[str, ...] | None = None,
    players: tuple[str, ...] | None = None,
) -> PlayerBoxScoresOptions:
    return PlayerBoxScoresOptions(start_date=start, end_date=end, game_ids=games, player_ids=players)


# --- bdl_box_scores -----------------------------------------------------------------------------


def test_box_scores_ask_for_one_date_without_paging() -> None:
    (request,) = BOX.requests(BoxScoresOptions(game_date=DAY))
    assert request.full_url == "https://api.balldontlie.io/v1/box_scores?date=2024-01-15"


def test_box_scores_land_every_game_of_the_date() -> None:
    opts = BoxScoresOptions(game_date=DAY)
    parsed = BOX.parse(opts, fixture_pages(BOX, opts, "bdl_box_scores-2024-01-15"), TEST_CTX)
    document = parsed.document
    assert list(document) == ["date", "timestamp", "rowCount", "boxScores"]
    assert (document["date"], document["timestamp"]) == ("2024-01-15", "2024-01-16T03:00:00.000000+00:00")
    assert parsed.record_count == document["rowCount"] == 3
    assert document["boxScores"] == _body("bdl_box_scores-2024-01-15")["data"]
    matchups = [
        (g["visitor_team"]["abbreviation"], g["home_team"]["abbreviation"]) for g in document["boxScores"]
    ]
    assert matchups == [("HOU", "PHI"), ("NOP", "DAL"), ("GSW", "MEM")]


def test_a_day_without_games_is_no_data_with_a_reason() -> None:
    opts = BoxScoresOptions(game_date=date(2024, 2, 16))
    parsed = BOX.parse(opts, fixture_pages(BOX, opts, "bdl_box_scores-2024-02-16"), TEST_CTX)
    assert parsed.record_count == parsed.document["rowCount"] == 0
    assert parsed.document["boxScores"] == []
    assert parsed.no_data_reason == "BallDontLie has no box scores for 2024-02-16"


@pytest.mark.parametrize(
    ("day", "match"), [("2024-01-14", "outside 2024-01-15 to 2024-01-15"), ("Monday", "not YYYY-MM-DD")]
)
def test_a_game_of_another_day_is_a_parse_error(day: str, match: str) -> None:
    opts = BoxScoresOptions(game_date=DAY)
    body = _body("bdl_box_scores-2024-01-15")
    body["data"][1]["date"] = day
    with pytest.raises(ParseError, match=match):
        BOX.parse(opts, [json_page(BOX.requests(opts)[0], body)], TEST_CTX)


# --- bdl_live_box_scores ------------------------------------------------------------------------


def test_live_box_scores_poll_the_live_endpoint_without_parameters() -> None:
    (request,) = LIVE.requests(LIVE_OPTS)
    assert request.full_url == "https://api.balldontlie.io/v1/box_scores/live"


def test_live_box_scores_land_the_games_in_progress_with_a_poll_id() -> None:
    parsed = LIVE.parse(LIVE_OPTS, fixture_pages(LIVE, LIVE_OPTS, "bdl_live_box_scores-live"), TEST_CTX)
    document = parsed.document
    assert list(document) == ["timestamp", "pollId", "gameCount", "liveBoxes"]
    assert document["pollId"] == "20240116T030000Z"
    assert parsed.record_count == document["gameCount"] == 1
    assert document["liveBoxes"] == _body("bdl_live_box_scores-live")["data"]
    assert document["liveBoxes"][0]["status"] == "3rd Qtr"


def test_no_game_in_progress_is_no_data() -> None:
    # The endpoint's real answer between games: `{"data":[]}` without meta.
    parsed = LIVE.parse(LIVE_OPTS, [json_page(LIVE.requests(LIVE_OPTS)[0], {"data": []})], TEST_CTX)
    assert (parsed.record_count, parsed.document["liveBoxes"]) == (0, [])
    assert parsed.no_data_reason == "BallDontLie has no game in progress at 20240116T030000Z"


# --- bdl_player_box_scores ----------------------------------------------------------------------


def test_player_box_scores_ask_for_the_range_with_every_filter() -> None:
    opts = _stats_opts(end=date(2024, 1, 16), games=("1037593", "1037594"), players=("900101",))
    (request,) = STATS.requests(opts)
    assert request.url == "https://api.balldontlie.io/v1/stats"
    assert request.params == (
        ("start_date", "2024-01-15"),
        ("end_date", "2024-01-16"),
        ("game_ids[]", "1037593"),
        ("game_ids[]", "1037594"),
        ("player_ids[]", "900101"),
        ("per_page", "100"),
    )


def test_player_box_scores_end_before_start_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="end_date"):
        STATS.check_options(_stats_opts(end=date(2024, 1, 14)))


@pytest.mark.parametrize(
    ("games", "players", "option"), [(("LAL",), None, "game_ids"), (None, ("1", "x"), "player_ids")]
)
def test_ids_that_are_not_numbers_are_option_errors(
    games: tuple[str, ...] | None, players: tuple[str, ...] | None, option: str
) -> None:
    with pytest.raises(OptionError) as caught:
        STATS.check_options(_stats_opts(games=games, players=players))
    assert caught.value.option == option


def test_player_box_scores_land_every_stat_line() -> None:
    opts = _stats_opts()
    parsed = STATS.parse(opts, fixture_pages(STATS, opts, "bdl_player_box_scores-2024-01-15"), TEST_CTX)
    document = parsed.document
    assert list(document) == ["startDate", "endDate", "datesProcessed", "timestamp", "rowCount", "stats"]
    assert document["datesProcessed"] == ["2024-01-15"]
    assert parsed.record_count == document["rowCount"] == 16  # both teams of Houston at Philadelphia
    assert document["stats"] == _body("bdl_player_box_scores-2024-01-15")["data"]


def test_pages_of_a_range_are_concatenated_and_every_date_is_listed() -> None:
    opts = _stats_opts(start=date(2024, 1, 14), end=date(2024, 1, 16), players=("901101", "901102", "901103"))
    rows = _body("bdl_player_box_scores-2024-01-15")["data"][:3]  # those three players' lines
    first = json_page(STATS.requests(opts)[0], {"data": rows[:2], "meta": {"next_cursor": 14900003}})
    following = STATS.next_request(opts, first)
    assert following == STATS.endpoint.request(STATS.query(opts), "14900003")
    last = json_page(following, {"data": rows[2:], "meta": {"per_page": 100}})
    assert STATS.next_request(opts, last) is None
    parsed = STATS.parse(opts, [first, last], TEST_CTX)
    assert [row["id"] for row in parsed.document["stats"]] == [14900001, 14900002, 14900003]
    assert parsed.document["datesProcessed"] == ["2024-01-14", "2024-01-15", "2024-01-16"]


@pytest.mark.parametrize(
    ("game", "match"),
    [
        ({"id": 1, "date": "2024-01-17"}, "outside"),
        ("1037593", "'game' is not an object"),
        ({"id": 1}, "None"),
    ],
)
def test_a_stat_line_of_another_game_day_is_a_parse_error(game: object, match: str) -> None:
    opts = _stats_opts()
    body = _body("bdl_player_box_scores-2024-01-15")
    body["data"][0]["game"] = game
    with pytest.raises(ParseError, match=match):
        STATS.parse(opts, [json_page(STATS.requests(opts)[0], body)], TEST_CTX)


def test_stat_lines_of_one_game_name_it_and_its_canonical_key() -> None:
    opts = _stats_opts(games=("1037593",))
    body = _body("bdl_player_box_scores-2024-01-15")
    parsed = STATS.parse(opts, [json_page(STATS.requests(opts)[0], body)], TEST_CTX)
    # The game's home_team_id 23 is PHI and visitor_team_id 11 is HOU, by the lines' own teams.
    assert parsed.metadata == {"game_id": 1037593, "game_key": "20240115_HOU_PHI"}


def test_lines_of_only_one_team_name_the_game_without_a_key() -> None:
    opts = _stats_opts(games=("1037593",))
    body = _body("bdl_player_box_scores-2024-01-15")
    body["data"] = [row for row in body["data"] if row["team"]["abbreviation"] == "PHI"]
    parsed = STATS.parse(opts, [json_page(STATS.requests(opts)[0], body)], TEST_CTX)
    assert parsed.metadata == {"game_id": 1037593}


@pytest.mark.parametrize("games", [None, ("1037593", "1037594")])
def test_stat_lines_of_a_date_or_several_games_are_not_per_game(games: tuple[str, ...] | None) -> None:
    opts = _stats_opts(games=games)
    body = _body("bdl_player_box_scores-2024-01-15")
    assert STATS.parse(opts, [json_page(STATS.requests(opts)[0], body)], TEST_CTX).metadata == {}


def test_no_stat_lines_is_no_data_naming_the_filters() -> None:
    opts = _stats_opts(players=("900101",))
    page = json_page(STATS.requests(opts)[0], {"data": [], "meta": {"per_page": 100}})
    parsed = STATS.parse(opts, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason == (
        "BallDontLie has no player box scores from 2024-01-15 to 2024-01-15 for the given game/player ids"
    )
