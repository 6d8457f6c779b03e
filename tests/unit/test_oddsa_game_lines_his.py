"""oddsa_game_lines_his: the snapshot request, the pure parse of the demo fixture, the replayed job."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import API_KEY
from scrapers.sources.oddsapi.game_lines_his import OddsaGameLinesHis, OddsaGameLinesHisOptions
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json
from tests.unit.test_oddsa_common import (
    BOOKS,
    FIXTURES,
    JSON_HEADERS,
    OKC_AT_LAL,
    completion,
    fixture_bytes,
    fixture_json,
    json_page,
    landed,
)

SCRAPER = OddsaGameLinesHis()
SLUG = "oddsa_game_lines_his-2024-01-15-OKCLAL"
OPTS = OddsaGameLinesHisOptions(
    event_id=OKC_AT_LAL,
    game_date=date(2024, 1, 15),
    snapshot_timestamp=datetime(2024, 1, 15, 23, 0, tzinfo=UTC),
    sport="basketball_nba",
    markets=("spreads", "totals"),
    regions=("us",),
    bookmakers=BOOKS,
    odds_format=None,
    teams=None,
)


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_game_lines_his:")] == []


def test_request_asks_spreads_and_totals_at_the_snapshot() -> None:
    (request,) = SCRAPER.requests(OPTS)
    assert request.url.endswith(f"/v4/historical/sports/basketball_nba/events/{OKC_AT_LAL}/odds")
    params = dict(request.params)
    assert (params["date"], params["markets"]) == ("2024-01-15T23:00:00Z", "spreads,totals")


def test_costs_ten_times_two_markets_times_two_region_units() -> None:
    assert SCRAPER.quota_cost(OPTS) == 40


METADATA = {
    "sport": "basketball_nba",
    "event_id": OKC_AT_LAL,
    "game_key": "20240115_OKC_LAL",  # tips 03:30Z on the 16th, 10:30 pm Eastern on the 15th
    "teams": "OKCLAL",
    "markets": ["spreads", "totals"],
    "regions": ["us"],
    "row_count": 4,
    "rows_by_market": {"spreads": 2, "totals": 2},
    "snapshot_timestamp": "2024-01-15T22:55:40Z",
    "previous_snapshot": "2024-01-15T22:50:39Z",
    "next_snapshot": "2024-01-15T23:00:41Z",
    "spreads_count": 2,
    "totals_count": 2,
}


def test_parse_reads_the_wrapper_and_counts_spreads_and_totals_at_the_snapshot() -> None:
    page = replayed_page(SCRAPER.requests(OPTS)[0], FIXTURES, SLUG)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.document == fixture_json(SLUG)  # the snapshot wrapper, unchanged
    assert parsed.metadata == METADATA
    assert parsed.record_count == 4
    assert parsed.path_values == {"teams": "OKCLAL", "snap": "2300"}


def test_an_empty_snapshot_is_no_data() -> None:
    body = {**fixture_json(SLUG), "data": {**fixture_json(SLUG)["data"], "bookmakers": []}}
    parsed = SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason
    assert (parsed.metadata["spreads_count"], parsed.metadata["totals_count"]) == (0, 0)


@pytest.mark.parametrize(("status", "outcome"), [(401, Outcome.AUTH), (404, Outcome.NOT_FOUND)])
def test_error_bodies_keep_their_class(status: int, outcome: Outcome) -> None:
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(OPTS)[0], status, JSON_HEADERS, b'{"message": "Event not found"}')
    assert caught.value.outcome is outcome


def test_a_snapshot_without_its_event_is_structural() -> None:
    with pytest.raises(ParseError):
        SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], {"data": {}})], TEST_CTX)


def test_replay_through_the_cli_lands_the_contract_path(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path,
        "oddsa_game_lines_his",
        "--event_id",
        OKC_AT_LAL,
        "--game_date",
        "2024-01-15",
        "--snapshot_timestamp",
        "2024-01-15T23:00:00Z",
        without_env=[API_KEY.env],
    )
    assert (result["status"], result["record_count"]) == ("success", 4)
    path, body = landed(tmp_path, result)
    assert path.startswith(f"odds-api/game-lines-history/2024-01-15/{OKC_AT_LAL}-OKCLAL/")
    assert path.endswith("-snap-2300.json")
    assert body == fixture_bytes(SLUG)  # the snapshot wrapper as served
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in METADATA} == METADATA
