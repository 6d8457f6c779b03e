"""nbac_player_movement: request plan, the pure parse on the project's fixture, failures, CLI replay."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind
from scrapers.core.scraper import ParseContext
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.player_movement import NbacPlayerMovement, PlayerMovementOptions
from tests.pages import TEST_CTX, ParseCase, load_exchange
from tests.replay_cli import landed_files, replay_json

SLUG = "nbac_player_movement-feed"
SCRAPER = NbacPlayerMovement()
OPTS = PlayerMovementOptions(year=2024)
COLUMNS = [
    "Transaction_Type",
    "TRANSACTION_DATE",
    "TRANSACTION_DESCRIPTION",
    "TEAM_ID",
    "TEAM_SLUG",
    "PLAYER_ID",
    "PLAYER_SLUG",
    "Additional_Sort",
    "GroupSort",
]


CASE = ParseCase(SCRAPER, OPTS, "nbac", SLUG)
_request = CASE.request
_fixture_page = CASE.fixture_page
_body = CASE.fixture_json
_parse = CASE.parse


# --- request plan -------------------------------------------------------------------------------


def test_requests_ask_the_static_feed_whatever_the_year() -> None:
    request = _request()

    assert request.full_url == "https://stats.nba.com/js/data/playermovement/NBA_Player_Movement.json"
    assert SCRAPER.requests(PlayerMovementOptions(year=None)) == (request,)
    assert request.expect is BodyKind.JSON
    assert request.headers is headers.STATS


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    request = _request()
    assert load_exchange(project_fixtures / "nbac", SLUG)["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_player_movement:")] == []


# --- parse --------------------------------------------------------------------------------------


def test_feed_lands_in_the_old_shape(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(OPTS, [_fixture_page(project_fixtures)], TEST_CTX)

    assert parsed.record_count == 3
    assert parsed.no_data_reason is None
    assert parsed.document == {
        "metadata": {
            "year": "2024",
            "fetchedUtc": "2024-01-16T03:00:00.000000+00:00",
            "recordCount": 3,
            "columnCount": 9,
        },
        "headers": COLUMNS,
        "rows": _body(project_fixtures)["NBA_Player_Movement"]["rows"],
    }


def test_year_defaults_to_the_eastern_year_of_the_fetch(project_fixtures: Path) -> None:
    # 03:00 UTC on New Year's Day is still New Year's Eve in the East.
    new_years_eve = ParseContext(fetched_at=datetime(2024, 1, 1, 3, 0, tzinfo=UTC), run_id="test0001")
    opts = PlayerMovementOptions(year=None)

    parsed = SCRAPER.parse(opts, [_fixture_page(project_fixtures)], new_years_eve)

    assert parsed.document["metadata"]["year"] == "2023"


def test_a_feed_without_transactions_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    body = _body(project_fixtures)
    body["NBA_Player_Movement"]["rows"] = []

    parsed = _parse(json.dumps(body).encode())

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "no transactions" in parsed.no_data_reason
    assert parsed.document["metadata"]["recordCount"] == 0


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def test_http_204_is_not_no_data() -> None:
    # The feed is a static file that always has content; a bodiless answer proves nothing.
    with pytest.raises(ParseError):
        _parse(b"", status=204, head={})


def _feed(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        change(body["NBA_Player_Movement"])
        return body

    return mutate


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("no-feed", lambda body: {"rows": body["NBA_Player_Movement"]["rows"]}),
    ("feed-is-a-list", lambda body: {"NBA_Player_Movement": []}),
    ("no-columns", _feed(lambda feed: feed.pop("columns"))),
    ("column-without-name", _feed(lambda feed: feed["columns"][2].pop("Name"))),
    ("column-not-an-object", _feed(lambda feed: feed["columns"].append("GroupSort"))),
    ("no-rows", _feed(lambda feed: feed.pop("rows"))),
    ("rows-object", _feed(lambda feed: feed.update(rows={"0": {}}))),
    ("row-not-an-object", _feed(lambda feed: feed["rows"].append(["Signing", "2024-01-15T00:00:00"]))),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


# --- the CLI replays the fixture and lands under the old path contract --------------------------


def test_cli_replay_lands_the_feed_under_the_run_date(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_player_movement", "--year", "2024")

    assert (result["status"], result["record_count"]) == ("success", 3)
    (landed,) = landed_files(result)
    # Undated: `{date}` is the Eastern date of the run, as in the old platform.
    assert landed.parent == tmp_path / "nba-com" / "player-movement" / result["game_date"]
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    document = json.loads(landed.read_text())
    assert (document["metadata"]["year"], document["headers"]) == ("2024", COLUMNS)
