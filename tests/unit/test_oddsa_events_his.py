"""oddsa_events_his: the snapshot request, the pure parse of the demo fixtures, the replayed job."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scrapers.core.errors import OptionError, ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import API_KEY, NO_CONTENT
from scrapers.sources.oddsapi.events_his import OddsaEventsHis, OddsaEventsHisOptions
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json
from tests.unit.test_oddsa_common import (
    FIXTURES,
    GSW_AT_MEM,
    HOU_AT_PHI,
    JSON_HEADERS,
    NOP_AT_DAL,
    OKC_AT_LAL,
    completion,
    event_refs_of,
    fixture_bytes,
    fixture_json,
    json_page,
    landed,
)

SCRAPER = OddsaEventsHis()
SNAPSHOT = {
    "timestamp": "2024-01-15T15:55:38Z",
    "previous_timestamp": "2024-01-15T15:50:38Z",
    "next_timestamp": "2024-01-15T16:00:39Z",
}


def _options(
    game_date: date = date(2024, 1, 15),
    snapshot: datetime = datetime(2024, 1, 15, 16, 0, tzinfo=UTC),
    event_ids: tuple[str, ...] | None = None,
    end: datetime | None = None,
) -> OddsaEventsHisOptions:
    return OddsaEventsHisOptions(
        game_date=game_date,
        snapshot_timestamp=snapshot,
        sport="basketball_nba",
        commence_time_from=None,
        commence_time_to=end,
        event_ids=event_ids,
    )


DAY = _options()
EMPTY_DAY = _options(date(2024, 2, 16), datetime(2024, 2, 16, 16, 0, tzinfo=UTC))


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_events_his:")] == []


def test_request_asks_the_snapshot_on_the_grid_for_the_eastern_day() -> None:
    (request,) = SCRAPER.requests(_options(snapshot=datetime(2024, 1, 15, 16, 2, 13, tzinfo=UTC)))
    assert request.url == "https://api.the-odds-api.com/v4/historical/sports/basketball_nba/events"
    assert request.params == (
        ("date", "2024-01-15T16:00:00Z"),
        ("commenceTimeFrom", "2024-01-15T05:00:00Z"),
        ("commenceTimeTo", "2024-01-16T04:59:59Z"),
        ("dateFormat", "iso"),
    )


def test_event_ids_use_the_api_parameter_name() -> None:
    (request,) = SCRAPER.requests(_options(event_ids=(HOU_AT_PHI, GSW_AT_MEM)))
    assert dict(request.params)["eventIds"] == f"{HOU_AT_PHI},{GSW_AT_MEM}"


def test_a_window_that_ends_before_it_starts_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="commence_time_to"):
        SCRAPER.check_options(_options(end=datetime(2024, 1, 15, 1, 0, tzinfo=UTC)))


def test_costs_one_credit() -> None:
    assert SCRAPER.quota_cost(DAY) == 1


METADATA = {
    "sport": "basketball_nba",
    "row_count": 4,
    "event_ids": [HOU_AT_PHI, NOP_AT_DAL, GSW_AT_MEM, OKC_AT_LAL],
    "game_keys": ["20240115_HOU_PHI", "20240115_NOP_DAL", "20240115_GSW_MEM", "20240115_OKC_LAL"],
    "snapshot_timestamp": "2024-01-15T15:55:38Z",
    "previous_snapshot": "2024-01-15T15:50:38Z",
    "next_snapshot": "2024-01-15T16:00:39Z",
}


def test_parse_reads_the_wrapper_and_tells_the_snapshot_and_its_events() -> None:
    page = replayed_page(SCRAPER.requests(DAY)[0], FIXTURES, "oddsa_events_his-2024-01-15")
    parsed = SCRAPER.parse(DAY, [page], TEST_CTX)
    assert parsed.document == fixture_json("oddsa_events_his-2024-01-15")  # the body, unchanged
    assert parsed.metadata == METADATA
    assert parsed.record_count == 4
    assert event_refs_of(parsed.fan_out)[-1].event_id == OKC_AT_LAL


def test_unordered_events_are_fanned_out_in_commence_order() -> None:
    events = fixture_json("oddsa_events_his-2024-01-15")["data"]
    body = {**SNAPSHOT, "data": list(reversed(events))}
    parsed = SCRAPER.parse(DAY, [json_page(SCRAPER.requests(DAY)[0], body)], TEST_CTX)
    assert parsed.document == body
    assert [ref.event_id for ref in event_refs_of(parsed.fan_out)] == METADATA["event_ids"]
    assert parsed.metadata == METADATA


def test_an_empty_snapshot_is_no_data_naming_the_snapshot() -> None:
    page = replayed_page(SCRAPER.requests(EMPTY_DAY)[0], FIXTURES, "oddsa_events_his-2024-02-16")
    parsed = SCRAPER.parse(EMPTY_DAY, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "snapshot 2024-02-16T15:55:41Z" in parsed.no_data_reason
    assert parsed.document["data"] == []
    assert (parsed.metadata["row_count"], parsed.metadata["snapshot_timestamp"]) == (
        0,
        "2024-02-16T15:55:41Z",
    )


def test_a_204_is_no_data_with_the_asked_snapshot() -> None:
    page = to_page(SCRAPER.requests(DAY)[0], 204, {}, b"")
    parsed = SCRAPER.parse(DAY, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.document is NO_CONTENT
    assert parsed.metadata["snapshot_timestamp"] == "2024-01-15T16:00:00Z"
    assert parsed.metadata["previous_snapshot"] is None
    assert parsed.no_data_reason is not None
    assert "HTTP 204" in parsed.no_data_reason


@pytest.mark.parametrize(("status", "outcome"), [(401, Outcome.AUTH), (404, Outcome.NOT_FOUND)])
def test_error_bodies_keep_their_class(status: int, outcome: Outcome) -> None:
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(DAY)[0], status, JSON_HEADERS, b'{"message": "Invalid API key"}')
    assert caught.value.outcome is outcome


@pytest.mark.parametrize(
    "body",
    [
        {**SNAPSHOT, "data": {"id": HOU_AT_PHI}},
        {**SNAPSHOT, "data": [{"id": HOU_AT_PHI}]},
    ],
)
def test_wrong_shapes_are_structural_never_no_data(body: object) -> None:
    with pytest.raises(ParseError):
        SCRAPER.parse(DAY, [json_page(SCRAPER.requests(DAY)[0], body)], TEST_CTX)


def test_replay_through_the_cli_lands_the_contract_path(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path,
        "oddsa_events_his",
        "--game_date",
        "2024-01-15",
        "--snapshot_timestamp",
        "2024-01-15T16:03:00Z",
        without_env=[API_KEY.env],
    )
    assert (result["status"], result["record_count"]) == ("success", 4)
    assert next(ref["event_id"] for ref in result["fan_out"]) == HOU_AT_PHI
    path, body = landed(tmp_path, result)
    assert path.startswith("odds-api/events-history/2024-01-15/")
    assert body == fixture_bytes("oddsa_events_his-2024-01-15")  # the wrapper as served
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in METADATA} == METADATA
