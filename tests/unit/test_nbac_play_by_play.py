"""nbac_play_by_play: request plan, option check and the pure parse of the cdn liveData feed."""

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
from scrapers.core.season import Season
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.play_by_play import NbacPlayByPlay, PlayByPlayOptions, season_of_game, sides
from tests.pages import TEST_CTX, ParseCase
from tests.replay_cli import landed_files, replay_json

SCRAPER = NbacPlayByPlay()
OPTS = PlayByPlayOptions(game_id="0022300601", game_date=date(2024, 1, 15))
SLUG = "nbac_play_by_play-0022300601"


CASE = ParseCase(SCRAPER, OPTS, "nbac", SLUG)
_request = CASE.request
_fixture_page = CASE.fixture_page
_demo_body = CASE.fixture_json
_parse = CASE.parse


def test_request_asks_the_cdn_feed_of_the_game() -> None:
    request = _request()

    assert (
        request.full_url == "https://cdn.nba.com/static/json/liveData/playbyplay/playbyplay_0022300601.json"
    )
    assert request.headers is headers.DATA


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    request = _request()
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


@pytest.mark.parametrize("game_id", ["22300601", "00223006011", "../../etc", ""])
def test_a_malformed_game_id_is_an_option_error(game_id: str) -> None:
    with pytest.raises(OptionError):
        SCRAPER.check_options(PlayByPlayOptions(game_id=game_id, game_date=OPTS.game_date))


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_play_by_play:")] == []


@pytest.mark.parametrize(
    ("game_id", "season"),
    [("0022300601", Season(2023)), ("0042400101", Season(2024)), ("0012500001", Season(2025))],
)
def test_the_season_comes_from_the_game_id(game_id: str, season: Season) -> None:
    assert season_of_game(game_id) == season


def test_demo_game_lands_the_whole_feed_with_its_header(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures)
    parsed = SCRAPER.parse(OPTS, [page], TEST_CTX)

    assert parsed.record_count == 13
    assert parsed.document == {
        "metadata": {
            "game_id": "0022300601",
            "season": "2023-24",
            "fetchedUtc": "2024-01-16T03:00:00.000000+00:00",
            "eventCount": 13,
        },
        "playByPlay": page.data,
    }


def test_the_completion_names_the_game_by_its_key(project_fixtures: Path) -> None:
    # The demo feed names PHI and HOU; PHI's basket moves scoreHome, so PHI is home.
    parsed = SCRAPER.parse(OPTS, [_fixture_page(project_fixtures)], TEST_CTX)

    assert parsed.metadata == {"game_key": "20240115_HOU_PHI", "game_id": "0022300601"}


def _action(team: str | None, home: int, away: int, result: str | None = None) -> dict[str, Any]:
    return {"teamTricode": team, "scoreHome": str(home), "scoreAway": str(away), "shotResult": result}


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([_action("HOU", 0, 0), _action("PHI", 2, 0, "Made")], ("HOU", "PHI")),
        ([_action("PHI", 0, 0), _action("HOU", 0, 3, "Made")], ("HOU", "PHI")),
        # A miss moves no score; a made free throw does.
        ([_action("PHI", 0, 0, "Missed"), _action("HOU", 0, 1, "Made")], ("HOU", "PHI")),
        # Tip-off only: nobody has scored, so the sides are unknown.
        ([_action(None, 0, 0), _action("PHI", 0, 0), _action("HOU", 0, 0)], (None, None)),
        # A feed whose baskets put one team on both sides cannot be trusted with a key.
        ([_action("HOU", 0, 0), _action("PHI", 2, 0, "Made"), _action("PHI", 2, 2, "Made")], (None, None)),
        ([_action("PHI", 2, 0, "Made"), _action("HOU", 2, 0), _action("BOS", 2, 0)], (None, None)),
        # Scores that are not digit strings give no evidence.
        ([_action("HOU", 0, 0), {"teamTricode": "PHI", "scoreHome": 2, "shotResult": "Made"}], (None, None)),
    ],
    ids=[
        "home-basket",
        "away-basket",
        "free-throw",
        "no-basket",
        "contradiction",
        "three-teams",
        "bad-score",
    ],
)
def test_sides_come_from_who_scored_on_which_side(
    actions: list[dict[str, Any]], expected: tuple[str | None, str | None]
) -> None:
    assert sides(actions) == expected


def test_a_feed_without_actions_yet_is_no_data(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    body["game"]["actions"] = []

    parsed = _parse(json.dumps(body).encode())

    assert parsed.record_count == 0
    assert parsed.no_data_reason == "the play-by-play of game 0022300601 has no actions yet"
    assert parsed.document["metadata"]["eventCount"] == 0
    assert parsed.metadata == {"game_id": "0022300601"}


def test_http_204_is_no_data() -> None:
    parsed = _parse(b"", status=204, head={})

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "204" in parsed.no_data_reason
    assert parsed.metadata == {"game_id": "0022300601"}


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def _set_in_game(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        body["game"][key] = value
        return body

    return mutate


def _action_not_object(body: dict[str, Any]) -> Any:
    body["game"]["actions"][2] = "Sample 15' Jump Shot"
    return body


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("game-list", lambda body: {"game": []}),
    ("no-actions", lambda body: {"game": {"gameId": "0022300601"}}),
    ("actions-object", _set_in_game("actions", {})),
    ("action-not-object", _action_not_object),
    ("another-game", _set_in_game("gameId", "0022300602")),
    ("no-game-id", _set_in_game("gameId", None)),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_demo_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


def test_replay_lands_under_the_date_and_game(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_play_by_play", "--game_id", "0022300601", "--gamedate", "2024-01-15")
    (landed,) = landed_files(result)

    assert (result["status"], result["record_count"], result["game_date"]) == ("success", 13, "2024-01-15")
    assert landed.parent == tmp_path / "nba-com" / "play-by-play" / "2024-01-15" / "game-0022300601"
    assert json.loads(landed.read_text())["metadata"]["eventCount"] == 13
