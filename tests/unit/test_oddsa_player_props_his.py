"""oddsa_player_props_his: the snapshot request, the pure parse of the demo fixtures, the replayed job."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import API_KEY, NO_CONTENT
from scrapers.sources.oddsapi.player_props_his import OddsaPlayerPropsHis, OddsaPlayerPropsHisOptions
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

SCRAPER = OddsaPlayerPropsHis()
SLUG = "oddsa_player_props_his-2024-01-15-OKCLAL"


def _options(snapshot: datetime = datetime(2024, 1, 15, 23, 0, tzinfo=UTC)) -> OddsaPlayerPropsHisOptions:
    return OddsaPlayerPropsHisOptions(
        event_id=OKC_AT_LAL,
        game_date=date(2024, 1, 15),
        snapshot_timestamp=snapshot,
        sport="basketball_nba",
        markets=("player_points",),
        regions=("us",),
        bookmakers=BOOKS,
        odds_format=None,
        teams=None,
    )


OPTS = _options()
EARLY = _options(datetime(2024, 1, 15, 12, 0, tzinfo=UTC))


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_player_props_his:")] == []


def test_request_asks_the_historical_endpoint_on_the_grid() -> None:
    (request,) = SCRAPER.requests(_options(datetime(2024, 1, 15, 23, 4, 59, tzinfo=UTC)))
    assert request.url == (
        f"https://api.the-odds-api.com/v4/historical/sports/basketball_nba/events/{OKC_AT_LAL}/odds"
    )
    assert request.params[0] == ("date", "2024-01-15T23:00:00Z")
    assert dict(request.params)["markets"] == "player_points"


def test_costs_ten_times_the_current_price() -> None:
    assert SCRAPER.quota_cost(OPTS) == 20


METADATA = {
    "sport": "basketball_nba",
    "event_id": OKC_AT_LAL,
    "game_key": "20240115_OKC_LAL",
    "teams": "OKCLAL",
    "markets": ["player_points"],
    "regions": ["us"],
    "row_count": 4,
    "rows_by_market": {"player_points": 4},
    "snapshot_timestamp": "2024-01-15T22:55:40Z",
    "previous_snapshot": "2024-01-15T22:50:39Z",
    "next_snapshot": "2024-01-15T23:00:41Z",
}


def test_parse_reads_the_wrapper_and_tells_the_snapshot_and_the_event() -> None:
    page = replayed_page(SCRAPER.requests(OPTS)[0], FIXTURES, SLUG)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.document == fixture_json(SLUG)  # the snapshot wrapper, unchanged
    assert parsed.metadata == METADATA
    assert parsed.record_count == 4
    # The snap is the grid instant asked for, not the fetch time: reruns land side by side.
    assert parsed.path_values == {"teams": "OKCLAL", "snap": "2300"}


def test_a_snapshot_before_the_books_opened_is_no_data() -> None:
    page = replayed_page(SCRAPER.requests(EARLY)[0], FIXTURES, f"{SLUG}-early")
    parsed = SCRAPER.parse(EARLY, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-01-15T11:55:37Z" in parsed.no_data_reason
    assert parsed.path_values == {"teams": "OKCLAL", "snap": "1200"}
    assert (parsed.metadata["game_key"], parsed.metadata["row_count"]) == ("20240115_OKC_LAL", 0)
    assert parsed.metadata["snapshot_timestamp"] == "2024-01-15T11:55:37Z"


@pytest.mark.parametrize("data", [None, {}])
def test_an_empty_snapshot_is_no_data(data: object) -> None:
    body = {**fixture_json(SLUG), "data": data}
    parsed = SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "is empty" in parsed.no_data_reason
    assert parsed.path_values["teams"] == "UNKUNK"
    assert parsed.document == body  # still landed as served: the snapshot is the evidence
    assert "game_key" not in parsed.metadata


def test_a_204_is_no_data_with_the_asked_snapshot() -> None:
    parsed = SCRAPER.parse(OPTS, [to_page(SCRAPER.requests(OPTS)[0], 204, {}, b"")], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.document is NO_CONTENT
    assert parsed.metadata["snapshot_timestamp"] == "2024-01-15T23:00:00Z"
    assert parsed.metadata["next_snapshot"] is None


@pytest.mark.parametrize(("status", "outcome"), [(401, Outcome.AUTH), (404, Outcome.NOT_FOUND)])
def test_invalid_key_is_auth_and_an_unknown_historical_event_is_not_found(
    status: int, outcome: Outcome
) -> None:
    body = b'{"message": "Event not found. The event may have expired or the event id is invalid."}'
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(OPTS)[0], status, JSON_HEADERS, body)
    assert caught.value.outcome is outcome


@pytest.mark.parametrize(
    "body",
    [
        fixture_json(SLUG)["data"],  # the current endpoint's shape, not the historical wrapper
        {**fixture_json(SLUG), "data": []},
        {**fixture_json(SLUG), "data": {"id": OKC_AT_LAL, "bookmakers": []}},
    ],
)
def test_wrong_shapes_are_structural_never_no_data(body: object) -> None:
    with pytest.raises(ParseError):
        SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)


def test_replay_through_the_cli_lands_the_contract_path(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path,
        "oddsa_player_props_his",
        "--event_id",
        OKC_AT_LAL,
        "--game_date",
        "2024-01-15",
        "--snapshot_timestamp",
        "2024-01-15T23:02:30Z",
        without_env=[API_KEY.env],
    )
    assert (result["status"], result["record_count"]) == ("success", 4)
    path, body = landed(tmp_path, result)
    folder, name = path.rsplit("/", 1)
    assert folder == f"odds-api/player-props-history/2024-01-15/{OKC_AT_LAL}-OKCLAL"
    assert name.endswith("-snap-2300.json")
    assert body == fixture_bytes(SLUG)  # the snapshot wrapper as served
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in METADATA} == METADATA
