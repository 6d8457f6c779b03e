"""nbac_player_list: request plan, the pure parse on the project's fixture, failures, CLI replay."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind
from scrapers.core.season import Season
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.player_list import NbacPlayerList, PlayerListOptions
from tests.pages import TEST_CTX, ParseCase, load_exchange
from tests.replay_cli import landed_files, replay_json

SEASON = Season(2023)
SLUG = "nbac_player_list-2023-24"
SCRAPER = NbacPlayerList()
OPTS = PlayerListOptions(season=SEASON)


CASE = ParseCase(SCRAPER, OPTS, "nbac", SLUG)
_request = CASE.request
_fixture_page = CASE.fixture_page
_body = CASE.fixture_json
_parse = CASE.parse


def _player_index(body: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = body["resultSets"][0]
    return table


# --- request plan -------------------------------------------------------------------------------


def test_requests_ask_playerindex_once_for_the_season() -> None:
    request = _request()

    assert request.url == "https://stats.nba.com/stats/playerindex"
    params = dict(request.params)
    assert params["Season"] == "2023-24"
    assert (params["Historical"], params["LeagueID"], params["TeamID"]) == ("0", "00", "0")
    assert params["SeasonType"] == "Regular Season"
    assert request.expect is BodyKind.JSON
    assert request.headers is headers.STATS


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    request = _request()
    assert load_exchange(project_fixtures / "nbac", SLUG)["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_player_list:")] == []


# --- parse --------------------------------------------------------------------------------------


def test_the_decoded_body_lands_as_is(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures)

    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)

    assert parsed.document == json.loads(page.body)
    assert parsed.record_count == 3
    assert parsed.no_data_reason is None


def test_an_empty_index_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    body = _body(project_fixtures)
    _player_index(body)["rowSet"] = []

    parsed = _parse(json.dumps(body).encode())

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2023-24" in parsed.no_data_reason


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def test_http_204_is_not_no_data() -> None:
    # playerindex always answers a table; a bodiless answer proves nothing about the season.
    with pytest.raises(ParseError):
        _parse(b"", status=204, head={})


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return body

    return mutate


def _drop_column(name: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        table = _player_index(body)
        index = table["headers"].index(name)
        table["headers"].pop(index)
        for row in table["rowSet"]:
            row.pop(index)
        return body

    return mutate


def _short_row(body: dict[str, Any]) -> Any:
    _player_index(body)["rowSet"][1].pop()
    return body


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("result-sets-object", _set(("resultSets",), {"PlayerIndex": []})),
    ("no-player-index", _set(("resultSets", 0, "name"), "CommonAllPlayers")),
    ("headers-missing", _set(("resultSets", 0, "headers"), None)),
    ("header-not-text", _set(("resultSets", 0, "headers", 0), 1)),
    ("row-set-object", _set(("resultSets", 0, "rowSet"), {"rows": []})),
    ("row-not-a-list", _set(("resultSets", 0, "rowSet", 0), {"PERSON_ID": 1})),
    ("short-row", _short_row),
    ("no-person-id-column", _drop_column("PERSON_ID")),
    ("another-season", _set(("parameters", "Season"), "2022-23")),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


def test_parse_wants_exactly_one_page(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures)

    with pytest.raises(ValueError, match="unpack"):
        SCRAPER.parse(OPTS, [page, page], TEST_CTX)


# --- the CLI replays the fixture and lands under the old path contract --------------------------


def test_cli_replay_lands_the_list_under_the_run_date(tmp_path: Path, project_fixtures: Path) -> None:
    result = replay_json(tmp_path, "nbac_player_list", "--season", "2023-24")

    assert (result["status"], result["record_count"]) == ("success", 3)
    (landed,) = landed_files(result)
    # Undated: `{date}` is the Eastern date of the run, as in the old platform.
    assert landed.parent == tmp_path / "nba-com" / "player-list" / result["game_date"]
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    # DECODED, as the old platform exported it: the body itself, nothing added (the verdict
    # travels in the completion).
    assert json.loads(landed.read_text()) == _body(project_fixtures)
    assert result["quality"]["status"] == "ok"
