"""nbac_referee_assignments: request plan, the pure parse on the project's fixtures, failures, CLI replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import Parsed
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.referee_assignments import NbacRefereeAssignments, RefereeAssignmentsOptions
from tests.pages import TEST_CTX, load_exchange, replayed_page
from tests.replay_cli import landed_files, replay_json

DEMO_DAY = date(2024, 1, 15)
UNPUBLISHED_DAY = date(2024, 1, 16)  # fetched before the morning publication: empty tables
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
SCRAPER = NbacRefereeAssignments()


def _request(day: date = DEMO_DAY) -> Request:
    (request,) = SCRAPER.requests(RefereeAssignmentsOptions(game_date=day))
    return request


def _slug(day: date) -> str:
    return f"nbac_referee_assignments-{day.isoformat()}"


def _fixture_page(fixtures: Path, day: date = DEMO_DAY) -> Page:
    return replayed_page(_request(day), fixtures / "nbac", _slug(day))


def _body(fixtures: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_fixture_page(fixtures).body)
    return body


def _parse(body: bytes, status: int = 200, head: dict[str, str] | None = None) -> Parsed:
    page = to_page(_request(), status, JSON_HEADERS if head is None else head, body)
    return SCRAPER.parse(RefereeAssignmentsOptions(game_date=DEMO_DAY), [page], TEST_CTX)


# --- request plan -------------------------------------------------------------------------------


def test_requests_ask_official_nba_com_once_for_the_date() -> None:
    request = _request()

    assert request.url == "https://official.nba.com/wp-json/api/v1/get-game-officials"
    assert request.params == (("date", "2024-01-15"),)
    assert request.expect is BodyKind.JSON
    assert request.headers is headers.DATA


@pytest.mark.parametrize("day", [DEMO_DAY, UNPUBLISHED_DAY])
def test_fixture_exchanges_are_what_requests_produces(project_fixtures: Path, day: date) -> None:
    request = _request(day)
    assert load_exchange(project_fixtures / "nbac", _slug(day))["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_referee_assignments:")] == []


# --- parse --------------------------------------------------------------------------------------


def test_demo_day_counts_games_per_league_and_lands_the_answer(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures)

    parsed = SCRAPER.parse(RefereeAssignmentsOptions(game_date=DEMO_DAY), [page], TEST_CTX)

    assert parsed.record_count == 3
    assert parsed.no_data_reason is None
    assert parsed.document == {
        "metadata": {
            "date": "2024-01-15",
            "season": "2023-24",
            "fetchedUtc": "2024-01-16T03:00:00.000000+00:00",
            "gameCount": {"nba": 2, "gLeague": 1, "wnba": 0, "total": 3},
            "replayCenterOfficials": 2,
        },
        "refereeAssignments": json.loads(page.body),
    }


def test_unpublished_day_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, UNPUBLISHED_DAY)

    parsed = SCRAPER.parse(RefereeAssignmentsOptions(game_date=UNPUBLISHED_DAY), [page], TEST_CTX)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-01-16" in parsed.no_data_reason
    assert parsed.document["metadata"]["gameCount"] == {"nba": 0, "gLeague": 0, "wnba": 0, "total": 0}


def test_an_answer_without_a_replay_center_table_still_lands_its_games(project_fixtures: Path) -> None:
    body = _body(project_fixtures)
    for block in body.values():
        del block["Table1"]

    parsed = _parse(json.dumps(body).encode())

    assert parsed.record_count == 3
    assert parsed.document["metadata"]["replayCenterOfficials"] == 0


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def test_http_204_is_not_no_data() -> None:
    # An empty day answers empty tables; a bodiless answer is no evidence that nothing is assigned.
    with pytest.raises(ParseError):
        _parse(b"", status=204, head={})


def _games(league: str, change: Callable[[list[Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        change(body[league]["Table"]["rows"])
        return body

    return mutate


def _drop_league(league: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        del body[league]
        return body

    return mutate


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("wordpress-error-object", lambda body: {"code": "rest_no_route", "data": {"status": 404}}),
    ("no-g-league", _drop_league("gl")),
    ("league-is-a-list", lambda body: {**body, "wnba": []}),
    ("no-table", lambda body: {**body, "nba": {"Table1": body["nba"]["Table1"]}}),
    ("rows-object", lambda body: {**body, "gl": {"Table": {"rows": {}}}}),
    ("game-not-an-object", _games("nba", lambda rows: rows.append("0022300605"))),
    ("another-days-game", _games("nba", lambda rows: rows[1].update(game_date="01/14/2024"))),
    ("game-date-not-a-date", _games("gl", lambda rows: rows[0].update(game_date="2024-01-15"))),
    ("replay-rows-object", lambda body: {**body, "nba": {**body["nba"], "Table1": {"rows": None}}}),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


# --- the CLI replays the fixtures and lands under the old path contract -------------------------


def test_cli_replay_lands_the_assignments_under_their_date(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_referee_assignments", "--date", DEMO_DAY.isoformat())

    assert (result["status"], result["record_count"], result["game_date"]) == ("success", 3, "2024-01-15")
    (landed,) = landed_files(result)
    assert landed.parent == tmp_path / "nba-com" / "referee-assignments" / "2024-01-15"
    assert json.loads(landed.read_text())["metadata"]["gameCount"]["total"] == 3


def test_cli_replay_of_an_unpublished_day_is_no_data_with_its_reason(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_referee_assignments", "--date", UNPUBLISHED_DAY.isoformat())

    assert (result["status"], result["record_count"]) == ("no_data", 0)
    assert "2024-01-16" in result["no_data_reason"]
    assert result["attempts"]["by_outcome"] == {"ok": 1}
