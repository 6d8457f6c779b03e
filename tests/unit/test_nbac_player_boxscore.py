"""nbac_player_boxscore: the season-type calendar, option checks, request plan and the pure parse."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions, OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Parsed
from scrapers.core.season import Season
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.pipeline.runner import prepare
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.player_boxscore import (
    CALENDARS,
    NbacPlayerBoxscore,
    PlayerBoxscoreOptions,
    season_type_on,
)
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import landed_files, replay_json

SCRAPER = NbacPlayerBoxscore()
DEMO_DAY = date(2024, 1, 15)
ALL_STAR_SATURDAY = date(2024, 2, 17)
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


def _opts(
    day: date = DEMO_DAY, season: Season | None = None, season_type: str = "auto"
) -> PlayerBoxscoreOptions:
    return PlayerBoxscoreOptions(game_date=day, season=season, season_type=season_type)


def _request(opts: PlayerBoxscoreOptions) -> Request:
    (request,) = SCRAPER.requests(opts)
    return request


def _fixture_page(fixtures: Path, day: date = DEMO_DAY) -> Page:
    return replayed_page(_request(_opts(day)), fixtures / "nbac", f"nbac_player_boxscore-{day.isoformat()}")


def _demo_body(fixtures: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_fixture_page(fixtures).body)
    return body


def _parse(body: bytes, status: int = 200, head: dict[str, str] | None = None) -> Parsed:
    page = to_page(_request(_opts()), status, JSON_HEADERS if head is None else head, body)
    return SCRAPER.parse(_opts(), [page], TEST_CTX)


# --- the season-type calendar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "season_type"),
    [
        (date(2024, 10, 4), "Pre Season"),
        (date(2024, 10, 21), "Pre Season"),
        (date(2024, 10, 22), "Regular Season"),
        (date(2024, 12, 17), "IST"),  # the NBA Cup final counts in no other season type
        (date(2025, 2, 13), "Regular Season"),
        (date(2025, 2, 14), "All Star"),
        (date(2025, 2, 16), "All Star"),
        (date(2025, 2, 17), "Regular Season"),
        (date(2025, 4, 13), "Regular Season"),
        (date(2025, 4, 14), "Regular Season"),  # the quiet day between the season's end and the Play-In
        (date(2025, 4, 15), "PlayIn"),
        (date(2025, 4, 18), "PlayIn"),
        (date(2025, 4, 19), "Playoffs"),
        (date(2025, 6, 22), "Playoffs"),
        (date(2025, 8, 1), "Playoffs"),  # summer: the finished season's last type answers an empty log
        (date(2024, 1, 15), "Regular Season"),
        (date(2024, 2, 17), "All Star"),
        (date(2022, 2, 20), "All Star"),
        (date(2026, 4, 18), "Playoffs"),
    ],
)
def test_season_type_on(day: date, season_type: str) -> None:
    assert season_type_on(day) == season_type


def test_no_calendar_no_guess() -> None:
    assert season_type_on(date(2019, 12, 1)) is None
    assert season_type_on(date(2026, 11, 1)) is None


def test_calendars_are_in_order() -> None:
    for start_year, calendar in CALENDARS.items():
        season = Season(start_year)
        days = [calendar.opener, *calendar.all_star, calendar.play_in, calendar.playoffs]
        assert days == sorted(days)
        assert {Season.of(day) for day in days} == {season}
        assert calendar.cup_final is None or calendar.opener < calendar.cup_final < calendar.all_star[0]


# --- options ----------------------------------------------------------------------------------------


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_player_boxscore:")] == []


def test_a_season_that_does_not_hold_the_date_is_refused() -> None:
    with pytest.raises(OptionError) as problem:
        SCRAPER.check_options(_opts(season=Season(2022)))
    assert problem.value.option == "season"
    SCRAPER.check_options(_opts(season=Season(2023)))


def test_auto_outside_the_calendars_asks_for_the_type() -> None:
    with pytest.raises(OptionError) as problem:
        SCRAPER.check_options(_opts(day=date(2019, 12, 1)))
    assert problem.value.option == "season_type"
    SCRAPER.check_options(_opts(day=date(2019, 12, 1), season_type="Regular Season"))


def test_options_resolve_through_the_registry() -> None:
    registry, clock = load_registry(), FrozenClock(TEST_CTX.fetched_at)

    job = prepare(registry, "nbac_player_boxscore", {"gamedate": "2024-01-15"}, clock)
    assert job.options == {"game_date": DEMO_DAY, "season": None, "season_type": "auto"}
    with pytest.raises(InvalidOptions, match="season_type"):
        prepare(registry, "nbac_player_boxscore", {"gamedate": "2024-01-15", "season_type": "Summer"}, clock)


# --- request plan -------------------------------------------------------------------------------------


def test_request_derives_season_and_type_from_the_date() -> None:
    request = _request(_opts())

    assert request.url == "https://stats.nba.com/stats/leaguegamelog"
    assert request.params == (
        ("Counter", "1000"),
        ("DateFrom", "2024-01-15"),
        ("DateTo", "2024-01-15"),
        ("Direction", "DESC"),
        ("LeagueID", "00"),
        ("PlayerOrTeam", "P"),
        ("Season", "2023-24"),
        ("SeasonType", "Regular Season"),
        ("Sorter", "DATE"),
    )
    assert request.headers is headers.STATS


def test_explicit_options_win() -> None:
    params = dict(_request(_opts(season=Season(2023), season_type="Playoffs")).params)

    assert (params["Season"], params["SeasonType"]) == ("2023-24", "Playoffs")


def test_all_star_dates_ask_for_the_all_star_log() -> None:
    assert dict(_request(_opts(ALL_STAR_SATURDAY)).params)["SeasonType"] == "All Star"


def test_fixture_exchanges_are_what_requests_produce(project_fixtures: Path) -> None:
    recordings = load_recordings(project_fixtures / "nbac")
    for day in (DEMO_DAY, ALL_STAR_SATURDAY):
        request = _request(_opts(day))
        assert canonical_key(request.method, request.full_url, None) in recordings


# --- parse ----------------------------------------------------------------------------------------------


def test_demo_day_lands_the_decoded_answer(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures)
    parsed = SCRAPER.parse(_opts(), [page], TEST_CTX)

    assert parsed.document == page.data
    assert parsed.record_count == 46
    assert parsed.no_data_reason is None
    assert parsed.path_values == {}


def test_all_star_saturday_is_no_data_not_a_crash(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, ALL_STAR_SATURDAY)
    parsed = SCRAPER.parse(_opts(ALL_STAR_SATURDAY), [page], TEST_CTX)

    assert parsed.record_count == 0
    assert parsed.no_data_reason == "leaguegamelog lists no player lines for 2024-02-17 (All Star)"
    assert parsed.document == page.data


def test_empty_game_log_is_no_data_naming_the_season_type(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    body["resultSets"][0]["rowSet"] = []

    parsed = _parse(json.dumps(body).encode())

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-01-15 (Regular Season)" in parsed.no_data_reason


def test_http_204_is_no_data() -> None:
    parsed = _parse(b"", status=204, head={})

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "204" in parsed.no_data_reason


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def _log(body: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = body["resultSets"][0]
    return table


def _rename_table(body: dict[str, Any]) -> Any:
    _log(body)["name"] = "PlayerGameLog"
    return body


def _drop_player_id(body: dict[str, Any]) -> Any:
    log = _log(body)
    index = log["headers"].index("PLAYER_ID")
    log["headers"].pop(index)
    for row in log["rowSet"]:
        row.pop(index)
    return body


def _short_row(body: dict[str, Any]) -> Any:
    _log(body)["rowSet"][0].pop()
    return body


def _row_of_another_day(body: dict[str, Any]) -> Any:
    log = _log(body)
    log["rowSet"][3][log["headers"].index("GAME_DATE")] = "2024-01-14"
    return body


def _echo_of_another_day(body: dict[str, Any]) -> Any:
    body["parameters"]["DateTo"] = "2024-01-16"
    return body


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("v3-shape", lambda body: {"boxScoreTraditional": {}}),
    ("renamed-table", _rename_table),
    ("no-player-id-column", _drop_player_id),
    ("short-row", _short_row),
    ("row-of-another-day", _row_of_another_day),
    ("answer-for-another-day", _echo_of_another_day),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_demo_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


# --- replay through the CLI -------------------------------------------------------------------------------


def test_replay_lands_the_game_log_of_the_date(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_player_boxscore", "--gamedate", "2024-01-15")
    (landed,) = landed_files(result)

    assert (result["status"], result["record_count"], result["game_date"]) == ("success", 46, "2024-01-15")
    assert landed.parent == tmp_path / "nba-com" / "player-boxscores" / "2024-01-15"
    assert json.loads(landed.read_text())["resource"] == "leaguegamelog"


def test_replay_of_all_star_saturday_is_no_data(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_player_boxscore", "--gamedate", "2024-02-17")

    assert (result["status"], result["record_count"]) == ("no_data", 0)
    assert "All Star" in result["no_data_reason"]
