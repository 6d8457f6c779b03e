"""oddsa_team_players: the request, the pure parse of the demo fixture, the replayed job."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.http.decode import to_page
from scrapers.sources.oddsapi.common import API_KEY, NO_CONTENT
from scrapers.sources.oddsapi.team_players import OddsaTeamPlayers, OddsaTeamPlayersOptions
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json
from tests.unit.test_oddsa_common import (
    FIXTURES,
    JSON_HEADERS,
    completion,
    fixture_bytes,
    fixture_json,
    json_page,
    landed,
)

SCRAPER = OddsaTeamPlayers()
PARTICIPANT = "par_01hqmkr1xsfxmrj6300d1rmzx3"
SLUG = f"oddsa_team_players-{PARTICIPANT}"
OPTS = OddsaTeamPlayersOptions(participant_id=PARTICIPANT, sport="basketball_nba")


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("oddsa_team_players:")] == []


def test_request_names_the_participant_and_carries_no_key() -> None:
    (request,) = SCRAPER.requests(OPTS)
    assert request.url == (
        f"https://api.the-odds-api.com/v4/sports/basketball_nba/participants/{PARTICIPANT}/players"
    )
    assert request.params == ()
    assert SCRAPER.quota_cost(OPTS) == 1


METADATA = {"sport": "basketball_nba", "participant_id": PARTICIPANT, "row_count": 3}


def test_parse_reads_the_bare_list_and_counts_the_players() -> None:
    page = replayed_page(SCRAPER.requests(OPTS)[0], FIXTURES, SLUG)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.document == {"data": fixture_json(SLUG)}  # the validators' view of a bare list
    assert parsed.metadata == METADATA
    assert parsed.record_count == 3


def test_a_wrapped_list_is_read_too() -> None:
    body = {"players": fixture_json(SLUG)}
    parsed = SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)
    assert parsed.record_count == 3
    assert parsed.document == body


@pytest.mark.parametrize(("status", "body"), [(200, b"[]"), (204, b"")])
def test_no_players_is_no_data(status: int, body: bytes) -> None:
    page = to_page(SCRAPER.requests(OPTS)[0], status, JSON_HEADERS, body)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason
    assert parsed.metadata["row_count"] == 0
    assert (parsed.document is NO_CONTENT) == (status == 204)


def test_invalid_key_is_auth() -> None:
    with pytest.raises(ScrapeError) as caught:
        to_page(SCRAPER.requests(OPTS)[0], 401, JSON_HEADERS, b'{"message": "Invalid API key"}')
    assert caught.value.outcome is Outcome.AUTH


@pytest.mark.parametrize("body", [["LeBron James"], {"players": None}])
def test_wrong_shapes_are_structural(body: object) -> None:
    with pytest.raises(ParseError):
        SCRAPER.parse(OPTS, [json_page(SCRAPER.requests(OPTS)[0], body)], TEST_CTX)


def test_replay_through_the_cli_lands_under_the_run_date(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path, "oddsa_team_players", "--participant_id", PARTICIPANT, without_env=[API_KEY.env]
    )
    assert (result["status"], result["record_count"]) == ("success", 3)
    path, body = landed(tmp_path, result)
    assert path == f"odds-api/players/{result['game_date']}/{path.rsplit('/', 1)[1]}"
    assert body == fixture_bytes(SLUG)  # the bare list as served
    metadata = completion(tmp_path)["metadata"]
    assert {key: metadata[key] for key in METADATA} == METADATA
