"""nbac_team_boxscore: request plan, option check and the pure parse of boxscoretraditionalv3."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.team_boxscore import NbacTeamBoxscore, TeamBoxscoreOptions
from tests.pages import TEST_CTX, ParseCase
from tests.replay_cli import landed_files, replay_json

SCRAPER = NbacTeamBoxscore()
OPTS = TeamBoxscoreOptions(game_id="0022300601", game_date=date(2024, 1, 15))
SLUG = "nbac_team_boxscore-0022300601"


CASE = ParseCase(SCRAPER, OPTS, "nbac", SLUG)
_request = CASE.request
_fixture_page = CASE.fixture_page
_demo_body = CASE.fixture_json
_parse = CASE.parse


def test_request_asks_v3_for_the_whole_game() -> None:
    request = _request()

    assert request.url == "https://stats.nba.com/stats/boxscoretraditionalv3"
    assert request.params == (
        ("GameID", "0022300601"),
        ("StartPeriod", "0"),
        ("EndPeriod", "10"),
        ("StartRange", "0"),
        ("EndRange", "28800"),
        ("RangeType", "0"),
    )
    assert request.headers is headers.STATS


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    request = _request()
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


@pytest.mark.parametrize("game_id", ["22300601", "0022300601x", "game-1", "1022300601"])
def test_a_malformed_game_id_is_an_option_error(game_id: str) -> None:
    with pytest.raises(OptionError) as problem:
        SCRAPER.check_options(TeamBoxscoreOptions(game_id=game_id, game_date=OPTS.game_date))
    assert problem.value.option == "game_id"


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_team_boxscore:")] == []


def test_demo_game_lands_both_teams_home_first(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(OPTS, [_fixture_page(project_fixtures)], TEST_CTX)
    document = parsed.document

    assert parsed.record_count == 2
    # The old platform's compact date in the path: nba-com/team-boxscore/20240115/0022300601/.
    assert parsed.path_values == {"game_date_yyyymmdd": "20240115"}
    # The completion joins the game by its canonical key (the answer's visitor and home tricodes).
    assert parsed.metadata == {"game_key": "20240115_HOU_PHI", "game_id": "0022300601"}
    assert {k: v for k, v in document.items() if k not in ("teams", "injuredPlayers")} == {
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "gameId": "0022300601",
        "gameDate": "2024-01-15",
        "teamCount": 2,
        "source": "nba_team_boxscore_v3",
    }
    assert [t["teamAbbreviation"] for t in document["teams"]] == ["PHI", "HOU"]
    assert document["teams"][0] == {
        "gameId": "0022300601",
        "teamId": 1610612755,
        "teamName": "76ers",
        "teamAbbreviation": "PHI",
        "teamCity": "Philadelphia",
        "minutes": "240:00",
        "fieldGoals": {"made": 43, "attempted": 84, "percentage": 0.512},
        "threePointers": {"made": 14, "attempted": 36, "percentage": 0.389},
        "freeThrows": {"made": 18, "attempted": 22, "percentage": 0.818},
        "rebounds": {"offensive": 10, "defensive": 37, "total": 47},
        "assists": 27,
        "steals": 8,
        "blocks": 5,
        "turnovers": 11,
        "personalFouls": 18,
        "points": 118,
        "plusMinus": 9,
        "isHome": True,
    }
    assert (document["teams"][1]["points"], document["teams"][1]["isHome"]) == (109, False)


def test_player_comments_become_injured_players(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(OPTS, [_fixture_page(project_fixtures)], TEST_CTX)

    assert parsed.document["injuredPlayers"] == [
        {
            "playerId": 9100009,
            "playerName": "Indigo Testcase",
            "teamId": 1610612755,
            "teamAbbreviation": "PHI",
            "comment": "DNP - Coach's Decision",
        },
        {
            "playerId": 9100010,
            "playerName": "Jules Mockdata",
            "teamId": 1610612745,
            "teamAbbreviation": "HOU",
            "comment": "DND - Injury/Illness",
        },
    ]


def test_http_204_is_no_data_with_a_path() -> None:
    parsed = _parse(b"", status=204, head={})

    assert (parsed.record_count, parsed.document["teams"]) == (0, [])
    assert parsed.no_data_reason is not None
    assert parsed.path_values == {"game_date_yyyymmdd": "20240115"}
    # No body, no teams: only the id travels (a guessed key could join the wrong game).
    assert parsed.metadata == {"game_id": "0022300601"}


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def _box(body: dict[str, Any]) -> dict[str, Any]:
    box: dict[str, Any] = body["boxScoreTraditional"]
    return box


def _set_in_box(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        target = _box(body)
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return body

    return mutate


def _drop_away_team(body: dict[str, Any]) -> Any:
    del _box(body)["awayTeam"]
    return body


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("v2-result-sets", lambda body: {"resource": "boxscore", "resultSets": []}),
    ("box-score-list", lambda body: {"boxScoreTraditional": []}),
    ("no-away-team", _drop_away_team),
    ("statistics-missing", _set_in_box(("homeTeam", "statistics"), None)),
    ("players-object", _set_in_box(("awayTeam", "players"), {})),
    ("player-not-object", _set_in_box(("homeTeam", "players"), ["Avery Sample"])),
    ("another-game", _set_in_box(("gameId",), "0022300602")),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_demo_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


def test_replay_lands_under_the_compact_date_and_game(tmp_path: Path) -> None:
    result = replay_json(
        tmp_path, "nbac_team_boxscore", "--game_id", "0022300601", "--game_date", "2024-01-15"
    )
    (landed,) = landed_files(result)

    assert (result["status"], result["record_count"], result["game_date"]) == ("success", 2, "2024-01-15")
    assert landed.parent == tmp_path / "nba-com" / "team-boxscore" / "20240115" / "0022300601"
    assert json.loads(landed.read_text())["teamCount"] == 2
