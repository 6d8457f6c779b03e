"""The Odds API bits every scraper shares: snapshot grid, team suffix, game key, cost, body checks.

The helpers at the top are imported by the other test_oddsa_* modules (JSON pages as the core
hands them to a parser, the landed bytes and completion of a CLI replay).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.core.fanout import EventRef, FanOutRef
from scrapers.core.outcome import Outcome
from scrapers.core.registry import load_registry
from scrapers.core.request import Page, Request
from scrapers.core.verdict import Status
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import (
    API_KEY,
    NO_CONTENT,
    OddsQuery,
    as_document,
    checked_document,
    event_game_key,
    event_odds_request,
    events_metadata,
    read_event_odds,
    read_snapshot,
    snap_down,
    snap_label,
    team_code,
    teams_suffix,
    unknown_teams,
)
from tests.conftest import PROJECT_FIXTURES

FIXTURES = PROJECT_FIXTURES / "oddsapi"
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
BOOKS = (
    "draftkings",
    "fanduel",
    "betmgm",
    "williamhill_us",
    "betrivers",
    "bovada",
    "espnbet",
    "hardrockbet",
    "betonlineag",
    "fliff",
    "betparx",
    "ballybet",
)
# Demo-day event ids, as listed in oddsa_events-2024-01-15.body.json.
HOU_AT_PHI = "4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9"
NOP_AT_DAL = "9d3b7a1e5c2f48d6b0e4a7c9f1d3b5a8"
GSW_AT_MEM = "e2a6c4f8b1d34e79a5c0b3d7f9e1a2c4"
OKC_AT_LAL = "71f5d9b3e7a24c6880d2f4b6a8c0e3d5"


def json_page(request: Request, data: object, status: int = 200) -> Page:
    return to_page(request, status, JSON_HEADERS, json.dumps(data).encode())


def fixture_bytes(slug: str) -> bytes:
    """The recorded body exactly as the replay serves it."""
    return (FIXTURES / f"{slug}.body.json").read_bytes()


def fixture_json(slug: str) -> Any:
    return json.loads(fixture_bytes(slug))


def landed(tmp_path: Path, result: dict[str, Any]) -> tuple[str, bytes]:
    """The landed path relative to the output folder, and the landed bytes."""
    (path,) = result["landed"]
    return str(Path(path).relative_to(tmp_path)), Path(path).read_bytes()


def event_refs_of(refs: tuple[FanOutRef, ...]) -> list[EventRef]:
    """The fan-out refs of an events scraper, every one an event."""
    assert all(isinstance(ref, EventRef) for ref in refs), refs
    return [ref for ref in refs if isinstance(ref, EventRef)]


def completion(tmp_path: Path) -> dict[str, Any]:
    """The last completion message a replay under `tmp_path` sent."""
    lines = (tmp_path / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
    event: dict[str, Any] = json.loads(lines[-1])
    return event


# --- snapshot grid and snap ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "snapped"),
    [
        (datetime(2024, 1, 15, 23, 0, tzinfo=UTC), datetime(2024, 1, 15, 23, 0, tzinfo=UTC)),
        (datetime(2024, 1, 15, 23, 4, 59, 999, tzinfo=UTC), datetime(2024, 1, 15, 23, 0, tzinfo=UTC)),
        (datetime(2024, 1, 15, 22, 43, 17, tzinfo=UTC), datetime(2024, 1, 15, 22, 40, tzinfo=UTC)),
        (datetime(2024, 1, 16, 0, 0, 1, tzinfo=UTC), datetime(2024, 1, 16, 0, 0, tzinfo=UTC)),
    ],
)
def test_snapshots_snap_down_to_the_five_minute_grid(moment: datetime, snapped: datetime) -> None:
    assert snap_down(moment) == snapped


def test_snap_label_is_utc_hhmm_whatever_the_zone() -> None:
    eastern_evening = datetime.fromisoformat("2024-01-15T18:07:00-05:00")
    assert snap_label(eastern_evening) == "2307"


# --- teams --------------------------------------------------------------------------------------


def test_teams_suffix_is_away_then_home() -> None:
    assert teams_suffix("Los Angeles Lakers", "Detroit Pistons") == "LALDET"
    assert teams_suffix("LA Clippers", "Los Angeles Clippers") == "LACLAC"


def test_unknown_team_names_keep_the_old_fallback_without_path_characters() -> None:
    assert team_code("Team LeBron") == "TEA"
    assert team_code("../../etc") == "ETC"
    assert team_code("???") == "UNK"


@pytest.mark.parametrize(
    ("commence", "key"),
    [
        # 7:30 pm Eastern tips at 00:30Z the next day: the game key keeps the Eastern date.
        ("2024-01-16T00:30:00+00:00", "20240115_HOU_PHI"),
        ("2024-01-15T18:00:00+00:00", "20240115_HOU_PHI"),
        # Summer (EDT, UTC-4): 03:59Z is still the evening before, 04:00Z is the next day.
        ("2024-07-05T03:59:00+00:00", "20240704_HOU_PHI"),
        ("2024-07-05T04:00:00+00:00", "20240705_HOU_PHI"),
    ],
)
def test_game_key_is_the_eastern_date_and_tricodes(commence: str, key: str) -> None:
    moment = datetime.fromisoformat(commence)
    assert event_game_key(moment, "Houston Rockets", "Philadelphia 76ers") == key


def test_game_key_uses_the_path_codes_for_unknown_teams() -> None:
    moment = datetime(2024, 2, 18, 1, 0, tzinfo=UTC)
    assert event_game_key(moment, "Team LeBron", "Team Giannis") == "20240217_TEA_TEA"


def test_a_body_without_teams_uses_the_option_else_unkunk() -> None:
    assert unknown_teams("houphi") == "HOUPHI"
    assert unknown_teams("HOU/PHI") == "HOUPHI"
    assert unknown_teams(None) == "UNKUNK"


# --- cost and request ---------------------------------------------------------------------------


def _query(
    markets: tuple[str, ...], bookmakers: tuple[str, ...] = (), regions: tuple[str, ...] = ("us",)
) -> OddsQuery:
    return OddsQuery("basketball_nba", HOU_AT_PHI, markets, regions, bookmakers, None)


@pytest.mark.parametrize(
    ("query", "current", "historical"),
    [
        (_query(("player_points",), BOOKS), 2, 20),  # 12 books bill as 2 regions
        (_query(("spreads", "totals"), BOOKS), 4, 40),
        (_query(("spreads", "totals"), BOOKS[:10]), 2, 20),
        (_query(("player_points",), (), ("us", "us2")), 2, 20),  # without books, regions count
    ],
)
def test_cost_is_markets_times_region_units_and_ten_times_for_history(
    query: OddsQuery, current: int, historical: int
) -> None:
    assert query.cost(historical=False) == current
    assert query.cost(historical=True) == historical


def test_historical_request_asks_on_the_grid() -> None:
    request = event_odds_request(
        _query(("player_points",)), snapshot=datetime(2024, 1, 15, 23, 3, tzinfo=UTC)
    )
    assert (
        request.url
        == f"https://api.the-odds-api.com/v4/historical/sports/basketball_nba/events/{HOU_AT_PHI}/odds"
    )
    assert dict(request.params)["date"] == "2024-01-15T23:00:00Z"
    assert request.secrets == (API_KEY,)


def test_ids_cannot_walk_to_another_endpoint() -> None:
    query = OddsQuery("basketball_nba", "../../sports", ("h2h",), ("us",), (), None)
    assert "/events/..%2F..%2Fsports/odds" in event_odds_request(query).url


# --- bodies -------------------------------------------------------------------------------------


def _event(**changes: object) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": HOU_AT_PHI,
        "commence_time": "2024-01-16T00:30:00Z",
        "away_team": "Houston Rockets",
        "home_team": "Philadelphia 76ers",
        "bookmakers": [
            {
                "key": "draftkings",
                "markets": [{"key": "spreads", "outcomes": [{"name": "a"}, {"name": "b"}]}],
            },
            {"key": "fanduel", "markets": [{"key": "totals", "outcomes": []}]},
        ],
    }
    event.update(changes)
    return event


def test_rows_count_outcomes_and_an_empty_market_as_one() -> None:
    odds = read_event_odds(_event(), HOU_AT_PHI)
    assert odds.teams == "HOUPHI"
    assert odds.game_key == "20240115_HOU_PHI"
    assert odds.row_count == 3
    assert dict(odds.rows_by_market) == {"spreads": 2, "totals": 1}


@pytest.mark.parametrize(
    "body",
    [
        _event(id="another-event"),
        _event(away_team=None),
        _event(commence_time=None),
        _event(commence_time="tonight"),
        _event(bookmakers=None),
        _event(bookmakers={"draftkings": []}),
        _event(bookmakers=[{"key": "draftkings"}]),
        _event(bookmakers=[{"key": "draftkings", "markets": [{"outcomes": []}]}]),
        _event(bookmakers=[{"key": "draftkings", "markets": [{"key": "h2h", "outcomes": "none"}]}]),
    ],
)
def test_wrong_event_odds_shapes_are_structural(body: object) -> None:
    with pytest.raises(ParseError) as caught:
        read_event_odds(body, HOU_AT_PHI)
    assert caught.value.outcome is Outcome.STRUCTURAL


@pytest.mark.parametrize(
    "body",
    [
        {"timestamp": "2024-01-15T22:55:40Z"},
        {"data": {}},
        {"timestamp": 1705359340, "data": {}},
        {"timestamp": "2024-01-15T22:55:40Z", "previous_timestamp": 7, "data": {}},
    ],
)
def test_wrong_snapshot_wrappers_are_structural(body: object) -> None:
    with pytest.raises(ParseError):
        read_snapshot(body)


# --- what the validators read and what the metadata says -------------------------------------------


def test_a_list_body_is_checked_wrapped_and_an_object_as_is() -> None:
    events = [_event()]
    assert as_document(events) == {"data": events}
    assert as_document(events)["data"] is events  # the served list itself, not a copy
    body = _event()
    assert as_document(body) is body
    with pytest.raises(ParseError):
        as_document("text")


def test_a_204_gives_the_validators_the_no_content_marker() -> None:
    request = event_odds_request(_query(("player_points",)))
    assert checked_document(to_page(request, 204, {}, b"")) is NO_CONTENT
    page = json_page(request, _event())
    assert checked_document(page) == _event()


def test_events_metadata_lists_ids_and_game_keys_in_the_given_order() -> None:
    early = {**_event(id="a"), "commence_time": "2024-01-15T18:00:00Z"}
    nameless = {"id": "b", "commence_time": "2024-01-16T03:30:00Z"}
    assert events_metadata("basketball_nba", [early, _event(), nameless]) == {
        "sport": "basketball_nba",
        "row_count": 3,
        "event_ids": ["a", HOU_AT_PHI, "b"],
        "game_keys": ["20240115_HOU_PHI", "20240115_HOU_PHI", None],
    }


def test_the_validators_pass_a_204_only_by_its_marker() -> None:
    registry = load_registry()
    classes = [entry.load_class() for entry in registry.scrapers.values() if entry.source == "oddsapi"]
    assert len(classes) == 7
    for cls in classes:
        validator = cls.validator
        assert validator is not None, cls
        nothing = validator(NO_CONTENT, {})
        assert [(check.name, check.status) for check in nothing] == [("upstream_body", Status.OK)], cls
        # An empty object that is not the marker is a body without its keys: a failed structure.
        checks = {check.name: check.status for check in validator({}, {})}
        assert checks["required_keys"] is Status.FAIL, cls
