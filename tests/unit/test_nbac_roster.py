"""nbac_roster: the team table, options, request plan, the pure parse of the page, failures, CLI replay."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions, OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import BodyKind
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.nba.teams import BY_ABBR, TEAMS, team_by_abbr
from scrapers.pipeline.runner import prepare
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.roster import NbacRoster, RosterOptions
from tests.pages import TEST_CTX, ParseCase, load_exchange
from tests.replay_cli import landed_files, replay, replay_json

SLUG = "nbac_roster-PHI"
SCRAPER = NbacRoster()
OPTS = RosterOptions(team_abbr="PHI")
SCRIPT_OPEN = '<script id="__NEXT_DATA__" type="application/json">'
CASE = ParseCase(SCRAPER, OPTS, "nbac", SLUG, content_type="text/html; charset=utf-8")
_request = CASE.request
_fixture_page = CASE.fixture_page
_parse = CASE.parse


def _html(fixtures: Path) -> str:
    return _fixture_page(fixtures).body.decode("utf-8")


def _next_data(html: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(html.partition(SCRIPT_OPEN)[2].partition("</script>")[0])
    return data


def _with_next_data(html: str, script_text: str) -> str:
    before, _, rest = html.partition(SCRIPT_OPEN)
    return before + SCRIPT_OPEN + script_text + "</script>" + rest.partition("</script>")[2]


def _roster(data: dict[str, Any]) -> list[dict[str, Any]]:
    roster: list[dict[str, Any]] = data["props"]["pageProps"]["team"]["roster"]
    return roster


# --- the team table -----------------------------------------------------------------------------


def test_team_table_holds_thirty_distinct_teams() -> None:
    assert len(TEAMS) == 30
    assert (
        len({t.team_id for t in TEAMS}) == len({t.abbr for t in TEAMS}) == len({t.slug for t in TEAMS}) == 30
    )
    assert {t.team_id for t in TEAMS} == set(range(1610612737, 1610612767))
    assert all(re.fullmatch(r"[A-Z]{3}", t.abbr) and re.fullmatch(r"[a-z]+", t.slug) for t in TEAMS)
    assert team_by_abbr("GSW") is BY_ABBR["GSW"]
    assert (BY_ABBR["PHI"].team_id, BY_ABBR["PHI"].slug) == (1610612755, "sixers")


# --- options ------------------------------------------------------------------------------------


def test_a_known_tricode_passes_the_option_check() -> None:
    SCRAPER.check_options(RosterOptions(team_abbr="GSW"))


@pytest.mark.parametrize(("abbr", "hint"), [("XYZ", ""), ("gsw", "did you mean GSW?"), ("GS", "")])
def test_an_unknown_tricode_is_an_option_error_naming_the_option(abbr: str, hint: str) -> None:
    with pytest.raises(OptionError) as problem:
        SCRAPER.check_options(RosterOptions(team_abbr=abbr))

    assert problem.value.option == "team_abbr"
    assert problem.value.example == "GSW"
    assert f"'{abbr}' is not an NBA tricode" in problem.value.problem
    assert hint in problem.value.problem
    assert "ATL" in problem.value.problem
    assert "WAS" in problem.value.problem


def test_prepare_refuses_an_unknown_tricode_before_any_request() -> None:
    clock = FrozenClock(TEST_CTX.fetched_at)

    with pytest.raises(InvalidOptions, match="option 'team_abbr'"):
        prepare(load_registry(), "nbac_roster", {"team_abbr": "SEA"}, clock)


def test_cli_exits_2_on_an_unknown_tricode(tmp_path: Path) -> None:
    completed = replay(tmp_path, "nbac_roster", "--team_abbr", "SEA")

    assert completed.returncode == 2
    assert "option 'team_abbr': 'SEA' is not an NBA tricode" in completed.stderr
    assert "(example: GSW)" in completed.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_roster:")] == []


# --- request plan and header profile ------------------------------------------------------------


def test_requests_load_the_team_roster_page() -> None:
    request = _request()

    assert request.full_url == "https://www.nba.com/team/1610612755/sixers/roster"
    assert request.expect is BodyKind.HTML
    assert request.headers is headers.WWW_PAGE


def test_page_profile_is_a_navigation_by_the_same_browser() -> None:
    page = headers.WWW_PAGE
    for name in ("User-Agent", "Sec-Ch-Ua", "Sec-Ch-Ua-Platform", "Accept-Language"):
        assert page[name] == headers.STATS[name]
    assert page["Accept"].startswith("text/html")
    assert (page["Sec-Fetch-Mode"], page["Sec-Fetch-Dest"]) == ("navigate", "document")
    assert not {"Origin", "Referer", "Host"} & page.keys()


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    request = _request()
    assert load_exchange(project_fixtures / "nbac", SLUG)["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


# --- parse --------------------------------------------------------------------------------------


def test_roster_page_lands_its_players(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(OPTS, [_fixture_page(project_fixtures)], TEST_CTX)

    fetched = "2024-01-16T03:00:00.000000+00:00"
    assert parsed.record_count == 4
    assert parsed.no_data_reason is None
    assert parsed.document == {
        "metadata": {
            "team_abbr": "PHI",
            "teamId": "1610612755",
            "season": "2023-24",
            "fetchedUtc": fetched,
            "playerCount": 4,
        },
        "team_abbr": "PHI",
        "teamId": "1610612755",
        "season": "2023-24",
        "timestamp": fetched,
        "playerCount": 4,
        "players": [
            # No jersey number yet: the old platform landed "N/A".
            {
                "name": "Noah Whitlock",
                "slug": "noah-whitlock",
                "playerId": 1690010,
                "number": "N/A",
                "position": "G",
            },
            {
                "name": "Milo Archer",
                "slug": "milo-archer",
                "playerId": 1690001,
                "number": "7",
                "position": "G",
            },
            {
                "name": "Elias Drummond",
                "slug": "elias-drummond",
                "playerId": 1690011,
                "number": "12",
                "position": "F",
            },
            {
                "name": "Victor Osei",
                "slug": "victor-osei",
                "playerId": 1690012,
                "number": "35",
                "position": "C-F",
            },
        ],
    }


def test_season_is_the_one_the_page_lists_not_the_calendar(project_fixtures: Path) -> None:
    # In summer the page already shows next season's roster, months before October.
    html = _html(project_fixtures)
    data = _next_data(html)
    for player in _roster(data):
        player["SEASON"] = "2024"

    parsed = _parse(_with_next_data(html, json.dumps(data)))

    assert parsed.document["season"] == parsed.document["metadata"]["season"] == "2024-25"


def test_an_empty_roster_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    html = _html(project_fixtures)
    data = _next_data(html)
    data["props"]["pageProps"]["team"]["roster"] = []

    parsed = _parse(_with_next_data(html, json.dumps(data)))

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "PHI" in parsed.no_data_reason
    assert (parsed.document["players"], parsed.document["season"]) == ([], "2023-24")


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def test_http_204_is_not_no_data() -> None:
    # A team page always has content; a bodiless answer proves nothing about the roster.
    with pytest.raises(ParseError):
        _parse(b"", status=204, head={})


def _player(index: int, **changes: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(data: dict[str, Any]) -> Any:
        player = _roster(data)[index]
        for key, value in changes.items():
            if value is _DROP:
                del player[key]
            else:
                player[key] = value
        return data

    return mutate


_DROP = object()


def _team(**changes: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(data: dict[str, Any]) -> Any:
        data["props"]["pageProps"]["team"].update(changes)
        return data

    return mutate


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("next-data-a-list", lambda data: [data]),
    ("no-page-props", lambda data: {"props": {}}),
    ("no-team", lambda data: {"props": {"pageProps": {"region": "united-states"}}}),
    ("roster-missing", _team(roster=None)),
    ("roster-an-object", _team(roster={"0": {}})),
    ("another-teams-page", _team(id=1610612745)),
    ("player-not-an-object", _team(roster=["Milo Archer"])),
    ("player-without-name", _player(1, PLAYER=_DROP)),
    ("blank-name", _player(1, PLAYER=" ")),
    ("player-without-slug", _player(1, PLAYER_SLUG=_DROP)),
    ("player-id-as-text", _player(1, PLAYER_ID="1690001")),
    ("player-id-a-boolean", _player(1, PLAYER_ID=True)),
    ("player-id-zero", _player(1, PLAYER_ID=0)),
    ("number-missing", _player(2, NUM=_DROP)),
    ("number-an-integer", _player(2, NUM=12)),
    ("position-null", _player(3, POSITION=None)),
    ("season-missing", _player(0, SEASON=_DROP)),
    ("two-seasons", _player(0, SEASON="2022")),
    ("season-not-a-year", _player(0, SEASON="next")),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    html = _html(project_fixtures)
    page = _with_next_data(html, json.dumps(mutate(_next_data(html))))

    with pytest.raises(ParseError) as failure:
        _parse(page)
    assert failure.value.outcome is Outcome.STRUCTURAL


def test_next_data_that_is_not_json_is_a_parse_error(project_fixtures: Path) -> None:
    with pytest.raises(ParseError, match="not valid JSON"):
        _parse(_with_next_data(_html(project_fixtures), '{"props": {"pageProps": '))


# --- the CLI replays the fixture and lands under the old path contract --------------------------


def test_cli_replay_lands_the_roster_under_the_team(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_roster", "--team_abbr", "PHI")

    assert (result["status"], result["record_count"]) == ("success", 4)
    (landed,) = landed_files(result)
    # Undated: `{date}` is the Eastern date of the run, as in the old platform.
    assert landed.parent == tmp_path / "nba-com" / "rosters" / result["game_date"] / "team_PHI"
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    assert json.loads(landed.read_text())["team_abbr"] == "PHI"
