"""The Odds API scrapers against the real recordings and handmade payloads in ../shared.

Production exported every Odds API scraper `RAW` (OLD-PLATFORM §2.0): downstream's processors read
the API's own shapes and reject a wrapper. So each body is served to the one run path
(tests/conformance/landing.py) and the landed bytes must be the served bytes exactly, at the same
object path as before; what the fleet derives (counts, the snapshot, the game key, the teams of the
path) must be in the completion's metadata instead. For `oddsa_*_his` the recording's `exp` is the
decoded body, which is now exactly what lands. The current endpoints have no recording: the
handmade payloads stand in for them.
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
from scrapers.sources.oddsapi.game_lines import OddsaGameLines, OddsaGameLinesOptions
from scrapers.sources.oddsapi.game_lines_his import OddsaGameLinesHis, OddsaGameLinesHisOptions
from scrapers.sources.oddsapi.player_props import OddsaPlayerProps, OddsaPlayerPropsOptions
from tests.conformance.landing import Landed, land, serve_file

JSON_HEADERS = {"content-type": "application/json"}
CTX = ParseContext(datetime(2024, 1, 25, 4, 0, tzinfo=UTC), "conform1")
RECORDED_EVENT = "cd0bc7d0c238f4446ce1c03d0cea7ec4"  # ATL at GSW, 2024-01-24 ET (03:20Z on the 25th)
HANDMADE_EVENT = "a1b2c3d4e5f6g7h8i9j0"  # BOS at LAL, 2025-01-20 ET (00:30Z on the 21st)
BOOKS = "draftkings,fanduel"
# The recordings' run: the 03:55Z snapshot of the 2024-01-24 game night; `land` lands at 04:00Z.
SNAPSHOT = "2024-01-25T03:55:00Z"
STAMP = "20240125_040000"


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _page(request: Request, path: Path, status: int = 200) -> Page:
    return to_page(request, status, JSON_HEADERS, path.read_bytes())


def _recorded(shared: Path, scraper: str, name: str) -> Path:
    return shared / "recorded" / scraper / name


def _handmade(shared: Path, name: str) -> Path:
    return shared / "handmade" / "oddsapi" / name


def _landed_as_served(tmp_path: Path, landed: Landed, served: Path, path: str, status: str) -> dict[str, Any]:
    """The served bytes landed unchanged at `path` (relative to the output folder); the metadata."""
    assert landed.result.status.value == status, landed.result.to_dict()
    (landed_path,) = landed.result.landed
    assert Path(landed_path).relative_to(tmp_path / "out").as_posix() == path
    assert landed.body == served.read_bytes()
    metadata: dict[str, Any] = landed.completion["metadata"]
    assert metadata["gcs_path"] == landed_path
    # The verdict is in the completion, never in the landed body; these bodies are all sound.
    assert metadata["quality"]["status"] == "ok", metadata["quality"]
    return metadata


def _snapshot_of(expected: dict[str, Any]) -> dict[str, Any]:
    return {
        "snapshot_timestamp": expected["timestamp"],
        "previous_snapshot": expected["previous_timestamp"],
        "next_snapshot": expected["next_timestamp"],
    }


# --- the recordings (historical endpoints) -----------------------------------------------------------


def test_events_his_recording_lands_as_served_with_ids_keys_and_snapshot(
    shared_fixtures: Path, tmp_path: Path
) -> None:
    raw = _recorded(shared_fixtures, "oddsa_events_his", "raw_4c3bc8f6.json")
    expected = _read(_recorded(shared_fixtures, "oddsa_events_his", "exp_4c3bc8f6.json"))
    options = {"game_date": "2024-01-24", "snapshot_timestamp": SNAPSHOT}
    landed = land(tmp_path, "oddsa_events_his", options, serve_file(raw))
    metadata = _landed_as_served(
        tmp_path, landed, raw, f"odds-api/events-history/2024-01-24/{STAMP}.json", "success"
    )
    assert landed.document == expected  # exp is the decoded body: exactly what lands now
    # The recording is in commence order already, so the ids come in exp's order.
    ids = [event["id"] for event in expected["data"]]
    assert metadata["event_ids"] == ids
    assert metadata["row_count"] == landed.completion["record_count"] == 10
    assert metadata["game_keys"][:3] == ["20240124_PHX_DAL", "20240124_OKC_SAS", "20240124_ATL_GSW"]
    assert metadata["game_keys"][-1] == "20240125_CHI_LAL"
    assert {key: metadata[key] for key in _snapshot_of(expected)} == _snapshot_of(expected)
    assert [ref.to_dict()["event_id"] for ref in landed.result.fan_out] == ids


@pytest.mark.parametrize(
    ("scraper", "folder", "raw", "path"),
    [
        (
            "oddsa_player_props_his",
            "oddsa_player_props_his",
            "raw_815b3ee3.json",
            f"odds-api/player-props-history/2024-01-24/{RECORDED_EVENT}-ATLGSW/{STAMP}-snap-0355.json",
        ),
        (
            "oddsa_game_lines_his",
            "oddsa_game_lines_his",
            "raw_b722994c.json",
            f"odds-api/game-lines-history/2024-01-24/{RECORDED_EVENT}-ATLGSW/{STAMP}-snap-0355.json",
        ),
    ],
)
def test_event_odds_his_recording_lands_as_served_with_counts_snapshot_and_game_key(
    shared_fixtures: Path, tmp_path: Path, scraper: str, folder: str, raw: str, path: str
) -> None:
    served = _recorded(shared_fixtures, folder, raw)
    expected = _read(_recorded(shared_fixtures, folder, raw.replace("raw_", "exp_")))
    # The player-props recording holds spreads/totals (see the shared README): asked for as such.
    options = {
        "event_id": RECORDED_EVENT,
        "game_date": "2024-01-24",
        "snapshot_timestamp": SNAPSHOT,
        "markets": "spreads,totals",
        "bookmakers": BOOKS,
    }
    landed = land(tmp_path, scraper, options, serve_file(served))
    metadata = _landed_as_served(tmp_path, landed, served, path, "success")
    assert landed.document == expected
    assert set(landed.document) == {"timestamp", "previous_timestamp", "next_timestamp", "data"}
    assert {key: metadata[key] for key in _snapshot_of(expected)} == _snapshot_of(expected)
    assert (metadata["event_id"], metadata["game_key"], metadata["teams"]) == (
        RECORDED_EVENT,
        "20240124_ATL_GSW",  # 03:20Z on the 25th is 10:20 pm Eastern on the 24th
        "ATLGSW",
    )
    # 2 books x 2 markets x 2 outcomes.
    assert (metadata["row_count"], metadata["rows_by_market"]) == (8, {"spreads": 4, "totals": 4})
    assert landed.completion["record_count"] == 8
    if scraper == "oddsa_game_lines_his":
        assert (metadata["spreads_count"], metadata["totals_count"]) == (4, 4)


def test_the_recordings_are_malformed_when_cut_short_never_no_data(shared_fixtures: Path) -> None:
    opts = OddsaGameLinesHisOptions(
        event_id=RECORDED_EVENT,
        game_date=date(2024, 1, 24),
        snapshot_timestamp=datetime(2024, 1, 25, 3, 55, tzinfo=UTC),
        sport="basketball_nba",
        markets=("spreads", "totals"),
        regions=("us",),
        bookmakers=tuple(BOOKS.split(",")),
        odds_format=None,
        teams=None,
    )
    raw = _recorded(shared_fixtures, "oddsa_game_lines_his", "raw_b722994c.json").read_bytes()
    with pytest.raises(ScrapeError) as caught:
        to_page(OddsaGameLinesHis().requests(opts)[0], 200, JSON_HEADERS, raw[: len(raw) // 2])
    assert caught.value.outcome is Outcome.STRUCTURAL


# --- the handmade payloads (current endpoints) -------------------------------------------------------


def test_events_handmade_lands_the_bare_list_as_served(shared_fixtures: Path, tmp_path: Path) -> None:
    raw = _handmade(shared_fixtures, "oddsa_events_raw.json")
    landed = land(tmp_path, "oddsa_events", {"game_date": "2025-01-20"}, serve_file(raw))
    metadata = _landed_as_served(tmp_path, landed, raw, f"odds-api/events/2025-01-20/{STAMP}.json", "success")
    assert isinstance(landed.document, list)  # no wrapper: the API's list is the landed document
    # The old transform's facts (never landed in production) travel in the completion now.
    assert metadata["row_count"] == landed.completion["record_count"] == 3
    assert metadata["event_ids"] == [event["id"] for event in landed.document]
    assert metadata["game_keys"] == ["20250120_BOS_LAL", "20250120_MIA_DEN", "20250120_MIL_GSW"]


def test_events_handmade_empty_list_lands_as_served_and_is_no_data(
    shared_fixtures: Path, tmp_path: Path
) -> None:
    raw = _handmade(shared_fixtures, "oddsa_events_empty.json")
    landed = land(tmp_path, "oddsa_events", {"game_date": "2025-01-20"}, serve_file(raw))
    metadata = _landed_as_served(tmp_path, landed, raw, f"odds-api/events/2025-01-20/{STAMP}.json", "no_data")
    assert (metadata["row_count"], metadata["event_ids"]) == (0, [])
    assert "2025-01-20T05:00:00Z" in metadata["no_data_reason"]


def test_events_handmade_error_is_auth_and_lands_nothing(shared_fixtures: Path, tmp_path: Path) -> None:
    raw = _handmade(shared_fixtures, "oddsa_events_error.json")
    landed = land(tmp_path, "oddsa_events", {"game_date": "2025-01-20"}, serve_file(raw, status=401))
    assert (landed.result.status.value, landed.result.failure_class) == ("failed", Outcome.AUTH)
    assert landed.body is None
    assert "gcs_path" not in landed.completion["metadata"]


@pytest.mark.parametrize(
    ("scraper", "raw", "markets", "folder", "rows"),
    [
        (
            "oddsa_player_props",
            "oddsa_player_props_raw.json",
            "player_points,player_rebounds,player_assists",
            "player-props",
            {"player_points": 6, "player_rebounds": 2, "player_assists": 2},
        ),
        (
            "oddsa_game_lines",
            "oddsa_game_lines_raw.json",
            "spreads,totals,h2h",
            "game-lines",
            {"spreads": 4, "totals": 4, "h2h": 4},
        ),
    ],
)
def test_current_event_odds_handmade_land_as_served_with_counts_and_game_key(
    shared_fixtures: Path,
    tmp_path: Path,
    scraper: str,
    raw: str,
    markets: str,
    folder: str,
    rows: dict[str, int],
) -> None:
    served = _handmade(shared_fixtures, raw)
    options = {
        "event_id": HANDMADE_EVENT,
        "game_date": "2025-01-20",
        "markets": markets,
        "bookmakers": BOOKS,
        "oddsFormat": "american",  # the handmade prices are American
    }
    landed = land(tmp_path, scraper, options, serve_file(served))
    # Current snapshots are named by the landing's wall clock (04:00Z): snap 0400.
    path = f"odds-api/{folder}/2025-01-20/{HANDMADE_EVENT}-BOSLAL/{STAMP}-snap-0400.json"
    metadata = _landed_as_served(tmp_path, landed, served, path, "success")
    assert {"id", "commence_time", "home_team", "away_team", "bookmakers"} <= set(landed.document)
    assert (metadata["event_id"], metadata["game_key"], metadata["teams"]) == (
        HANDMADE_EVENT,
        "20250120_BOS_LAL",  # 00:30Z on the 21st is 7:30 pm Eastern on the 20th
        "BOSLAL",
    )
    assert metadata["rows_by_market"] == rows
    assert metadata["row_count"] == landed.completion["record_count"] == sum(rows.values())
    assert metadata["markets"] == markets.split(",")


# --- the parse of the handmade payloads ---------------------------------------------------------------


def _current_options(markets: tuple[str, ...]) -> dict[str, Any]:
    return {
        "event_id": HANDMADE_EVENT,
        "game_date": date(2025, 1, 20),
        "sport": "basketball_nba",
        "markets": markets,
        "regions": ("us",),
        "bookmakers": tuple(BOOKS.split(",")),
        "oddsFormat": "american",
        "teams": None,
    }


def test_player_props_handmade_document_is_the_body_and_counts_every_outcome(shared_fixtures: Path) -> None:
    path = _handmade(shared_fixtures, "oddsa_player_props_raw.json")
    opts = OddsaPlayerPropsOptions(
        **_current_options(("player_points", "player_rebounds", "player_assists")), snapshot_type="opening"
    )
    scraper = OddsaPlayerProps()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], path)], CTX)
    assert parsed.document == _read(path)
    assert parsed.record_count == parsed.metadata["row_count"] == 10
    assert parsed.metadata["snapshot_type"] == "opening"
    assert parsed.path_values == {"teams": "BOSLAL", "snap": "0400"}


def test_game_lines_handmade_counts_spreads_and_totals_apart_from_h2h(shared_fixtures: Path) -> None:
    path = _handmade(shared_fixtures, "oddsa_game_lines_raw.json")
    opts = OddsaGameLinesOptions(**_current_options(("spreads", "totals", "h2h")))
    scraper = OddsaGameLines()
    parsed = scraper.parse(opts, [_page(scraper.requests(opts)[0], path)], CTX)
    assert parsed.document == _read(path)
    counts = (parsed.metadata["row_count"], parsed.metadata["spreads_count"], parsed.metadata["totals_count"])
    assert counts == (12, 4, 4)


def test_handmade_error_body_is_auth_for_event_odds_too(shared_fixtures: Path) -> None:
    opts = OddsaPlayerPropsOptions(**_current_options(("player_points",)), snapshot_type="opening")
    request = OddsaPlayerProps().requests(opts)[0]
    with pytest.raises(ScrapeError) as caught:
        to_page(
            request, 401, JSON_HEADERS, _handmade(shared_fixtures, "oddsa_events_error.json").read_bytes()
        )
    assert caught.value.outcome is Outcome.AUTH
