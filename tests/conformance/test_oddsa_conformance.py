"""The Odds API scrapers against the real recordings and handmade payloads in ../shared.

For `oddsa_*_his` the old platform's `exp` is the decoded body (the raw wrapper), not its landed
document, so we compare the parts we carry: the snapshot keys and the event list / event odds
exactly, plus the counts our document adds. Documents carry no landing timestamp (it is only in
the path), so nothing else needs excluding.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.scraper import ParseContext
from scrapers.http.decode import to_page
from scrapers.http.request import Page, Request
from scrapers.sources.oddsapi.events_his import OddsaEventsHis, OddsaEventsHisOptions
from scrapers.sources.oddsapi.game_lines import OddsaGameLines, OddsaGameLinesOptions
from scrapers.sources.oddsapi.game_lines_his import OddsaGameLinesHis, OddsaGameLinesHisOptions
from scrapers.sources.oddsapi.player_props import OddsaPlayerProps, OddsaPlayerPropsOptions
from scrapers.sources.oddsapi.player_props_his import OddsaPlayerPropsHis, OddsaPlayerPropsHisOptions

JSON_HEADERS = {"content-type": "application/json"}
CTX = ParseContext(datetime(2024, 1, 25, 4, 0, tzinfo=UTC), "conform1")
RECORDED_EVENT = "cd0bc7d0c238f4446ce1c03d0cea7ec4"  # ATL at GSW, 2024-01-24 ET
HANDMADE_EVENT = "a1b2c3d4e5f6g7h8i9j0"  # BOS at LAL, 2025-01-20 ET
SNAPSHOT = datetime(2024, 1, 25, 3, 55, tzinfo=UTC)
BOOKS = ("draftkings", "fanduel")


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _page(request: Request, path: Path, status: int = 200) -> Page:
    return to_page(request, status, JSON_HEADERS, path.read_bytes())


def _snapshot_keys(expected: dict[str, Any]) -> dict[str, Any]:
    return {
        "snapshot_timestamp": expected["timestamp"],
        "previous_snapshot": expected["previous_timestamp"],
        "next_snapshot": expected["next_timestamp"],
    }


# --- oddsa_events_his ---------------------------------------------------------------------------


def test_events_his_recording_lands_every_event_of_the_snapshot(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "oddsa_events_his"
    expected = _read(folder / "exp_4c3bc8f6.json")
    opts = OddsaEventsHisOptions(
        game_date=date(2024, 1, 24),
        snapshot_timestamp=SNAPSHOT,
        sport="basketball_nba",
        commenceTimeFrom=None,
        commenceTimeTo=None,
        event_ids=None,
    )
    scraper = OddsaEventsHis()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], folder / "raw_4c3bc8f6.json")], CTX)
    # The recording is already in commence order, so sorting keeps exp's order exactly.
    assert parsed.document == {
        "sport": "basketball_nba",
        "game_date": "2024-01-24",
        **_snapshot_keys(expected),
        "rowCount": 10,
        "events": expected["data"],
    }
    assert parsed.record_count == 10
    assert len(parsed.fan_out) == 10


# --- oddsa_player_props_his / oddsa_game_lines_his ------------------------------------------------


def _props_his() -> tuple[OddsaPlayerPropsHis, OddsaPlayerPropsHisOptions]:
    # The recording holds spreads/totals although it sits under player props (see the README).
    opts = OddsaPlayerPropsHisOptions(
        event_id=RECORDED_EVENT,
        game_date=date(2024, 1, 24),
        snapshot_timestamp=SNAPSHOT,
        sport="basketball_nba",
        markets=("spreads", "totals"),
        regions=("us",),
        bookmakers=BOOKS,
        oddsFormat=None,
        teams=None,
    )
    return OddsaPlayerPropsHis(), opts


def _lines_his() -> tuple[OddsaGameLinesHis, OddsaGameLinesHisOptions]:
    opts = OddsaGameLinesHisOptions(
        event_id=RECORDED_EVENT,
        game_date=date(2024, 1, 24),
        snapshot_timestamp=SNAPSHOT,
        sport="basketball_nba",
        markets=("spreads", "totals"),
        regions=("us",),
        bookmakers=BOOKS,
        oddsFormat=None,
        teams=None,
    )
    return OddsaGameLinesHis(), opts


def test_player_props_his_recording_carries_the_snapshot_and_event_odds(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "oddsa_player_props_his"
    expected = _read(folder / "exp_815b3ee3.json")
    scraper, opts = _props_his()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], folder / "raw_815b3ee3.json")], CTX)
    assert parsed.document == {
        "sport": "basketball_nba",
        "eventId": RECORDED_EVENT,
        **_snapshot_keys(expected),
        "regions": "us",
        "markets": "spreads,totals",
        "rowCount": 8,  # 2 books x 2 markets x 2 outcomes
        "eventOdds": expected["data"],
    }
    assert parsed.record_count == 8
    assert parsed.path_values == {"teams": "ATLGSW", "snap": "0355"}


def test_game_lines_his_recording_counts_spreads_and_totals(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "oddsa_game_lines_his"
    expected = _read(folder / "exp_b722994c.json")
    scraper, opts = _lines_his()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], folder / "raw_b722994c.json")], CTX)
    assert parsed.document == {
        "sport": "basketball_nba",
        "eventId": RECORDED_EVENT,
        **_snapshot_keys(expected),
        "regions": "us",
        "markets": "spreads,totals",
        "rowCount": 8,
        "spreadsCount": 4,
        "totalsCount": 4,
        "eventOdds": expected["data"],
    }
    assert parsed.path_values == {"teams": "ATLGSW", "snap": "0355"}


def test_the_recordings_are_malformed_when_cut_short_never_no_data(shared_fixtures: Path) -> None:
    scraper, opts = _lines_his()
    raw = (shared_fixtures / "recorded" / "oddsa_game_lines_his" / "raw_b722994c.json").read_bytes()
    with pytest.raises(ScrapeError) as caught:
        to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, raw[: len(raw) // 2])
    assert caught.value.outcome is Outcome.STRUCTURAL


# --- current event odds (handmade: no recording exists) ------------------------------------------


def _current_options(markets: tuple[str, ...]) -> dict[str, Any]:
    return {
        "event_id": HANDMADE_EVENT,
        "game_date": date(2025, 1, 20),
        "sport": "basketball_nba",
        "markets": markets,
        "regions": ("us",),
        "bookmakers": BOOKS,
        "oddsFormat": "american",
        "teams": None,
    }


def test_player_props_handmade_counts_every_outcome(shared_fixtures: Path) -> None:
    path = shared_fixtures / "handmade" / "oddsapi" / "oddsa_player_props_raw.json"
    opts = OddsaPlayerPropsOptions(
        **_current_options(("player_points", "player_rebounds", "player_assists")), snapshot_type="opening"
    )
    scraper = OddsaPlayerProps()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], path)], CTX)
    assert parsed.document["odds"] == _read(path)
    assert parsed.record_count == parsed.document["rowCount"] == 10
    assert parsed.path_values == {"teams": "BOSLAL", "snap": "0400"}


def test_game_lines_handmade_counts_spreads_and_totals_apart_from_h2h(shared_fixtures: Path) -> None:
    path = shared_fixtures / "handmade" / "oddsapi" / "oddsa_game_lines_raw.json"
    opts = OddsaGameLinesOptions(**_current_options(("spreads", "totals", "h2h")))
    scraper = OddsaGameLines()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], path)], CTX)
    assert parsed.document["odds"] == _read(path)
    assert (parsed.document["rowCount"], parsed.document["spreadsCount"], parsed.document["totalsCount"]) == (
        12,
        4,
        4,
    )


def test_handmade_error_body_is_auth_for_event_odds_too(shared_fixtures: Path) -> None:
    opts = OddsaPlayerPropsOptions(**_current_options(("player_points",)), snapshot_type="opening")
    request = OddsaPlayerProps().requests(opts)[0]
    error = shared_fixtures / "handmade" / "oddsapi" / "oddsa_events_error.json"
    with pytest.raises(ScrapeError) as caught:
        to_page(request, 401, JSON_HEADERS, error.read_bytes())
    assert caught.value.outcome is Outcome.AUTH
