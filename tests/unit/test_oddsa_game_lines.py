"""oddsa_game_lines: the request, the pure parse of the demo fixture, the replayed job."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import API_KEY, NO_CONTENT
from scrapers.sources.oddsapi.game_lines import OddsaGameLines, OddsaGameLinesOptions
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json
from tests.unit.test_oddsa_common import (
    BOOKS,
    FIXTURES,
    GSW_AT_MEM,
    JSON_HEADERS,
    completion,
    fixture_bytes,
    fixture_json,
    json_page,
    landed,
)

SCRAPER = OddsaGameLines()
SLUG = "oddsa_game_lines-2024-01-15-GSWMEM"


def _options(
    markets: tuple[str, ...] = ("spreads", "totals"), odds_format: str | None = None
) -> OddsaGameLinesOptions:
    return OddsaGameLinesOptions(
        event_id=GSW_AT_MEM,
        game_date=date(2024, 1, 15),
        sport="basketball_nba",
        markets=markets,
        regions=("us",),
        bookmakers=BOOKS,
        odds_format=odds_format,
        teams=None,
    )


OPTS = _options()


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_game_lines:")] == []


def test_request_asks_spreads_and_totals_and_the_odds_format_when_given() -> None:
    (request,) = SCRAPER.requests(_options(odds_format="american"))
    assert request.url == f"https://api.the-odds-api.com/v4/sports/basketball_nba/events/{GSW_AT_MEM}/odds"
    params = dict(request.params)
    assert params["markets"] == "spreads,totals"
    assert params["oddsFormat"] == "american"
    assert "oddsFormat" not in dict(SCRAPER.requests(OPTS)[0].params)


def test_cost_is_two_markets_times_two_region_units() -> None:
    assert SCRAPER.quota_cost(OPTS) == 4
    assert SCRAPER.quota_cost(_options(markets=("spreads", "totals", "h2h"))) == 6


METADATA = {
    "sport": "basketball_nba",
    "event_id": GSW_AT_MEM,
    "game_key": "20240115_GSW_MEM",
    "teams": "GSWMEM",
    "markets": ["spreads", "totals"],
    "regions": ["us"],
    "row_count": 6,
    "rows_by_market": {"spreads": 4, "totals": 2},
    "spreads_count": 4,
    "totals_count": 2,
}


def test_parse_reads_the_event_and_counts_spreads_and_totals_rows() -> None:
    page = replayed_page(SCRAPER.requests(OPTS)[0], FIXTURES, SLUG)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.document == fixture_json(SLUG)  # the event object, unchanged
    assert parsed.metadata == METADATA
    assert parsed.record_count == 6
    assert parsed.path_values == {"teams": "GSWMEM", "snap": "0300"}


def test_no_lines_yet_is_no_data_with_zero_counts() -> None:
    body = {**fixture_json(SLUG), "bookmakers": []}
    parsed = SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason
    assert (parsed.metadata["spreads_count"], parsed.metadata["totals_count"]) == (0, 0)
    assert parsed.metadata["game_key"] == "20240115_GSW_MEM"  # the body still names the game


def test_a_204_is_no_data_without_a_game_key() -> None:
    page = to_page(SCRAPER.requests(OPTS)[0], 204, {}, b"")
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "HTTP 204" in parsed.no_data_reason
    assert parsed.path_values["teams"] == "UNKUNK"
    assert parsed.document is NO_CONTENT
    assert "game_key" not in parsed.metadata
    assert (parsed.metadata["event_id"], parsed.metadata["row_count"]) == (GSW_AT_MEM, 0)


def test_invalid_key_is_auth() -> None:
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(OPTS)[0], 401, JSON_HEADERS, b'{"message": "Invalid API key"}')
    assert caught.value.outcome is Outcome.AUTH


def test_the_event_wrapped_in_a_list_is_structural() -> None:
    with pytest.raises(ParseError):
        SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], [fixture_json(SLUG)])], TEST_CTX)


def test_replay_through_the_cli_lands_the_contract_path(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path,
        "oddsa_game_lines",
        "--event_id",
        GSW_AT_MEM,
        "--game_date",
        "2024-01-15",
        without_env=[API_KEY.env],
    )
    assert (result["status"], result["record_count"]) == ("success", 6)
    path, body = landed(tmp_path, result)
    assert path.startswith(f"odds-api/game-lines/2024-01-15/{GSW_AT_MEM}-GSWMEM/")
    assert "-snap-" in path
    assert body == fixture_bytes(SLUG)  # the event object as served
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in METADATA} == METADATA
