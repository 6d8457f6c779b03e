"""espn_game_boxscore: request plan, both read paths (embedded JSON, HTML tables) and classification.

Every parse runs on the project's fixtures (a final game and a not-yet-played one of 2024-01-15) or
on variants of them built here; pages are made by the core's `to_page`, as the runner makes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
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
from scrapers.sources.espn import headers
from scrapers.sources.espn.boxscore import FITT_MARKER, EspnBoxscore, EspnBoxscoreOptions
from tests.conftest import PROJECT_FIXTURES
from tests.pages import TEST_CTX, load_exchange
from tests.replay_cli import landed_files, replay_json

FIXTURES = PROJECT_FIXTURES / "espn"
FINAL, NOT_STARTED = "401585601", "401585604"
DAY = date(2024, 1, 15)
HTML_HEADERS = {"content-type": "text/html; charset=utf-8"}
SCRAPER = EspnBoxscore()


def _opts(game_id: str = FINAL, skip_json: bool = False) -> EspnBoxscoreOptions:
    return EspnBoxscoreOptions(game_id=game_id, game_date=DAY, skip_json=skip_json)


def _request(game_id: str = FINAL) -> Request:
    (request,) = SCRAPER.requests(_opts(game_id))
    return request


def _fixture_html(game_id: str = FINAL) -> str:
    return (FIXTURES / f"espn_game_boxscore-{game_id}.body.html").read_text(encoding="utf-8")


def _parse(html: str, game_id: str = FINAL, skip_json: bool = False, status: int = 200) -> Parsed:
    page = to_page(_request(game_id), status, HTML_HEADERS, html.encode("utf-8"))
    return SCRAPER.parse(_opts(game_id, skip_json), [page], TEST_CTX)


def _package(html: str) -> dict[str, Any]:
    start = html.index(FITT_MARKER) + len(FITT_MARKER)
    blob, _ = json.JSONDecoder().raw_decode(html, start)
    package: dict[str, Any] = blob["page"]["content"]["gamepackage"]
    return package


def _with_package(change: Callable[[dict[str, Any]], None], html: str | None = None) -> str:
    """The final game's page with its embedded gamepackage changed (its tables untouched)."""
    html = html or _fixture_html()
    start = html.index(FITT_MARKER) + len(FITT_MARKER)
    blob, end = json.JSONDecoder().raw_decode(html, start)
    change(blob["page"]["content"]["gamepackage"])
    return html[:start] + json.dumps(blob) + html[end:]


def _without_json(html: str) -> str:
    return re.sub(r"<script>window\['__espnfitt__'\].*?</script>", "", html, flags=re.DOTALL)


def _players(parsed: Parsed) -> list[dict[str, Any]]:
    players: list[dict[str, Any]] = parsed.document["players"]
    return players


# --- request plan and options -------------------------------------------------------------------


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("espn_game_boxscore:")] == []


def test_request_asks_the_www_page_for_html_with_a_browser_profile() -> None:
    request = _request()

    assert request.full_url == "https://www.espn.com/nba/boxscore?gameId=401585601"
    assert request.expect is BodyKind.HTML
    assert request.headers["User-Agent"] == headers.SITE_API["User-Agent"]
    assert request.headers["Accept"].startswith("text/html")


@pytest.mark.parametrize("game_id", [FINAL, NOT_STARTED])
def test_fixture_exchanges_are_what_requests_produces(game_id: str) -> None:
    request = _request(game_id)
    assert load_exchange(FIXTURES, f"espn_game_boxscore-{game_id}")["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(FIXTURES)


@pytest.mark.parametrize("game_id", ["40158560a", "../401585601", "0x1f"])
def test_a_game_id_that_is_not_digits_is_an_option_error(game_id: str) -> None:
    # The id becomes a path segment (`game-<id>`), so only ESPN's numeric ids may pass.
    with pytest.raises(OptionError) as caught:
        SCRAPER.check_options(_opts(game_id))
    assert caught.value.option == "game_id"


def test_cli_exits_2_naming_game_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "espn_game_boxscore", "--game_id", "abc", "--gamedate", "2024-01-15"]
    assert main([*argv, "--replay", "--out", str(tmp_path)]) == 2
    assert "option 'game_id'" in capsys.readouterr().err


# --- the embedded JSON --------------------------------------------------------------------------


