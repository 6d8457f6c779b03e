"""The six BallDontLie scrapers the old platform never landed: requests, options, documents, walks.

bdl_team_detail, bdl_player_detail, bdl_game_detail (one object each), bdl_game_adv_stats
(`/stats/advanced`, cursor), bdl_player_averages (`/season_averages/{category}`, chunks of 100
player ids, each walked with its own cursor) and bdl_player_leaders (`/leaders`). Malformed bodies
every scraper meets are in test_malformed_bodies; the CLI replays are at the end of this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrapers.core.errors import OptionError, ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page
from scrapers.core.season import Season
from scrapers.sources.bdl.advanced import BdlGameAdvStats, GameAdvStatsOptions, one_game
from scrapers.sources.bdl.averages import BdlPlayerAverages, PlayerAveragesOptions
from scrapers.sources.bdl.common import API_KEY
from scrapers.sources.bdl.details import (
    BdlGameDetail,
    BdlPlayerDetail,
    BdlTeamDetail,
    GameDetailOptions,
    PlayerDetailOptions,
    TeamDetailOptions,
)
from scrapers.sources.bdl.leaders import BdlPlayerLeaders, PlayerLeadersOptions
from tests.conformance.landing import land
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import landed_files, replay_json
from tests.unit.test_bdl_common import FIXTURES, fixture_pages, json_page

DAY = date(2024, 1, 15)
ADV = BdlGameAdvStats()
ADV_OPTS = GameAdvStatsOptions(start_date=DAY, end_date=DAY, game_ids=("1037593",), player_ids=None)
AVERAGES = BdlPlayerAverages()
SEASON = Season(2023)
LEADERS = BdlPlayerLeaders()
LEADERS_OPTS = PlayerLeadersOptions(season=SEASON, stat_type="pts")


def _body(slug: str) -> Any:
    return json.loads((FIXTURES / f"{slug}.body.json").read_text(encoding="utf-8"))


def _averages_opts(
    ids: tuple[str, ...] | None = ("901101", "901201"), **changes: str
) -> PlayerAveragesOptions:
    split = {"category": "general", "seasonType": "regular", "type": "base", **changes}
    return PlayerAveragesOptions(season=SEASON, player_ids=ids, **split)


# --- the three detail endpoints -----------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    scraper: BdlTeamDetail | BdlPlayerDetail | BdlGameDetail
    opts: Any
    slug: str
    url: str
    id_key: str
    key: str

    def fixture_page(self) -> Page:
        (request,) = self.scraper.requests(self.opts)
        return replayed_page(request, FIXTURES, self.slug)


DETAILS = (
    Detail(
        BdlTeamDetail(),
        TeamDetailOptions(team_id=23),
        "bdl_team_detail-23",
        "https://api.balldontlie.io/v1/teams/23",
        "teamId",
        "team",
    ),
    Detail(
        BdlPlayerDetail(),
        PlayerDetailOptions(player_id=901101),
        "bdl_player_detail-901101",
        "https://api.balldontlie.io/v1/players/901101",
        "playerId",
        "player",
    ),
    Detail(
        BdlGameDetail(),
        GameDetailOptions(game_id=1037593),
        "bdl_game_detail-1037593",
        "https://api.balldontlie.io/v1/games/1037593",
        "gameId",
        "game",
    ),
)


@pytest.mark.parametrize("item", DETAILS, ids=lambda item: item.key)
def test_a_detail_asks_for_its_object_with_the_key_as_a_reference(item: Detail) -> None:
    (request,) = item.scraper.requests(item.opts)
    assert request.full_url == item.url
    assert request.secrets == (API_KEY,)


@pytest.mark.parametrize("item", DETAILS, ids=lambda item: item.key)
def test_a_detail_lands_the_object_unwrapped_under_the_old_keys(item: Detail) -> None:
    parsed = item.scraper.parse(item.opts, [item.fixture_page()], TEST_CTX)
    wanted = item.scraper.object_id(item.opts)
    assert parsed.document == {
        item.id_key: wanted,
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        item.key: _body(item.slug)["data"],
    }
    assert (parsed.record_count, parsed.no_data_reason) == (1, None)


@pytest.mark.parametrize("item", DETAILS, ids=lambda item: item.key)
def test_an_answer_about_another_object_never_lands_as_the_one_asked_for(item: Detail) -> None:
    other = {**_body(item.slug)["data"], "id": 7}
    page = json_page(item.scraper.requests(item.opts)[0], {"data": other})
    with pytest.raises(ParseError, match=f"answered {item.key} 7 when {item.key} "):
        item.scraper.parse(item.opts, [page], TEST_CTX)


@pytest.mark.parametrize("item", DETAILS, ids=lambda item: item.key)
@pytest.mark.parametrize("data", [[], None, "x", {"id": True}], ids=["list", "null", "text", "true-id"])
def test_a_detail_whose_data_is_not_the_object_is_a_parse_error(item: Detail, data: object) -> None:
    page = json_page(item.scraper.requests(item.opts)[0], {"data": data})
    with pytest.raises(ParseError) as caught:
        item.scraper.parse(item.opts, [page], TEST_CTX)
    assert caught.value.outcome is Outcome.STRUCTURAL


@pytest.mark.parametrize("item", DETAILS, ids=lambda item: item.key)
def test_an_unknown_id_is_not_found_never_no_data(item: Detail) -> None:
    with pytest.raises(ScrapeError) as caught:
        json_page(item.scraper.requests(item.opts)[0], {"error": "Not Found"}, 404)
    assert caught.value.outcome is Outcome.NOT_FOUND


@pytest.mark.parametrize(
    ("scraper", "opts", "option"),
    [
        (BdlTeamDetail(), TeamDetailOptions(team_id=0), "teamId"),
        (BdlPlayerDetail(), PlayerDetailOptions(player_id=-237), "playerId"),
        (BdlGameDetail(), GameDetailOptions(game_id=0), "gameId"),
    ],
)
def test_an_id_below_one_is_refused_before_any_request(scraper: Any, opts: Any, option: str) -> None:
    with pytest.raises(OptionError) as caught:
        scraper.check_options(opts)
    assert caught.value.option == option


def test_a_game_detail_is_filed_under_its_eastern_date_with_its_game_key() -> None:
    item = DETAILS[2]
    parsed = item.scraper.parse(item.opts, [item.fixture_page()], TEST_CTX)
    assert parsed.path_values == {"date": "2024-01-15"}
    assert parsed.metadata == {"game_key": "20240115_HOU_PHI", "game_id": 1037593}


def test_a_late_game_keeps_its_eastern_date_not_the_utc_tip_off() -> None:
    # 8 pm ET on 2025-06-22 is 00:00 UTC the next day; BallDontLie's `date` is the Eastern day.
    game = {
        **_body("bdl_game_detail-1037593")["data"],
        "date": "2025-06-22",
        "datetime": "2025-06-23T00:00:00.000Z",
    }
    item = DETAILS[2]
    parsed = item.scraper.parse(
        item.opts, [json_page(item.scraper.requests(item.opts)[0], {"data": game})], TEST_CTX
    )
    assert parsed.metadata["game_key"] == "20250622_HOU_PHI"


def test_a_game_without_its_teams_cannot_name_itself() -> None:
    game = {**_body("bdl_game_detail-1037593")["data"], "home_team": None}
    item = DETAILS[2]
    page = json_page(item.scraper.requests(item.opts)[0], {"data": game})
    with pytest.raises(ParseError, match="'home_team' has no abbreviation"):
        item.scraper.parse(item.opts, [page], TEST_CTX)


# --- bdl_game_adv_stats -------------------------------------------------------------------------


def test_adv_stats_ask_one_date_range_with_the_filters_on_every_page() -> None:
    opts = GameAdvStatsOptions(
        start_date=DAY, end_date=date(2024, 1, 16), game_ids=("1", "2"), player_ids=("3",)
    )
    (request,) = ADV.requests(opts)
    assert request.url == "https://api.balldontlie.io/v1/stats/advanced"
    assert request.params == (
        ("start_date", "2024-01-15"),
        ("end_date", "2024-01-16"),
        ("game_ids[]", "1"),
        ("game_ids[]", "2"),
        ("player_ids[]", "3"),
        ("per_page", "100"),
    )
    following = ADV.next_request(opts, json_page(request, {"data": [], "meta": {"next_cursor": 88}}))
    assert following is not None
    assert following.params == (*request.params, ("cursor", "88"))


def test_adv_stats_of_one_game_walk_two_pages_and_name_the_game() -> None:
    pages = fixture_pages(
        ADV, ADV_OPTS, "bdl_game_adv_stats-2024-01-15-page1", "bdl_game_adv_stats-2024-01-15-page2"
    )
    parsed = ADV.parse(ADV_OPTS, pages, TEST_CTX)
    document = parsed.document
    assert list(document) == ["ident", "timestamp", "rowCount", "advancedStats"]
    rows = (
        _body("bdl_game_adv_stats-2024-01-15-page1")["data"]
        + _body("bdl_game_adv_stats-2024-01-15-page2")["data"]
    )
    assert document["advancedStats"] == rows
    assert (document["ident"], parsed.record_count, document["rowCount"]) == ("g1", 6, 6)
    assert parsed.metadata == {"game_key": "20240115_HOU_PHI", "game_id": 1037593}


def test_adv_stats_of_one_side_only_name_the_game_by_id() -> None:
    rows = [row for row in _body("bdl_game_adv_stats-2024-01-15-page1")["data"] if row["team"]["id"] == 23]
    assert one_game(rows) == {"game_id": 1037593}


def test_adv_stats_of_several_games_name_none() -> None:
    row = _body("bdl_game_adv_stats-2024-01-15-page1")["data"][0]
    other = {**row, "id": 1, "game": {**row["game"], "id": 1037594}}
    assert one_game([row, other]) == {}


@pytest.mark.parametrize(
    ("opts", "ident"),
    [
        (
            GameAdvStatsOptions(start_date=DAY, end_date=DAY, game_ids=None, player_ids=None),
            "2024-01-15_2024-01-15",
        ),
        (GameAdvStatsOptions(start_date=DAY, end_date=DAY, game_ids=("1", "2"), player_ids=("3",)), "p1_g2"),
    ],
)
def test_adv_stats_ident_is_the_old_platforms(opts: GameAdvStatsOptions, ident: str) -> None:
    parsed = ADV.parse(
        opts, [json_page(ADV.requests(opts)[0], {"data": [], "meta": {"per_page": 100}})], TEST_CTX
    )
    assert parsed.document["ident"] == ident
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert parsed.no_data_reason.startswith("BallDontLie has no advanced stats from 2024-01-15 to 2024-01-15")


def test_adv_stats_of_another_day_never_land_under_this_one() -> None:
    row = _body("bdl_game_adv_stats-2024-01-15-page1")["data"][0]
    late = {**row, "game": {**row["game"], "date": "2024-01-17"}}
    page = json_page(ADV.requests(ADV_OPTS)[0], {"data": [late], "meta": {"per_page": 100}})
    with pytest.raises(ParseError, match="outside 2024-01-15 to 2024-01-15"):
        ADV.parse(ADV_OPTS, [page], TEST_CTX)


@pytest.mark.parametrize(("option", "field"), [("game_ids", "game_ids"), ("player_ids", "player_ids")])
def test_adv_stats_ids_must_be_ids(option: str, field: str) -> None:
    opts = GameAdvStatsOptions(start_date=DAY, end_date=DAY, game_ids=None, player_ids=None)
    bad = GameAdvStatsOptions(**{**opts.__dict__, field: ("1037593", "PHI")})
    with pytest.raises(OptionError, match="are not all BallDontLie ids") as caught:
        ADV.check_options(bad)
    assert caught.value.option == option


# --- bdl_player_averages ------------------------------------------------------------------------


def test_averages_put_the_category_in_the_path_and_the_split_in_the_query() -> None:
    (request,) = AVERAGES.requests(_averages_opts(category="defense", type="overall", seasonType="playoffs"))
    assert request.url == "https://api.balldontlie.io/v1/season_averages/defense"
    assert request.params == (
        ("season", "2023"),
        ("season_type", "playoffs"),
        ("type", "overall"),
        ("player_ids[]", "901101"),
        ("player_ids[]", "901201"),
        ("per_page", "100"),
    )


def test_averages_ask_100_players_a_request_each_once() -> None:
    ids = tuple(str(n) for n in range(1, 151))
    first, second = AVERAGES.requests(_averages_opts((*ids, "1", "002")))
    chunks = [
        [value for name, value in request.params if name == "player_ids[]"] for request in (first, second)
    ]
    assert chunks == [list(ids[:100]), list(ids[100:])]


def test_each_chunk_walks_its_own_cursor() -> None:
    ids = tuple(str(n) for n in range(1, 151))
    opts = _averages_opts(ids)
    _, second = AVERAGES.requests(opts)
    following = AVERAGES.next_request(opts, json_page(second, {"data": [], "meta": {"next_cursor": 25}}))
    assert following is not None
    assert (following.url, following.params) == (second.url, (*second.params, ("cursor", "25")))


def test_averages_without_ids_walk_the_whole_league() -> None:
    opts = _averages_opts(None)
    (request,) = AVERAGES.requests(opts)
    assert "player_ids[]" not in dict(request.params)
    parsed = AVERAGES.parse(opts, [json_page(request, {"data": [], "meta": {"per_page": 100}})], TEST_CTX)
    assert parsed.document["ident"] == "2023_general_regular_base_0p_league"
    assert parsed.document["playerCountRequested"] == 0
    assert parsed.no_data_reason == "BallDontLie has no general_regular_base averages for 2023-24"


def test_averages_land_under_the_old_keys_and_the_season_start_year() -> None:
    opts = _averages_opts()
    parsed = AVERAGES.parse(
        opts, fixture_pages(AVERAGES, opts, "bdl_player_averages-2023-general-base"), TEST_CTX
    )
    assert parsed.document == {
        "ident": "2023_general_regular_base_2p_901101,901201",
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "season": 2023,
        "category": "general",
        "seasonType": "regular",
        "statType": "base",
        "playerCountRequested": 2,
        "rowCount": 2,
        "playerAverages": _body("bdl_player_averages-2023-general-base")["data"],
    }
    assert parsed.path_values == {"season_year": "2023"}


def test_averages_ident_names_three_players_then_etc() -> None:
    opts = _averages_opts(("1", "2", "3", "4"))
    pages = [json_page(request, {"data": [], "meta": {}}) for request in AVERAGES.requests(opts)]
    parsed = AVERAGES.parse(opts, pages, TEST_CTX)
    assert parsed.document["ident"] == "2023_general_regular_base_4p_1,2,3etc"
    assert parsed.no_data_reason is not None
    assert parsed.no_data_reason.endswith("for the given player ids")
    # No rows still lands (no_data), in the season's folder.
    assert parsed.path_values == {"season_year": "2023"}


@pytest.mark.parametrize(
    ("player_ids", "problem"),
    [((901101, 777), "player 777, who was not asked for"), ((901101, 901101), "player 901101 appear twice")],
)
def test_averages_of_players_not_asked_for_or_twice_are_parse_errors(
    player_ids: tuple[int, int], problem: str
) -> None:
    row = _body("bdl_player_averages-2023-general-base")["data"][0]
    rows = [{**row, "player": {**row["player"], "id": player_id}} for player_id in player_ids]
    opts = _averages_opts()
    page = json_page(AVERAGES.requests(opts)[0], {"data": rows, "meta": {"per_page": 100}})
    with pytest.raises(ParseError, match=problem):
        AVERAGES.parse(opts, [page], TEST_CTX)


def test_averages_player_ids_must_be_ids() -> None:
    with pytest.raises(OptionError, match="are not all BallDontLie ids"):
        AVERAGES.check_options(_averages_opts(("237", "LeBron")))


def test_two_chunks_each_with_a_second_page_land_every_row(tmp_path: Path) -> None:
    """Through the run path: 150 ids are two chunks, and each chunk's cursor page keeps its ids."""
    ids = [str(n) for n in range(1, 151)]
    template = _body("bdl_player_averages-2023-general-base")["data"][0]
    seen: list[httpx.URL] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        chunk = request.url.params.get_list("player_ids[]")
        # The first page of a chunk holds its first id's row and a cursor; the second, the rest.
        cursor = request.url.params.get("cursor")
        players = chunk[1:] if cursor else chunk[:1]
        meta = {"per_page": 100} if cursor else {"per_page": 100, "next_cursor": int(chunk[0])}
        rows = [{**template, "player": {**template["player"], "id": int(pid)}} for pid in players]
        return httpx.Response(200, json={"data": rows, "meta": meta})

    landed = land(tmp_path, "bdl_player_averages", {"season": "2023", "playerIds": ",".join(ids)}, upstream)
    assert landed.result.status.value == "success", landed.result.to_dict()
    assert [str(row["player"]["id"]) for row in landed.document["playerAverages"]] == ids
    assert [(len(url.params.get_list("player_ids[]")), url.params.get("cursor")) for url in seen] == [
        (100, None),
        (100, "1"),
        (50, None),
        (50, "101"),
    ]
    assert landed.result.landed[0].split("/out/")[1].startswith("ball-dont-lie/player-averages/2023/")


