"""espn_roster: the ESPN team table, the request plan, the pure parse and its classification."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scrapers.cli import main
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.core.request import BodyKind, Request
from scrapers.core.scraper import Parsed
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.nba.espn_teams import TEAMS, team_by_code, team_by_name
from scrapers.nba.teams import TEAMS as NBA_TEAMS
from scrapers.sources.espn import headers
from scrapers.sources.espn.roster import EspnRoster, EspnRosterOptions, height_inches
from tests.conftest import PROJECT_FIXTURES
from tests.pages import TEST_CTX, load_exchange, replayed_page
from tests.replay_cli import landed_files, replay_json

FIXTURES = PROJECT_FIXTURES / "espn"
JSON_HEADERS = {"content-type": "application/json;charset=UTF-8"}
PHI = EspnRosterOptions(team_abbr="PHI")
SCRAPER = EspnRoster()


def _request(opts: EspnRosterOptions = PHI) -> Request:
    (request,) = SCRAPER.requests(opts)
    return request


def _fixture_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "espn_roster-PHI.body.json").read_text(encoding="utf-8"))
    return body


def _parse_json(body: object) -> Parsed:
    page = to_page(_request(), 200, JSON_HEADERS, json.dumps(body).encode())
    return SCRAPER.parse(PHI, [page], TEST_CTX)


# --- the team table -----------------------------------------------------------------------------


def test_thirty_teams_with_unique_codes_ids_names_and_tricodes() -> None:
    assert len(TEAMS) == 30
    for field in ("code", "team_id", "name", "tricode"):
        assert len({getattr(team, field) for team in TEAMS}) == 30, field


def test_tricodes_are_nba_com_tricodes() -> None:
    assert {team.tricode for team in TEAMS} == {team.abbr for team in NBA_TEAMS}


@pytest.mark.parametrize(
    ("code", "tricode"),
    [("GS", "GSW"), ("NO", "NOP"), ("NY", "NYK"), ("SA", "SAS"), ("UTAH", "UTA"), ("WSH", "WAS")],
)
def test_espn_codes_that_differ_from_nba_tricodes(code: str, tricode: str) -> None:
    team = team_by_code(code)
    assert team is not None
    assert team.tricode == tricode
    assert team_by_code(tricode) is None


def test_lookup_by_display_name() -> None:
    team = team_by_name(" LA Clippers ")
    assert team is not None
    assert (team.code, team.team_id) == ("LAC", 12)


# --- options and request ------------------------------------------------------------------------


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("espn_roster:")] == []


def test_request_asks_the_site_api_by_espn_team_id() -> None:
    request = _request(EspnRosterOptions(team_abbr="GS"))

    assert (
        request.full_url
        == "https://site.api.espn.com/apis/site/v2/sports/basketball/nba/teams/9?enable=roster"
    )
    assert request.expect is BodyKind.JSON
    assert request.headers is headers.SITE_API


def test_fixture_exchange_is_what_requests_produces() -> None:
    request = _request()
    assert load_exchange(FIXTURES, "espn_roster-PHI")["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(FIXTURES)


@pytest.mark.parametrize(
    ("value", "hint"), [("GSW", "did you mean GS?"), ("gs", "did you mean GS?"), ("SEA", "")]
)
def test_an_unknown_code_is_an_option_error_with_a_hint(value: str, hint: str) -> None:
    with pytest.raises(OptionError) as caught:
        SCRAPER.check_options(EspnRosterOptions(team_abbr=value))
    assert caught.value.option == "team_abbr"
    assert caught.value.example == "GS"
    assert hint in caught.value.problem


def test_cli_exits_2_naming_the_option_with_an_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "espn_roster", "--team_abbr", "NYK", "--replay", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "option 'team_abbr'" in err
    assert "did you mean NY?" in err
    assert "(example: GS)" in err


# --- parse --------------------------------------------------------------------------------------


def test_roster_lands_every_player_in_the_old_layout() -> None:
    parsed = SCRAPER.parse(PHI, [replayed_page(_request(), FIXTURES, "espn_roster-PHI")], TEST_CTX)

    assert parsed.record_count == 4
    assert {k: v for k, v in parsed.document.items() if k != "players"} == {
        "team_abbr": "PHI",
        "espn_team_abbr": "PHI",
        "espn_team_id": 20,
        "teamName": "Philadelphia 76ers",
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "playerCount": 4,
    }
    first, injured, _, unnumbered = parsed.document["players"]
    assert first == {
        "playerId": "5100001",
        "fullName": "Milo Archer",
        "jersey": "7",
        "position": "Point Guard",
        "heightIn": 76,
        "weightLb": 195.0,
        "injuries": [],
    }
    assert injured["injuries"][0]["status"] == "Day-To-Day"
    assert unnumbered["jersey"] is None


def test_team_abbr_is_the_nba_tricode_and_espn_code_is_kept() -> None:
    body = _fixture_body()
    body["team"].update(id="9", displayName="Golden State Warriors")
    opts = EspnRosterOptions(team_abbr="GS")
    page = to_page(_request(opts), 200, JSON_HEADERS, json.dumps(body).encode())

    document = SCRAPER.parse(opts, [page], TEST_CTX).document

    assert (document["team_abbr"], document["espn_team_abbr"], document["espn_team_id"]) == ("GSW", "GS", 9)


@pytest.mark.parametrize(
    ("raw", "inches"),
    [
        (78.0, 78),
        (78, 78),
        ("79", 79),
        ({"feet": 6, "inches": 6}, 78),
        ({"feet": 7}, 84),
        ("6' 6\"", None),
        (None, None),
        (True, None),
        ({"inches": 5}, None),
    ],
)
def test_height_is_whole_inches(raw: object, inches: int | None) -> None:
    assert height_inches(raw) == inches


def test_an_empty_roster_is_no_data_with_a_reason() -> None:
    body = _fixture_body()
    body["team"]["athletes"] = []

    parsed = _parse_json(body)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "PHI" in parsed.no_data_reason
    assert parsed.document["players"] == []


def _team(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        change(body["team"])
        return body

    return mutate


def _first_athlete(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
    return _team(lambda team: change(team["athletes"][0]))


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("another-team", _team(lambda team: team.update(id="9"))),
    ("no-athletes", _team(lambda team: team.pop("athletes"))),
    ("athletes-object", _team(lambda team: team.update(athletes={}))),
    ("athlete-not-object", _team(lambda team: team.update(athletes=["5100001"]))),
    ("athlete-without-id", _first_athlete(lambda athlete: athlete.pop("id"))),
    ("athlete-without-name", _first_athlete(lambda athlete: athlete.update(fullName=""))),
    ("injuries-object", _first_athlete(lambda athlete: athlete.update(injuries={}))),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shapes_are_parse_errors(mutate: Callable[[dict[str, Any]], Any]) -> None:
    with pytest.raises(ParseError) as caught:
        _parse_json(mutate(copy.deepcopy(_fixture_body())))
    assert caught.value.outcome is Outcome.STRUCTURAL


def test_http_204_is_structural_not_no_data() -> None:
    page = to_page(_request(), 204, {}, b"")
    with pytest.raises(ParseError, match="204"):
        SCRAPER.parse(PHI, [page], TEST_CTX)


# --- the CLI replay -----------------------------------------------------------------------------


def test_cli_replay_lands_the_roster_under_the_espn_code(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "espn_roster", "--team_abbr", "PHI")

    assert (result["status"], result["record_count"]) == ("success", 4)
    (landed,) = landed_files(result)
    assert landed.parent == tmp_path / "espn" / "rosters" / result["game_date"] / "team_PHI"
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    assert json.loads(landed.read_text(encoding="utf-8"))["playerCount"] == 4
