"""oddsa_events: the Eastern-day commence window, the request, the pure parse, the replayed job."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import OptionError, ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import Landing
from scrapers.http.classify import SourceRules
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.oddsapi.common import NO_CONTENT
from scrapers.sources.oddsapi.events import (
    API_KEY,
    OddsaEvents,
    OddsaEventsOptions,
    commence_window,
    default_commence_window,
    format_utc,
)
from tests.conftest import PROJECT_FIXTURES
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json
from tests.unit.test_oddsa_common import (
    GSW_AT_MEM,
    HOU_AT_PHI,
    NOP_AT_DAL,
    OKC_AT_LAL,
    completion,
    event_refs_of,
    landed,
)

FIXTURES = PROJECT_FIXTURES / "oddsapi"
CTX = TEST_CTX
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
SCRAPER = OddsaEvents()


def _options(
    game_date: date, start: datetime | None = None, end: datetime | None = None, sport: str = "basketball_nba"
) -> OddsaEventsOptions:
    return OddsaEventsOptions(
        game_date=game_date, sport=sport, commence_time_from=start, commence_time_to=end
    )


DAY = _options(date(2024, 1, 15))
EMPTY_DAY = _options(date(2024, 2, 16))


def _replayed(request: Request, slug: str) -> Page:
    return replayed_page(request, FIXTURES, slug)


def _json_page(data: object) -> Page:
    return to_page(SCRAPER.requests(DAY)[0], 200, JSON_HEADERS, json.dumps(data).encode())


def _demo_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(
        (FIXTURES / "oddsa_events-2024-01-15.body.json").read_text(encoding="utf-8")
    )
    return events


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_events:")] == []


@pytest.mark.parametrize(
    ("game_date", "start", "end"),
    [
        # Winter: Eastern Standard Time is UTC-5.
        (date(2024, 1, 15), "2024-01-15T05:00:00Z", "2024-01-16T04:59:59Z"),
        # Summer: Eastern Daylight Time is UTC-4.
        (date(2024, 7, 4), "2024-07-04T04:00:00Z", "2024-07-05T03:59:59Z"),
        # The spring-forward day starts in EST and ends in EDT: 23 hours long.
        (date(2024, 3, 10), "2024-03-10T05:00:00Z", "2024-03-11T03:59:59Z"),
        # The fall-back day starts in EDT and ends in EST: 25 hours long.
        (date(2024, 11, 3), "2024-11-03T04:00:00Z", "2024-11-04T04:59:59Z"),
    ],
)
def test_default_window_is_the_eastern_day_in_utc(game_date: date, start: str, end: str) -> None:
    window = default_commence_window(game_date)
    assert (format_utc(window[0]), format_utc(window[1])) == (start, end)
    assert all(moment.tzinfo is UTC for moment in window)


def test_request_for_the_demo_day() -> None:
    (request,) = SCRAPER.requests(DAY)
    assert request.url == "https://api.the-odds-api.com/v4/sports/basketball_nba/events"
    assert request.params == (
        ("commenceTimeFrom", "2024-01-15T05:00:00Z"),
        ("commenceTimeTo", "2024-01-16T04:59:59Z"),
        ("dateFormat", "iso"),
    )
    assert request.expect is BodyKind.JSON
    assert request.secrets == (API_KEY,)
    assert (API_KEY.env, API_KEY.query) == ("ODDS_API_KEY", "apiKey")


def test_given_bounds_override_the_default_each_on_its_own() -> None:
    start = datetime(2024, 1, 15, 17, 0, tzinfo=UTC)
    opts = _options(date(2024, 1, 15), start=start)
    assert commence_window(opts) == (start, datetime(2024, 1, 16, 4, 59, 59, tzinfo=UTC))
    params = dict(SCRAPER.requests(opts)[0].params)
    assert params["commenceTimeFrom"] == "2024-01-15T17:00:00Z"
    assert params["commenceTimeTo"] == "2024-01-16T04:59:59Z"


def test_a_window_that_ends_before_it_starts_is_an_option_error() -> None:
    opts = _options(date(2024, 1, 15), end=datetime(2024, 1, 15, 1, 0, tzinfo=UTC))
    with pytest.raises(OptionError, match="commence_time_to"):
        SCRAPER.requests(opts)


def test_sport_is_escaped_into_the_path() -> None:
    (request,) = SCRAPER.requests(_options(date(2024, 1, 15), sport="basketball/nba"))
    assert request.url == "https://api.the-odds-api.com/v4/sports/basketball%2Fnba/events"


def test_every_planned_request_has_a_recording_for_replay() -> None:
    recordings = load_recordings(PROJECT_FIXTURES)
    for opts in (DAY, EMPTY_DAY):
        request = SCRAPER.requests(opts)[0]
        assert canonical_key(request.method, request.full_url, request.body) in recordings


DEMO_METADATA = {
    "sport": "basketball_nba",
    "row_count": 4,
    "event_ids": [HOU_AT_PHI, NOP_AT_DAL, GSW_AT_MEM, OKC_AT_LAL],
    # OKC at LAL commences 03:30Z on the 16th: 10:30 pm Eastern on the 15th.
    "game_keys": ["20240115_HOU_PHI", "20240115_NOP_DAL", "20240115_GSW_MEM", "20240115_OKC_LAL"],
}


def test_lands_the_upstream_body() -> None:
    assert OddsaEvents.lands is Landing.UPSTREAM_BODY


def test_parse_reads_the_list_and_tells_ids_and_game_keys_in_commence_order() -> None:
    parsed = SCRAPER.parse(DAY, [_replayed(SCRAPER.requests(DAY)[0], "oddsa_events-2024-01-15")], CTX)
    assert parsed.record_count == 4
    assert parsed.no_data_reason is None
    # The validators read the bare list wrapped; what lands is the body itself (see the replay test).
    assert parsed.document == {"data": _demo_events()}
    assert parsed.metadata == DEMO_METADATA
    assert [ref.event_id for ref in event_refs_of(parsed.fan_out)] == DEMO_METADATA["event_ids"]


def test_an_unordered_answer_is_checked_as_served_and_fanned_out_in_commence_order() -> None:
    served = list(reversed(_demo_events()))
    parsed = SCRAPER.parse(DAY, [_json_page(served)], CTX)
    assert parsed.document == {"data": served}
    assert parsed.metadata == DEMO_METADATA
    assert [ref.commence_time for ref in event_refs_of(parsed.fan_out)] == [
        "2024-01-15T18:00:00Z",
        "2024-01-15T19:30:00Z",
        "2024-01-15T22:00:00Z",
        "2024-01-16T03:30:00Z",
    ]


def test_empty_day_is_no_data_with_a_reason() -> None:
    page = _replayed(SCRAPER.requests(EMPTY_DAY)[0], "oddsa_events-2024-02-16")
    parsed = SCRAPER.parse(EMPTY_DAY, [page], CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-02-16T05:00:00Z" in parsed.no_data_reason
    assert parsed.document == {"data": []}
    assert parsed.metadata == {"sport": "basketball_nba", "row_count": 0, "event_ids": [], "game_keys": []}


def test_a_204_is_no_data_with_nothing_to_check() -> None:
    parsed = SCRAPER.parse(DAY, [to_page(SCRAPER.requests(DAY)[0], 204, {}, b"")], CTX)
    assert (parsed.record_count, parsed.fan_out) == (0, ())
    assert parsed.no_data_reason is not None
    assert parsed.document is NO_CONTENT


def test_replay_lands_the_served_list_byte_for_byte(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "oddsa_events", "--game_date", "2024-01-15", without_env=[API_KEY.env])
    assert (result["status"], result["record_count"]) == ("success", 4)
    path, body = landed(tmp_path, result)
    assert path.startswith("odds-api/events/2024-01-15/")
    assert body == (FIXTURES / "oddsa_events-2024-01-15.body.json").read_bytes()
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in DEMO_METADATA} == DEMO_METADATA
    assert metadata["quality"]["status"] == "ok"


def test_invalid_key_and_spent_quota_are_auth() -> None:
    request = SCRAPER.requests(DAY)[0]
    with pytest.raises(ScrapeError) as invalid:
        to_page(request, 401, JSON_HEADERS, b'{"message":"Invalid API key"}')
    assert invalid.value.outcome is Outcome.AUTH
    # With the Odds API rule (registry `sources.oddsapi.rules`) a 429 on a spent quota is auth too.
    rules = SourceRules(quota_remaining_header="x-requests-remaining")
    with pytest.raises(ScrapeError) as spent:
        to_page(request, 429, {**JSON_HEADERS, "x-requests-remaining": "0"}, b'{"message":"quota"}', rules)
    assert spent.value.outcome is Outcome.AUTH


@pytest.mark.parametrize(
    "body",
    [
        ["4c1f8e2b"],
        [{"commence_time": "2024-01-15T18:00:00Z"}],
        [{"id": 7, "commence_time": "2024-01-15T18:00:00Z"}],
        [{"id": "4c1f8e2b"}],
        [{"id": "4c1f8e2b", "commence_time": "tonight"}],
        [{"id": "4c1f8e2b", "commence_time": "2024-01-15T18:00:00"}],
    ],
)
def test_wrong_shapes_are_parse_errors(body: object) -> None:
    with pytest.raises(ParseError) as caught:
        SCRAPER.parse(DAY, [_json_page(body)], CTX)
    assert caught.value.outcome is Outcome.STRUCTURAL


def test_no_request_holds_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "odds-secret-value-789"
    monkeypatch.setenv("ODDS_API_KEY", secret)
    for opts in (DAY, EMPTY_DAY, _options(date(2024, 7, 4))):
        for request in SCRAPER.requests(opts):
            assert secret not in repr(request)
            assert secret not in request.full_url
            assert all(secret not in value for value in request.headers.values())
            assert "apiKey" not in request.full_url