# --- bdl_player_leaders -------------------------------------------------------------------------


def test_leaders_ask_for_one_season_and_statistic() -> None:
    (request,) = LEADERS.requests(LEADERS_OPTS)
    assert request.full_url == "https://api.balldontlie.io/v1/leaders?season=2023&stat_type=pts&per_page=100"


def test_leaders_land_under_the_old_keys() -> None:
    parsed = LEADERS.parse(
        LEADERS_OPTS, fixture_pages(LEADERS, LEADERS_OPTS, "bdl_player_leaders-2023-pts"), TEST_CTX
    )
    assert list(parsed.document) == ["ident", "timestamp", "rowCount", "leaders"]
    assert parsed.document["ident"] == "2023_pts"
    assert parsed.document["leaders"] == _body("bdl_player_leaders-2023-pts")["data"]
    assert parsed.record_count == parsed.document["rowCount"] == 3


@pytest.mark.parametrize(("field", "value"), [("stat_type", "reb"), ("season", 2022)])
def test_another_boards_leader_never_lands_as_this_one(field: str, value: object) -> None:
    rows = _body("bdl_player_leaders-2023-pts")["data"]
    rows[1][field] = value
    with pytest.raises(ParseError, match="for pts of 2023"):
        LEADERS.parse(LEADERS_OPTS, [json_page(LEADERS.requests(LEADERS_OPTS)[0], {"data": rows})], TEST_CTX)


