"""nbac_schedule_api / nbac_schedule_cdn: request plans, the flag rules and the pure parse."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.core.season import Season
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.schedule import (
    NbacScheduleApi,
    NbacScheduleCdn,
    ScheduleApiOptions,
    ScheduleCdnOptions,
    broadcast_flags,
    context_flags,
    mlk_day,
    time_slot,
)
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import landed_files, replay_json

API, CDN = NbacScheduleApi(), NbacScheduleCdn()
API_OPTS, CDN_OPTS = ScheduleApiOptions(season=Season(2023)), ScheduleCdnOptions()
API_SLUG, CDN_SLUG = "nbac_schedule_api-2023-24", "nbac_schedule_cdn-2023-24"
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
DEMO_DAY_IDS = ["0022300601", "0022300602", "0022300603", "0022300604"]


def _api_request() -> Request:
    (request,) = API.requests(API_OPTS)
    return request


def _cdn_request() -> Request:
    (request,) = CDN.requests(CDN_OPTS)
    return request


def _api_page(fixtures: Path) -> Page:
    return replayed_page(_api_request(), fixtures / "nbac", API_SLUG)


def _api_body(fixtures: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_api_page(fixtures).body)
    return body


def _parse_api(body: bytes, status: int = 200, head: dict[str, str] | None = None) -> Parsed:
    page = to_page(_api_request(), status, JSON_HEADERS if head is None else head, body)
    return API.parse(API_OPTS, [page], TEST_CTX)


def _games(parsed: Parsed) -> dict[str, dict[str, Any]]:
    return {game["gameId"]: game for game in parsed.document["games"]}


# --- request plans, fixtures and registry ---------------------------------------------------------


def test_api_asks_stats_nba_com_for_the_season() -> None:
    request = _api_request()

    assert request.url == "https://stats.nba.com/stats/scheduleleaguev2int"
    assert request.params == (("GameSubType", ""), ("LeagueID", "00"), ("Season", "2023-24"))
    assert request.headers is headers.STATS
    assert request.expect is BodyKind.JSON


def test_cdn_asks_the_static_file_with_the_data_profile() -> None:
    request = _cdn_request()

    assert request.full_url == "https://cdn.nba.com/static/json/staticData/scheduleLeagueV2_1.json"
    assert request.headers is headers.DATA


def test_fixture_exchanges_are_what_requests_produce(project_fixtures: Path) -> None:
    recordings = load_recordings(project_fixtures / "nbac")
    for request in (_api_request(), _cdn_request()):
        assert canonical_key(request.method, request.full_url, None) in recordings


def test_registry_entries_and_alias() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith(("nbac_schedule_api:", "nbac_schedule_cdn:"))] == []
    registry = load_registry()
    assert registry.get("nbac_schedule").name == "nbac_schedule_cdn"
    assert (
        registry.get("nbac_schedule_api").path
        == "nba-com/schedule/{actual_season_nba_format}/{timestamp}.json"
    )
    assert registry.get("nbac_schedule_cdn").path.startswith(
        "nba-com/schedule-cdn/{actual_season_nba_format}/"
    )


# --- parse: the demo season -----------------------------------------------------------------------


def test_api_lands_the_flattened_season(project_fixtures: Path) -> None:
    parsed = API.parse(API_OPTS, [_api_page(project_fixtures)], TEST_CTX)
    document = parsed.document

    assert parsed.record_count == 7
    assert parsed.path_values == {"actual_season_nba_format": "2023-24"}
    assert {k: v for k, v in document.items() if k not in ("games", "metadata", "meta")} == {
        "season": "2023",
        "season_nba_format": "2023-24",
        "seasonYear": "2023-24",
        "leagueId": "00",
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "game_count": 7,
        "date_count": 4,
    }
    assert document["meta"]["request"].endswith("/2023-24/scheduleleaguev2int?Format=json")
    assert [g["gameId"] for g in document["games"]] == [
        "0012300001",
        "0022300420",
        *DEMO_DAY_IDS,
        "0032300001",
    ]


def test_games_keep_raw_fields_drop_bulky_ones_and_carry_their_date(project_fixtures: Path) -> None:
    raw = _api_body(project_fixtures)["leagueSchedule"]["gameDates"][2]["games"][0]
    game = _games(API.parse(API_OPTS, [_api_page(project_fixtures)], TEST_CTX))["0022300601"]

    assert not {"broadcasters", "pointsLeaders", "seriesText"} & game.keys()
    assert {k: game[k] for k in raw if k in game} == {
        k: v for k, v in raw.items() if k not in ("broadcasters", "pointsLeaders", "seriesText")
    }
    assert game["gameDate"] == game["gameDateObj"] == "01/15/2024 00:00:00"


FLAG_KEYS = ("isPrimetime", "primaryNetwork", "traditionalNetworks", "isMLKDay", "timeSlot", "isChristmas")


def test_demo_day_flags(project_fixtures: Path) -> None:
    games = _games(API.parse(API_OPTS, [_api_page(project_fixtures)], TEST_CTX))

    # 2024-01-15 was MLK Day (third Monday); TNT national, NBA TV-only games are not.
    assert {gid: tuple(games[gid][k] for k in FLAG_KEYS) for gid in DEMO_DAY_IDS} == {
        "0022300601": (False, None, [], True, "early_evening", False),
        "0022300602": (False, None, [], True, "afternoon", False),
        "0022300603": (True, "TNT", ["TNT"], True, "primetime", False),
        "0022300604": (False, None, [], True, "primetime", False),
    }
    christmas, all_star = games["0022300420"], games["0032300001"]
    assert (christmas["isChristmas"], christmas["primaryNetwork"], christmas["traditionalNetworks"]) == (
        True,
        "ABC",
        ["ABC", "ESPN+"],
    )
    assert (all_star["isAllStar"], all_star["isRegularSeason"], all_star["isWeekend"]) == (True, False, True)


def test_metadata_summarises_the_season(project_fixtures: Path) -> None:
    metadata = API.parse(API_OPTS, [_api_page(project_fixtures)], TEST_CTX).document["metadata"]

    assert metadata["season"] == "2023-24"
    assert metadata["scraped_at"] == "2024-01-16T03:00:00.000000+00:00"
    assert metadata["regular_season"] == {"total": 5, "completed": 4, "live": 0, "scheduled": 1}
    assert metadata["allstar"] == {"total": 1, "completed": 0, "live": 0, "scheduled": 1}
    assert metadata["preseason"] == {"total": 1, "completed": 1, "live": 0, "scheduled": 0}
    assert metadata["season_progress"] == {
        "completion_percentage": 71.4,
        "total_completed": 5,
        "total_remaining": 2,
        "estimated_final_backfill": 5,
    }
    assert metadata["backfill"]["total_games"] == 4
    assert metadata["filtered"] == {"allstar_games": 1, "invalid_team_codes": 0, "invalid_team_examples": []}


def test_cdn_lands_the_api_shape_plus_its_source(project_fixtures: Path) -> None:
    cdn_page = replayed_page(_cdn_request(), project_fixtures / "nbac", CDN_SLUG)
    cdn = CDN.parse(CDN_OPTS, [cdn_page], TEST_CTX)
    api = API.parse(API_OPTS, [_api_page(project_fixtures)], TEST_CTX)

    assert cdn.record_count == 5
    assert cdn.path_values == {"actual_season_nba_format": "2023-24"}
    assert cdn.document["source"] == "cdn_static"
    assert cdn.document.keys() - {"source"} == api.document.keys()
    assert (cdn.document["season"], cdn.document["season_nba_format"]) == ("2023", "2023-24")
    for game_id, game in _games(cdn).items():
        assert game == _games(api)[game_id]


def test_parse_is_pure(project_fixtures: Path) -> None:
    page = _api_page(project_fixtures)
    before = copy.deepcopy(page.data)

    assert API.parse(API_OPTS, [page], TEST_CTX) == API.parse(API_OPTS, [page], TEST_CTX)
    assert page.data == before


# --- the flag rules --------------------------------------------------------------------------------


def _national(*displays: str) -> dict[str, Any]:
    return {"nationalTvBroadcasters": [{"broadcasterDisplay": display} for display in displays]}


@pytest.mark.parametrize(
    ("broadcasters", "season", "expected"),
    [
        (
            _national("ABC/ESPN/ESPN2/ESPN+/Disney+"),
            2024,
            (True, "ABC", ["ABC", "ESPN", "ESPN2", "ESPN+"], ["Disney+"]),
        ),
        (_national("TNT/truTV/Max"), 2024, (True, "TNT", ["TNT"], ["truTV", "Max"])),
        (_national("TNT/TBS/truTV"), 2024, (True, "TNT", ["TNT"], ["truTV"])),
        (_national("ESPNU/NBA TV"), 2024, (True, "ESPN", ["ESPNU"], [])),
        (_national("NBA TV"), 2024, (False, None, [], [])),
        (_national("TBD"), 2025, (False, None, [], [])),
        (_national("TNT"), 2023, (True, "TNT", ["TNT"], [])),  # TNT held rights before 2024-25 too
        (_national("TNT"), 2025, (False, None, [], [])),  # and no longer from 2025-26
        (_national("NBC/Peacock"), 2025, (True, "NBC", ["NBC", "Peacock"], [])),
        (_national("Prime Video"), 2025, (True, "Prime Video", ["Prime Video"], [])),
        (_national("Peacock"), 2024, (False, None, [], ["Peacock"])),
        (_national("ESPN", "ABC"), 2024, (True, "ABC", ["ESPN", "ABC"], [])),
        ({}, 2024, (False, None, [], [])),
        (None, 2024, (False, None, [], [])),
        ({"nationalTvBroadcasters": "ESPN"}, 2024, (False, None, [], [])),
    ],
)
def test_broadcast_flags(broadcasters: Any, season: int, expected: tuple[Any, ...]) -> None:
    flags = broadcast_flags(broadcasters, Season(season))
    primetime, primary, traditional, streaming = expected

    assert flags == {
        "isPrimetime": primetime,
        "hasNationalTV": bool(traditional or streaming),
        "primaryNetwork": primary,
        "traditionalNetworks": traditional,
        "streamingPlatforms": streaming,
    }


@pytest.mark.parametrize(
    ("label", "week", "expected"),
    [
        ("", "Week 12", (True, False, False, False, None)),
        ("Preseason", "", (False, False, False, False, None)),
        ("East First Round", "Week 27", (True, True, False, False, "first_round")),
        ("West Conf. Semifinals", "Week 29", (True, True, False, False, "conf_semifinals")),
        ("East Conf. Finals", "Week 31", (True, True, False, False, "conf_finals")),
        ("NBA Finals", "Week 33", (True, True, False, False, "nba_finals")),
        ("SoFi Play-In Tournament", "Week 26", (True, True, False, False, "play_in")),
        ("All-Star Championship", "", (False, False, True, False, None)),
        ("Rising Stars Semifinal", "", (False, False, True, False, None)),
        ("Emirates NBA Cup", "Week 6", (True, False, False, True, None)),
        ("Emirates NBA Cup", "", (False, False, False, True, None)),
    ],
)
def test_context_flags(label: str, week: str, expected: tuple[Any, ...]) -> None:
    flags = context_flags({"gameLabel": label, "weekName": week, "gameSubLabel": ""}, date(2025, 3, 1))

    keys = ("isRegularSeason", "isPlayoffs", "isAllStar", "isEmiratesCup", "playoffRound")
    assert tuple(flags[key] for key in keys) == expected


@pytest.mark.parametrize(
    ("day", "sub_label", "christmas", "mlk"),
    [
        (date(2024, 12, 25), "", True, False),
        (date(2025, 1, 20), "", False, True),  # third Monday of January 2025
        (date(2025, 1, 15), "", False, False),  # the old rule's hard-coded 01/15 (a Wednesday in 2025)
        (date(2025, 2, 1), "MLK Day Special", False, True),
        (date(2025, 2, 1), "Christmas Eve Eve", True, False),
        (date(2025, 2, 1), None, False, False),
    ],
)
def test_holiday_flags(day: date, sub_label: str | None, christmas: bool, mlk: bool) -> None:
    flags = context_flags({"gameSubLabel": sub_label}, day)

    assert (flags["isChristmas"], flags["isMLKDay"]) == (christmas, mlk)


@pytest.mark.parametrize(("year", "day"), [(2024, 15), (2025, 20), (2026, 19), (2029, 15), (2030, 21)])
def test_mlk_day_is_the_third_monday_of_january(year: int, day: int) -> None:
    assert mlk_day(year) == date(year, 1, day)


@pytest.mark.parametrize(
    ("game_time", "slot"),
    [
        ("1900-01-01T14:59:00Z", "afternoon"),
        ("1900-01-01T15:00:00Z", "early_evening"),
        ("1900-01-01T19:30:00Z", "early_evening"),
        ("1900-01-01T20:00:00Z", "primetime"),
        ("2025-01-20T19:30:00", "early_evening"),
        ("19:30:00", "early_evening"),
        ("", "unknown"),
        (None, "unknown"),
        ("TBD", "unknown"),
    ],
)
def test_time_slot(game_time: Any, slot: str) -> None:
    assert time_slot(game_time) == slot


# --- no data ----------------------------------------------------------------------------------------


def test_unpublished_season_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    body = _api_body(project_fixtures)
    body["leagueSchedule"]["gameDates"] = []

    parsed = _parse_api(json.dumps(body).encode())

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2023-24" in parsed.no_data_reason
    assert parsed.document["games"] == []
    assert parsed.path_values == {"actual_season_nba_format": "2023-24"}


def test_dates_without_games_are_no_data(project_fixtures: Path) -> None:
    body = _api_body(project_fixtures)
    for day in body["leagueSchedule"]["gameDates"]:
        day["games"] = []

    parsed = _parse_api(json.dumps(body).encode())

    assert (parsed.record_count, parsed.document["date_count"]) == (0, 4)
    assert parsed.no_data_reason is not None


def test_http_204_is_no_data_and_still_has_a_path() -> None:
    api = _parse_api(b"", status=204, head={})
    cdn_page = to_page(_cdn_request(), 204, {}, b"")
    # Fetched on 2025-10-01 (Eastern): the 2025-26 season is the current one.
    autumn = ParseContext(fetched_at=datetime(2025, 10, 1, 16, 0, tzinfo=UTC), run_id="test0002")
    cdn = CDN.parse(CDN_OPTS, [cdn_page], autumn)

    assert (api.record_count, api.path_values) == (0, {"actual_season_nba_format": "2023-24"})
    assert api.no_data_reason is not None
    assert "204" in api.no_data_reason
    assert (cdn.record_count, cdn.path_values) == (0, {"actual_season_nba_format": "2025-26"})


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def _league(body: dict[str, Any]) -> dict[str, Any]:
    league: dict[str, Any] = body["leagueSchedule"]
    return league


def _set_league(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        _league(body)[key] = value
        return body

    return mutate


def _first_date(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        _league(body)["gameDates"][0][key] = value
        return body

    return mutate


def _numeric_game_id(body: dict[str, Any]) -> Any:
    _league(body)["gameDates"][0]["games"][0]["gameId"] = 12300001
    return body


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("league-schedule-list", lambda body: {"leagueSchedule": []}),
    ("result-sets-shape", lambda body: {"resultSets": []}),
    ("no-game-dates", lambda body: {"leagueSchedule": {"seasonYear": "2023-24"}}),
    ("game-dates-object", _set_league("gameDates", {})),
    ("no-season-year", _set_league("seasonYear", None)),
    ("garbled-season-year", _set_league("seasonYear", "2023-25")),
    ("other-season", _set_league("seasonYear", "2022-23")),
    ("date-label-not-a-date", _first_date("gameDate", "soon")),
    ("games-object", _first_date("games", {})),
    ("game-not-object", _first_date("games", ["0012300001"])),
    ("numeric-game-id", _numeric_game_id),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_api_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse_api(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


# --- replay through the CLI ---------------------------------------------------------------------------


def test_replay_lands_the_api_schedule_under_its_season(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_schedule_api", "--season", "2023")
    (landed,) = landed_files(result)

    assert (result["status"], result["record_count"]) == ("success", 7)
    assert landed.parent == tmp_path / "nba-com" / "schedule" / "2023-24"
    assert json.loads(landed.read_text())["game_count"] == 7


def test_replay_of_the_alias_lands_the_cdn_schedule(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_schedule")
    (landed,) = landed_files(result)

    assert (result["scraper"], result["status"], result["record_count"]) == (
        "nbac_schedule_cdn",
        "success",
        5,
    )
    assert landed.parent == tmp_path / "nba-com" / "schedule-cdn" / "2023-24"
    assert json.loads(landed.read_text())["source"] == "cdn_static"
