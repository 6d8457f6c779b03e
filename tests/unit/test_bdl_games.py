"""bdl_games: request plan, cursor pagination and the pure parse, on the project's own fixtures."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from scrapers.core.errors import OptionError, ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind, Page, Request
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.bdl.games import API_KEY, BdlGames, BdlGamesOptions, games_request
from tests.conftest import PROJECT_FIXTURES
from tests.pages import TEST_CTX, load_exchange, replayed_page

FIXTURES = PROJECT_FIXTURES / "bdl"
CTX = TEST_CTX
DAY = BdlGamesOptions(start_date=date(2024, 1, 15), end_date=date(2024, 1, 15))
EMPTY_DAY = BdlGamesOptions(start_date=date(2024, 2, 16), end_date=date(2024, 2, 16))
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
SCRAPER = BdlGames()


def _exchange(slug: str) -> dict[str, Any]:
    return load_exchange(FIXTURES, slug)


def _replayed(request: Request, slug: str) -> Page:
    return replayed_page(request, FIXTURES, slug)


def _json_page(data: object, request: Request | None = None) -> Page:
    return to_page(request or SCRAPER.requests(DAY)[0], 200, JSON_HEADERS, json.dumps(data).encode())


def _demo_pages() -> list[Page]:
    first = _replayed(SCRAPER.requests(DAY)[0], "bdl_games-2024-01-15-page1")
    following = SCRAPER.next_request(DAY, first)
    assert following is not None
    return [first, _replayed(following, "bdl_games-2024-01-15-page2")]


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("bdl_games:")] == []


def test_first_request_asks_for_the_date_range_with_the_key_as_a_reference() -> None:
    (request,) = SCRAPER.requests(DAY)
    assert request.url == "https://api.balldontlie.io/v1/games"
    assert request.params == (("start_date", "2024-01-15"), ("end_date", "2024-01-15"), ("per_page", "100"))
    assert request.expect is BodyKind.JSON
    assert request.secrets == (API_KEY,)
    assert API_KEY.env == "BDL_API_KEY"
    assert API_KEY.header == "Authorization"


def test_end_before_start_is_an_option_error_not_an_empty_day() -> None:
    with pytest.raises(OptionError, match="end_date"):
        SCRAPER.check_options(BdlGamesOptions(start_date=date(2024, 1, 16), end_date=date(2024, 1, 15)))


def test_next_request_follows_the_cursor_then_stops() -> None:
    first, last = _demo_pages()
    following = SCRAPER.next_request(DAY, first)
    assert following == games_request(DAY, cursor="1037595")
    assert following is not None
    assert dict(following.params)["cursor"] == "1037595"
    assert SCRAPER.next_request(DAY, last) is None


def test_every_planned_request_has_a_recording_for_replay() -> None:
    recordings = load_recordings(PROJECT_FIXTURES)
    planned = [SCRAPER.requests(DAY)[0], games_request(DAY, "1037595"), SCRAPER.requests(EMPTY_DAY)[0]]
    for request in planned:
        assert canonical_key(request.method, request.full_url, request.body) in recordings


def test_parse_concatenates_the_pages_in_order() -> None:
    parsed = SCRAPER.parse(DAY, _demo_pages(), CTX)
    document = parsed.document
    assert parsed.record_count == 4
    assert parsed.no_data_reason is None
    assert document["startDate"] == "2024-01-15"
    assert document["endDate"] == "2024-01-15"
    assert document["timestamp"] == "2024-01-16T03:00:00.000000+00:00"
    assert document["gameCount"] == 4
    assert [game["id"] for game in document["games"]] == [1037593, 1037594, 1037595, 1037596]
    matchups = [
        (g["visitor_team"]["abbreviation"], g["home_team"]["abbreviation"]) for g in document["games"]
    ]
    assert matchups == [("HOU", "PHI"), ("NOP", "DAL"), ("GSW", "MEM"), ("OKC", "LAL")]


def test_empty_day_is_no_data_with_a_reason() -> None:
    page = _replayed(SCRAPER.requests(EMPTY_DAY)[0], "bdl_games-2024-02-16")
    assert SCRAPER.next_request(EMPTY_DAY, page) is None
    parsed = SCRAPER.parse(EMPTY_DAY, [page], CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-02-16" in parsed.no_data_reason
    assert parsed.document["games"] == []
    assert parsed.document["gameCount"] == 0


def test_invalid_key_is_auth() -> None:
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(DAY)[0], 401, JSON_HEADERS, b'{"error":"Unauthorized"}')
    assert caught.value.outcome is Outcome.AUTH


@pytest.mark.parametrize(
    "body",
    [
        {"meta": {"per_page": 100}},
        {"data": {"id": 1}, "meta": {"per_page": 100}},
        {"data": [{"date": "2024-01-15"}], "meta": {"per_page": 100}},
        {"data": ["1037593"], "meta": {"per_page": 100}},
    ],
)
def test_wrong_shapes_are_parse_errors(body: object) -> None:
    with pytest.raises(ParseError) as caught:
        SCRAPER.parse(DAY, [_json_page(body)], CTX)
    assert caught.value.outcome is Outcome.STRUCTURAL


@pytest.mark.parametrize(
    "body",
    [
        {"data": []},
        {"data": [], "meta": None},
        {"data": [], "meta": {"next_cursor": True}},
        {"data": [], "meta": {"next_cursor": {"id": 3}}},
        "not an object",
    ],
)
def test_a_page_without_a_readable_cursor_is_a_parse_error(body: object) -> None:
    with pytest.raises(ParseError):
        SCRAPER.next_request(DAY, _json_page(body))


def test_a_cursor_that_does_not_advance_is_a_parse_error() -> None:
    request = games_request(DAY, cursor="77")
    page = _json_page({"data": [], "meta": {"next_cursor": 77}}, request)
    with pytest.raises(ParseError, match="does not advance"):
        SCRAPER.next_request(DAY, page)


def test_overlapping_pages_are_a_parse_error_not_double_counted() -> None:
    first, _ = _demo_pages()
    with pytest.raises(ParseError, match="appears twice"):
        SCRAPER.parse(DAY, [first, first], CTX)


def test_no_request_holds_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "bdl-secret-value-123"
    monkeypatch.setenv("BDL_API_KEY", secret)
    first = SCRAPER.requests(DAY)[0]
    following = SCRAPER.next_request(DAY, _demo_pages()[0])
    assert following is not None
    for request in (first, following, *SCRAPER.requests(EMPTY_DAY)):
        assert secret not in repr(request)
        assert secret not in request.full_url
        assert all(secret not in value for value in request.headers.values())
