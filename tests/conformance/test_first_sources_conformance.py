"""bdl_games, bp_events and oddsa_events against real recordings and handmade payloads in ../shared.

Each raw body goes through the core's `to_page` (classification and decoding) and the scraper's
pure parse; the result is compared with what the old platform landed (`exp`) or with the handmade
expectation. For bdl_* and bp_events `exp` is the decoded body, so we compare the parts we carry.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext
from scrapers.http.decode import to_page
from scrapers.sources.bdl.games import BdlGames, BdlGamesOptions
from scrapers.sources.bettingpros.events import EVENT_FIELDS, BpEvents, BpEventsOptions
from scrapers.sources.oddsapi.events import OddsaEvents, OddsaEventsOptions

JSON_HEADERS = {"content-type": "application/json"}
CTX = ParseContext(datetime(2024, 1, 16, 3, 0, tzinfo=UTC), "test0001")


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _page(request: Request, path: Path, status: int = 200) -> Page:
    return to_page(request, status, JSON_HEADERS, path.read_bytes())


# --- bdl_games -------------------------------------------------------------------------------


def test_bdl_games_recording_matches_the_landed_data(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "bdl_games"
    expected = _read(folder / "exp_278cb9ed.json")
    opts = BdlGamesOptions(start_date=date(2025, 2, 20), end_date=date(2025, 2, 20))
    scraper = BdlGames()
    page = _page(scraper.requests(opts)[0], folder / "raw_278cb9ed.json")
    # The recorded last page has no `next_cursor` key at all, not a null one.
    assert scraper.next_request(opts, page) is None
    parsed = scraper.parse(opts, [page], CTX)
    assert parsed.document["games"] == expected["data"]
    assert parsed.record_count == parsed.document["gameCount"] == len(expected["data"]) == 9


def test_bdl_games_handmade_matches_the_expected_document(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "handmade" / "balldontlie"
    expected = _read(folder / "bdl_games_expected.json")
    opts = BdlGamesOptions(start_date=date(2025, 1, 19), end_date=date(2025, 1, 21))
    scraper = BdlGames()
    page = _page(scraper.requests(opts)[0], folder / "bdl_games_raw.json")
    assert scraper.next_request(opts, page) is None
    # The handmade expectation was landed at 2025-01-20 15:30 UTC; our timestamp is the fetch time.
    ctx = ParseContext(datetime(2025, 1, 20, 15, 30, tzinfo=UTC), "conform1")
    parsed = scraper.parse(opts, [page], ctx)
    assert parsed.document == expected
    assert parsed.record_count == 2


def test_bdl_games_handmade_pagination_walks_the_cursor(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "handmade" / "balldontlie"
    opts = BdlGamesOptions(start_date=date(2025, 1, 19), end_date=date(2025, 1, 21))
    scraper = BdlGames()
    first = _page(scraper.requests(opts)[0], folder / "bdl_games_paginated.json")
    following = scraper.next_request(opts, first)
    assert following is not None
    assert dict(following.params)["cursor"] == "1087393"
    # No second page was recorded: build the last page from the full payload's remaining game.
    full = _read(folder / "bdl_games_raw.json")
    last_body = json.dumps({"data": full["data"][1:], "meta": {"next_cursor": None, "per_page": 1}}).encode()
    last = to_page(following, 200, JSON_HEADERS, last_body)
    assert scraper.next_request(opts, last) is None
    parsed = scraper.parse(opts, [first, last], CTX)
    assert [game["id"] for game in parsed.document["games"]] == [1087392, 1087393]
    assert parsed.record_count == 2


def test_bdl_games_handmade_empty_is_no_data(shared_fixtures: Path) -> None:
    opts = BdlGamesOptions(start_date=date(2025, 1, 19), end_date=date(2025, 1, 21))
    scraper = BdlGames()
    page = _page(
        scraper.requests(opts)[0], shared_fixtures / "handmade" / "balldontlie" / "bdl_games_empty.json"
    )
    assert scraper.next_request(opts, page) is None
    parsed = scraper.parse(opts, [page], CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason


# --- bp_events -------------------------------------------------------------------------------


@pytest.mark.parametrize("recording", ["75470647", "865cd116"])
def test_bp_events_recording_maps_every_event(shared_fixtures: Path, recording: str) -> None:
    folder = shared_fixtures / "recorded" / "bp_events"
    expected = _read(folder / f"exp_{recording}.json")
    opts = BpEventsOptions(game_date=date(2021, 10, 21), sport="NBA")
    parsed = BpEvents().parse(
        opts, [_page(BpEvents().requests(opts)[0], folder / f"raw_{recording}.json")], CTX
    )
    events = parsed.document["events"]
    assert parsed.record_count == parsed.document["event_count"] == parsed.document["rowCount"] == 3
    assert parsed.document["api_response_params"] == expected["_parameters"]
    assert sorted(events) == sorted(str(event["id"]) for event in expected["events"])
    for raw in expected["events"]:
        landed = events[str(raw["id"])]
        assert landed == {name: raw[api] for name, api in EVENT_FIELDS}
        assert landed["away"] == raw["visitor"]


# --- oddsa_events ----------------------------------------------------------------------------


def _odds_options(game_date: date) -> OddsaEventsOptions:
    return OddsaEventsOptions(
        game_date=game_date, sport="basketball_nba", commence_time_from=None, commence_time_to=None
    )


def test_oddsa_events_handmade_tells_the_expected_facts(shared_fixtures: Path) -> None:
    # oddsa_events lands the body as served (tests/conformance/test_oddsa_conformance.py); the old
    # transform's `expected` document survives as the parse's count and commence-ordered ids.
    folder = shared_fixtures / "handmade" / "oddsapi"
    expected = _read(folder / "oddsa_events_expected.json")
    opts = _odds_options(date(2025, 1, 20))
    scraper = OddsaEvents()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], folder / "oddsa_events_raw.json")], CTX)
    assert parsed.document == {"data": _read(folder / "oddsa_events_raw.json")}
    assert parsed.record_count == parsed.metadata["row_count"] == expected["rowCount"] == 3
    assert parsed.metadata["event_ids"] == [event["id"] for event in expected["events"]]


def test_oddsa_events_handmade_empty_is_no_data(shared_fixtures: Path) -> None:
    opts = _odds_options(date(2025, 1, 20))
    scraper = OddsaEvents()
    page = _page(
        scraper.requests(opts)[0], shared_fixtures / "handmade" / "oddsapi" / "oddsa_events_empty.json"
    )
    parsed = scraper.parse(opts, [page], CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason
    assert parsed.document == {"data": []}


def test_oddsa_events_handmade_error_is_auth_not_no_data(shared_fixtures: Path) -> None:
    opts = _odds_options(date(2025, 1, 20))
    request = OddsaEvents().requests(opts)[0]
    with pytest.raises(ScrapeError) as caught:
        _page(request, shared_fixtures / "handmade" / "oddsapi" / "oddsa_events_error.json", status=401)
    assert caught.value.outcome is Outcome.AUTH