def test_a_season_without_leaders_is_no_data() -> None:
    opts = PlayerLeadersOptions(season=Season(2030), stat_type="blk")
    parsed = LEADERS.parse(opts, [json_page(LEADERS.requests(opts)[0], {"data": []})], TEST_CTX)
    assert (parsed.record_count, parsed.no_data_reason) == (0, "BallDontLie has no blk leaders for 2030-31")


def test_leaders_may_omit_meta_but_a_cursor_is_followed() -> None:
    (request,) = LEADERS.requests(LEADERS_OPTS)
    assert LEADERS.next_request(LEADERS_OPTS, json_page(request, {"data": []})) is None
    following = LEADERS.next_request(
        LEADERS_OPTS, json_page(request, {"data": [], "meta": {"next_cursor": 4}})
    )
    assert following is not None
    assert following.params == (*request.params, ("cursor", "4"))


# --- the CLI replays each from the project's fixtures -------------------------------------------


@pytest.mark.parametrize(
    ("scraper", "flags", "folder", "records", "metadata"),
    [
        ("bdl_team_detail", ("--teamId", "23"), "team-detail/{date}/team_23", 1, {}),
        ("bdl_player_detail", ("--playerId", "901101"), "player-detail/{date}/player_901101", 1, {}),
        (
            "bdl_game_detail",
            ("--gameId", "1037593"),
            "game-detail/2024-01-15/game_1037593",
            1,
            {"game_key": "20240115_HOU_PHI", "game_id": 1037593},
        ),
        (
            "bdl_game_adv_stats",
            ("--startDate", "2024-01-15", "--endDate", "2024-01-15", "--gameIds", "1037593"),
            "game-adv-stats/2024-01-15",
            6,
            {"game_key": "20240115_HOU_PHI", "game_id": 1037593},
        ),
        (
            "bdl_player_averages",
            ("--season", "2023-24", "--playerIds", "901101,901201"),
            "player-averages/2023",
            2,
            {},
        ),
        (
            "bdl_player_leaders",
            ("--season", "2023", "--statType", "pts"),
            "player-leaders/{date}/season_2023-24-pts",
            3,
            {},
        ),
    ],
)
def test_cli_replay_lands_under_the_path_contract(
    tmp_path: Path, scraper: str, flags: tuple[str, ...], folder: str, records: int, metadata: dict[str, Any]
) -> None:
    result = replay_json(tmp_path, scraper, *flags)
    assert (result["status"], result["record_count"]) == ("success", records)
    assert result["quality"]["status"] == "ok"
    assert result["metadata"] == metadata
    (landed,) = landed_files(result)
    # Undated runs land under the Eastern date of the run (`game_date` of the result).
    assert landed.parent == tmp_path / "ball-dont-lie" / folder.format(date=result["game_date"])
    assert "quality" not in json.loads(landed.read_text(encoding="utf-8"))