def test_final_game_lands_both_teams_and_every_player() -> None:
    parsed = _parse(_fixture_html())

    assert parsed.record_count == 17
    assert parsed.no_data_reason is None
    assert {k: v for k, v in parsed.document.items() if k != "players"} == {
        "game_id": "401585601",
        "gamedate": "2024-01-15",
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "teams": {"away": "HOU", "home": "PHI"},
        "playerCount": 17,
    }
    assert _players(parsed)[0] == {
        "playerId": "5100011",
        "playerName": "Casey Example",
        "jersey": "7",
        "stats": ["35", "9-21", "3-8", "5-6", "1", "6", "7", "4", "1", "1", "4", "4", "-9", "26"],
        "type": "starters",
        "team": "HOU",
        "teamType": "away",
    }
    assert [(p["team"], p["type"]) for p in _players(parsed)] == [
        *[("HOU", "starters")] * 5,
        *[("HOU", "bench")] * 3,
        *[("PHI", "starters")] * 5,
        *[("PHI", "bench")] * 4,
    ]


def test_a_player_who_did_not_play_has_a_reason_and_no_stats() -> None:
    did_not_play = _players(_parse(_fixture_html()))[-1]

    assert did_not_play["playerName"] == "Indigo Testcase"
    assert did_not_play["stats"] == []
    # "DNP-COACH'S DECISION" on the page; the old platform landed the reason without the prefix.
    assert did_not_play["dnpReason"] == "COACH'S DECISION"
    assert did_not_play["jersey"] == ""


def test_the_home_flag_decides_sides_whatever_the_order() -> None:
    parsed = _parse(_with_package(lambda package: package["bxscr"].reverse()))

    assert parsed.document["teams"] == {"away": "HOU", "home": "PHI"}
    assert _players(parsed)[0]["team"] == "PHI"
    assert _players(parsed)[0]["teamType"] == "home"


def test_without_home_flags_the_page_order_is_away_then_home() -> None:
    def drop_flags(package: dict[str, Any]) -> None:
        for team in package["bxscr"]:
            del team["tm"]["hm"]

    assert _parse(_with_package(drop_flags)).document["teams"] == {"away": "HOU", "home": "PHI"}


def test_parse_is_pure() -> None:
    page = to_page(_request(), 200, HTML_HEADERS, _fixture_html().encode())
    assert SCRAPER.parse(_opts(), [page], TEST_CTX) == SCRAPER.parse(_opts(), [page], TEST_CTX)


# --- the HTML tables ----------------------------------------------------------------------------


def test_skip_json_reads_the_tables_into_the_same_document() -> None:
    html = _fixture_html()
    assert _parse(html, skip_json=True).document == _parse(html).document


@pytest.mark.parametrize(
    "broken",
    [
        _without_json,
        lambda html: html.replace(FITT_MARKER + "{", FITT_MARKER + "{,", 1),
        lambda html: _with_package(lambda package: package.pop("bxscr"), html),
    ],
    ids=["no-script", "broken-json", "no-bxscr"],
)
def test_without_usable_json_the_tables_are_the_fallback(broken: Callable[[str], str]) -> None:
    html = _fixture_html()
    assert _parse(broken(html)).document == _parse(html).document


def test_responsive_duplicate_blocks_are_skipped() -> None:
    html = _without_json(_fixture_html())
    assert html.count('class="Boxscore flex flex-column"') == 4  # two teams, each rendered twice
    assert _parse(html).record_count == 17


def test_tables_of_unequal_length_are_a_parse_error_not_shifted_stats() -> None:
    html = _without_json(_fixture_html())
    first_stat_row = re.search(r"<tr>(<td>[^<]*</td>){14}</tr>", html)
    assert first_stat_row is not None
    with pytest.raises(ParseError, match="disagree"):
        _parse(html.replace(first_stat_row.group(0), "", 1))


def test_an_unknown_team_name_in_the_tables_is_a_parse_error() -> None:
    html = _without_json(_fixture_html()).replace("Houston Rockets", "Houston Comets")
    with pytest.raises(ParseError, match="no known team"):
        _parse(html)


def test_changed_table_columns_are_a_parse_error() -> None:
    html = _without_json(_fixture_html()).replace(">OREB<", ">ORB<")
    with pytest.raises(ParseError, match="columns changed"):
        _parse(html)


# --- no data, only with positive evidence -------------------------------------------------------


@pytest.mark.parametrize("skip_json", [False, True])
def test_a_game_not_started_is_no_data_with_the_page_status_as_evidence(skip_json: bool) -> None:
    parsed = _parse(_fixture_html(NOT_STARTED), NOT_STARTED, skip_json=skip_json)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "not started" in parsed.no_data_reason
    assert NOT_STARTED in parsed.no_data_reason
    assert parsed.document["players"] == []
    assert parsed.document["teams"] == {}


# --- per-game facts for the completion ---------------------------------------------------------


