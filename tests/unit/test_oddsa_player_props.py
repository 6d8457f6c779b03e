"""oddsa_player_props: the request, the pure parse of the demo fixtures, the replayed job."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind
from scrapers.http.classify import SourceRules
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import API_KEY, NO_CONTENT
from scrapers.sources.oddsapi.player_props import OddsaPlayerProps, OddsaPlayerPropsOptions
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json
from tests.unit.test_oddsa_common import (
    BOOKS,
    FIXTURES,
    HOU_AT_PHI,
    JSON_HEADERS,
    NOP_AT_DAL,
    completion,
    fixture_bytes,
    fixture_json,
    json_page,
    landed,
)

SCRAPER = OddsaPlayerProps()
SLUG = "oddsa_player_props-2024-01-15-HOUPHI"


def _options(event_id: str = HOU_AT_PHI, teams: str | None = None) -> OddsaPlayerPropsOptions:
    # The registry defaults, spelled out: the runner always passes every option.
    return OddsaPlayerPropsOptions(
        event_id=event_id,
        game_date=date(2024, 1, 15),
        sport="basketball_nba",
        markets=("player_points",),
        regions=("us",),
        bookmakers=BOOKS,
        odds_format=None,
        teams=teams,
        snapshot_type="opening",
    )


OPTS = _options()


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_player_props:")] == []


def test_request_asks_the_event_odds_with_the_defaults() -> None:
    (request,) = SCRAPER.requests(OPTS)
    assert request.url == f"https://api.the-odds-api.com/v4/sports/basketball_nba/events/{HOU_AT_PHI}/odds"
    assert request.params == (
        ("regions", "us"),
        ("markets", "player_points"),
        ("bookmakers", ",".join(BOOKS)),
        ("dateFormat", "iso"),
    )
    assert request.expect is BodyKind.JSON
    assert request.secrets == (API_KEY,)
    assert "apiKey" not in request.full_url


def test_cost_is_one_market_times_two_region_units() -> None:
    assert SCRAPER.quota_cost(OPTS) == 2


METADATA = {
    "sport": "basketball_nba",
    "event_id": HOU_AT_PHI,
    "game_key": "20240115_HOU_PHI",
    "teams": "HOUPHI",
    "markets": ["player_points"],
    "regions": ["us"],
    "row_count": 6,
    "rows_by_market": {"player_points": 6},
    "snapshot_type": "opening",
}


def test_parse_reads_the_event_and_tells_its_rows_game_key_teams_and_snap() -> None:
    page = replayed_page(SCRAPER.requests(OPTS)[0], FIXTURES, SLUG)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.document == fixture_json(SLUG)  # the event object, unchanged
    assert parsed.metadata == METADATA
    assert parsed.record_count == 6
    # TEST_CTX fetched at 2024-01-16 03:00 UTC: current snapshots are named by the fetch time.
    assert parsed.path_values == {"teams": "HOUPHI", "snap": "0300"}


def test_a_204_with_an_empty_body_is_no_data_not_a_decode_error() -> None:
    request = SCRAPER.requests(_options(NOP_AT_DAL))[0]
    page = replayed_page(request, FIXTURES, "oddsa_player_props-2024-01-15-NOPDAL")
    assert page.outcome is Outcome.NO_DATA
    assert page.body == b""
    parsed = SCRAPER.parse(_options(NOP_AT_DAL, teams="NOPDAL"), [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "HTTP 204" in parsed.no_data_reason
    assert parsed.document is NO_CONTENT
    assert parsed.path_values == {"teams": "NOPDAL", "snap": "0300"}
    assert (parsed.metadata["event_id"], parsed.metadata["teams"]) == (NOP_AT_DAL, "NOPDAL")
    assert "game_key" not in parsed.metadata  # no body names the game


def test_no_bookmaker_offering_the_market_is_no_data() -> None:
    body = {**fixture_json(SLUG), "bookmakers": []}
    parsed = SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "no bookmaker lists a market" in parsed.no_data_reason
    assert parsed.path_values["teams"] == "HOUPHI"


@pytest.mark.parametrize(
    ("status", "headers", "outcome"),
    [
        (401, JSON_HEADERS, Outcome.AUTH),
        (429, {**JSON_HEADERS, "x-requests-remaining": "0"}, Outcome.AUTH),
        (404, JSON_HEADERS, Outcome.NOT_FOUND),
        (422, JSON_HEADERS, Outcome.STRUCTURAL),
    ],
)
def test_error_bodies_keep_their_class(status: int, headers: dict[str, str], outcome: Outcome) -> None:
    rules = SourceRules(quota_remaining_header="x-requests-remaining")
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(OPTS)[0], status, headers, b'{"message": "Invalid API key"}', rules)
    assert caught.value.outcome is outcome


def test_an_event_without_teams_or_bookmakers_is_structural_never_no_data() -> None:
    with pytest.raises(ParseError):
        SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], {"id": HOU_AT_PHI})], TEST_CTX)


def test_replay_through_the_cli_lands_the_contract_path(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path,
        "oddsa_player_props",
        "--event_id",
        HOU_AT_PHI,
        "--game_date",
        "2024-01-15",
        without_env=[API_KEY.env],
    )
    assert (result["status"], result["record_count"]) == ("success", 6)
    path, body = landed(tmp_path, result)
    folder, name = path.rsplit("/", 1)
    assert folder == f"odds-api/player-props/2024-01-15/{HOU_AT_PHI}-HOUPHI"
    stamp, snap = name.removesuffix(".json").split("-snap-")
    assert len(stamp) == 15
    assert snap == stamp[9:13]
    assert body == fixture_bytes(SLUG)  # the event object as served
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in METADATA} == METADATA
    assert metadata["gcs_path"].endswith(path)


def test_replayed_204_lands_nothing_and_is_no_data(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path,
        "oddsa_player_props",
        "--event_id",
        NOP_AT_DAL,
        "--game_date",
        "2024-01-15",
        "--teams",
        "NOPDAL",
        without_env=[API_KEY.env],
    )
    assert (result["status"], result["record_count"]) == ("no_data", 0)
    assert "HTTP 204" in result["no_data_reason"]
    # An empty body is no JSON document: like the old platform, nothing is saved and no path named.
    assert result["landed"] == []
    assert not (tmp_path / "odds-api").exists()
    metadata = completion(tmp_path)["metadata"]
    assert "gcs_path" not in metadata  # the completion leaves out what is null
    assert (metadata["landed_paths"], metadata["event_id"], metadata["row_count"]) == ([], NOP_AT_DAL, 0)
    assert metadata["quality"]["status"] == "ok"  # nothing served, nothing failed
