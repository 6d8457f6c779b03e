"""bp_events: the request with its header profile, and the pure parse on the project's fixtures."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind, Page, Request
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.bettingpros.events import BpEvents, BpEventsOptions
from scrapers.sources.bettingpros.headers import API_KEY
from tests.conftest import PROJECT_FIXTURES
from tests.pages import TEST_CTX, replayed_page

FIXTURES = PROJECT_FIXTURES / "bettingpros"
CTX = TEST_CTX
DAY = BpEventsOptions(game_date=date(2024, 1, 15), sport="NBA")
EMPTY_DAY = BpEventsOptions(game_date=date(2024, 2, 16), sport="NBA")
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
SCRAPER = BpEvents()


def _replayed(request: Request, slug: str) -> Page:
    return replayed_page(request, FIXTURES, slug)


def _json_page(data: object) -> Page:
    return to_page(SCRAPER.requests(DAY)[0], 200, JSON_HEADERS, json.dumps(data).encode())


def _demo_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        (FIXTURES / "bp_events-2024-01-15.body.json").read_text(encoding="utf-8")
    )
    return body


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("bp_events:")] == []


def test_request_uses_the_bettingpros_profile_and_a_key_reference() -> None:
    (request,) = SCRAPER.requests(DAY)
    assert request.full_url == "https://api.bettingpros.com/v3/events?sport=NBA&date=2024-01-15"
    assert request.expect is BodyKind.JSON
    assert request.headers["Origin"] == "https://www.bettingpros.com"
    assert request.headers["Referer"] == "https://www.bettingpros.com/nba/odds/player-props/points/"
    assert request.headers["Accept"] == "application/json"
    # Brotli is not decodable yet, so it must not be offered.
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert request.headers["User-Agent"].startswith("Mozilla/5.0")
    assert request.secrets == (API_KEY,)
    assert (API_KEY.env, API_KEY.header) == ("BETTINGPROS_API_KEY", "X-Api-Key")


def test_requests_do_not_share_a_mutable_header_dict() -> None:
    assert SCRAPER.requests(DAY)[0].headers is not SCRAPER.requests(DAY)[0].headers


def test_every_planned_request_has_a_recording_for_replay() -> None:
    recordings = load_recordings(PROJECT_FIXTURES)
    for opts in (DAY, EMPTY_DAY):
        request = SCRAPER.requests(opts)[0]
        assert canonical_key(request.method, request.full_url, request.body) in recordings


def test_parse_maps_events_by_id() -> None:
    parsed = SCRAPER.parse(DAY, [_replayed(SCRAPER.requests(DAY)[0], "bp_events-2024-01-15")], CTX)
    document = parsed.document
    assert parsed.record_count == 4
    assert parsed.no_data_reason is None
    assert document["date"] == "2024-01-15"
    assert document["sport"] == "NBA"
    assert document["timestamp"] == "2024-01-16T03:00:00.000000+00:00"
    assert document["source"] == "bettingpros_api"
    assert document["api_response_params"]["date"] == "2024-01-15"
    assert document["event_count"] == document["rowCount"] == 4
    assert list(document["events"]) == ["27101", "27102", "27103", "27104"]
    first = document["events"]["27101"]
    assert first["id"] == 27101
    assert (first["away"], first["home"]) == ("HOU", "PHI")
    assert first["venue"]["name"] == "Wells Fargo Center"
    assert list(first) == [
        "id",
        "sr_id",
        "home",
        "away",
        "sport",
        "scheduled",
        "season",
        "season_type",
        "status",
        "event_name",
        "link",
        "series_summary",
        "venue",
        "popularity",
    ]


def test_empty_day_is_no_data_with_a_reason() -> None:
    page = _replayed(SCRAPER.requests(EMPTY_DAY)[0], "bp_events-2024-02-16")
    parsed = SCRAPER.parse(EMPTY_DAY, [page], CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-02-16" in parsed.no_data_reason
    assert parsed.document["events"] == {}
    assert parsed.document["event_count"] == 0


def test_forbidden_is_blocked() -> None:
    # BettingPros answers 403 to blocked egress IPs: a tier problem, never "no data".
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(DAY)[0], 403, JSON_HEADERS, b'{"message":"Forbidden"}')
    assert caught.value.outcome is Outcome.BLOCKED


@pytest.mark.parametrize(
    "body",
    [
        {"_parameters": {"date": "2024-01-15"}},
        {"events": {"27101": {}}},
        {"events": ["27101"]},
        {"events": [{"id": 27101, "home": "PHI"}]},
        {"events": [{"id": None, "home": "PHI", "visitor": "HOU"}]},
        {"_parameters": ["date"], "events": []},
    ],
)
def test_wrong_shapes_are_parse_errors(body: object) -> None:
    with pytest.raises(ParseError) as caught:
        SCRAPER.parse(DAY, [_json_page(body)], CTX)
    assert caught.value.outcome is Outcome.STRUCTURAL


def test_an_answer_for_another_date_is_a_parse_error_not_our_events() -> None:
    body = _demo_body()
    body["_parameters"]["date"] = "2024-01-14"
    with pytest.raises(ParseError, match="2024-01-14"):
        SCRAPER.parse(DAY, [_json_page(body)], CTX)


def test_duplicate_event_ids_are_a_parse_error() -> None:
    body = _demo_body()
    body["events"].append(dict(body["events"][0]))
    with pytest.raises(ParseError, match="appears twice"):
        SCRAPER.parse(DAY, [_json_page(body)], CTX)


def test_missing_optional_fields_land_as_null() -> None:
    body = {"events": [{"id": 1, "home": "PHI", "visitor": "HOU"}]}
    parsed = SCRAPER.parse(DAY, [_json_page(body)], CTX)
    event = parsed.document["events"]["1"]
    assert event["venue"] is None
    assert event["away"] == "HOU"
    assert parsed.document["api_response_params"] == {}


def test_no_request_holds_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "bp-secret-value-456"
    monkeypatch.setenv("BETTINGPROS_API_KEY", secret)
    for opts in (DAY, EMPTY_DAY):
        for request in SCRAPER.requests(opts):
            assert secret not in repr(request)
            assert secret not in request.full_url
            assert all(secret not in value for value in request.headers.values())