@pytest.mark.parametrize("skip_json", [False, True])
def test_the_completion_names_the_espn_game_and_its_canonical_key(skip_json: bool) -> None:
    parsed = _parse(_fixture_html(), skip_json=skip_json)

    assert parsed.metadata == {"game_id": FINAL, "game_key": "20240115_HOU_PHI"}


def test_a_game_not_started_is_keyed_by_the_game_strip_on_its_eastern_date() -> None:
    # LAL host OKC at 03:30 UTC on the 16th: 10:30 pm on the 15th, the game's date, in New York.
    parsed = _parse(_fixture_html(NOT_STARTED), NOT_STARTED)

    assert parsed.metadata == {"game_id": NOT_STARTED, "game_key": "20240115_OKC_LAL"}


def test_espn_codes_become_nba_tricodes_in_the_key() -> None:
    def rename(package: dict[str, Any]) -> None:
        package["bxscr"][0]["tm"]["abbrev"] = "GS"  # ESPN's code of the Warriors, NBA.com's GSW
        package["bxscr"][1]["tm"]["abbrev"] = "NO"

    parsed = _parse(_with_package(rename))

    assert parsed.document["teams"] == {"away": "GS", "home": "NO"}  # the document keeps ESPN's codes
    assert parsed.metadata["game_key"] == "20240115_GSW_NOP"


def test_a_game_strip_that_marks_no_single_home_team_gives_no_key() -> None:
    def both_home(package: dict[str, Any]) -> None:
        for team in package["gmStrp"]["tms"]:
            team["isHome"] = True

    html = _with_package(both_home, _fixture_html(NOT_STARTED))

    assert _parse(html, NOT_STARTED).metadata == {"game_id": NOT_STARTED}


def test_a_final_game_without_a_box_score_is_structural_not_no_data() -> None:
    # The page still says "post", so nothing positively says the data does not exist.
    html = _with_package(lambda package: package.pop("bxscr"))
    html = re.sub(r'<section class="Boxscore">.*</section>', "", html, flags=re.DOTALL)
    with pytest.raises(ParseError, match="no box score"):
        _parse(html)


def test_http_204_is_structural_not_no_data() -> None:
    page = to_page(_request(), 204, {}, b"")
    with pytest.raises(ParseError, match="204"):
        SCRAPER.parse(_opts(), [page], TEST_CTX)


# --- malformed embedded JSON fails as a parse error ---------------------------------------------


def _first_team(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda package: change(package["bxscr"][0])


def _first_athlete(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda package: change(package["bxscr"][0]["stats"][0]["athlts"][0])


def _both_home(package: dict[str, Any]) -> None:
    for team in package["bxscr"]:
        team["tm"]["hm"] = True


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("another-game", lambda package: package["gmStrp"].update(gid="401585699")),
    ("one-team", lambda package: package["bxscr"].pop()),
    ("two-home-teams", _both_home),
    ("team-without-abbrev", _first_team(lambda team: team["tm"].pop("abbrev"))),
    ("stats-not-list", _first_team(lambda team: team.update(stats={}))),
    ("athletes-not-list", _first_team(lambda team: team["stats"][0].update(athlts={}))),
    ("columns-changed", _first_team(lambda team: team["stats"][0]["lbls"].pop())),
    ("athlete-without-athlt", _first_athlete(lambda athlete: athlete.pop("athlt"))),
    ("athlete-without-name", _first_athlete(lambda athlete: athlete.update(athlt={"id": "5100011"}))),
    ("thirteen-stats", _first_athlete(lambda athlete: athlete["stats"].pop())),
    ("numeric-stats", _first_athlete(lambda athlete: athlete.update(stats=list(range(14))))),
]


@pytest.mark.parametrize("change", [c for _, c in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shapes_are_parse_errors(change: Callable[[dict[str, Any]], None]) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(_with_package(change))
    assert caught.value.outcome is Outcome.STRUCTURAL


# --- the CLI replay -----------------------------------------------------------------------------


def test_cli_replay_lands_the_box_score_under_the_game(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "espn_game_boxscore", "--game_id", FINAL, "--gamedate", "2024-01-15")

    assert (result["status"], result["record_count"]) == ("success", 17)
    (landed,) = landed_files(result)
    assert landed.parent == tmp_path / "espn" / "boxscores" / "2024-01-15" / "game-401585601"
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    assert json.loads(landed.read_text(encoding="utf-8"))["teams"] == {"away": "HOU", "home": "PHI"}


def test_cli_replay_of_a_game_not_started_is_no_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "espn_game_boxscore", "--game_id", NOT_STARTED, "--gamedate", "2024-01-15"]
    assert main([*argv, "--replay", "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "no_data"
    assert "not started" in result["no_data_reason"]
