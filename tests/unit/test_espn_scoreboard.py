"""espn_scoreboard: request plan, header profile and the pure parse, on the project's fixtures."""

from __future__ import annotations

import copy
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
from scrapers.sources.espn import headers
from scrapers.sources.espn.scoreboard import EspnScoreboard, EspnScoreboardOptions
from tests.pages import TEST_CTX, load_exchange, replayed_page

CTX = TEST_CTX
DEMO_DAY = date(2024, 1, 15)
EMPTY_DAY = date(2024, 2, 16)
JSON_HEADERS = {"content-type": "application/json;charset=UTF-8"}
SCRAPER = EspnScoreboard()


def _request(day: date) -> Request:
    (request,) = SCRAPER.requests(EspnScoreboardOptions(game_date=day))
    return request


def _exchange(fixtures: Path, day: date) -> dict[str, Any]:
    return load_exchange(fixtures / "espn", f"espn_scoreboard-{day.isoformat()}")


def _fixture_page(fixtures: Path, day: date) -> Page:
    return replayed_page(_request(day), fixtures / "espn", f"espn_scoreboard-{day.isoformat()}")


def _demo_body(fixtures: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_fixture_page(fixtures, DEMO_DAY).body)
    return body


def _parse(
    body: bytes, day: date = DEMO_DAY, status: int = 200, head: dict[str, str] | None = None
) -> Parsed:
    page = to_page(_request(day), status, JSON_HEADERS if head is None else head, body)
    return SCRAPER.parse(EspnScoreboardOptions(game_date=day), [page], CTX)


def _parse_json(body: Any, day: date = DEMO_DAY) -> Parsed:
    return _parse(json.dumps(body).encode(), day)


def _games(parsed: Parsed) -> list[dict[str, Any]]:
    games: list[dict[str, Any]] = parsed.document["games"]
    return games


# --- request plan and headers -------------------------------------------------------------------


def test_requests_ask_the_site_api_once_for_the_date() -> None:
    requests = SCRAPER.requests(EspnScoreboardOptions(game_date=DEMO_DAY))

    assert len(requests) == 1
    request = requests[0]
    assert request.method == "GET"
    assert request.url == "https://site.api.espn.com/apis/site/v2/sports/basketball/nba/scoreboard"
    assert request.params == (("dates", "20240115"),)
    assert request.expect is BodyKind.JSON
    assert request.headers is headers.SITE_API


def test_espn_profile_is_user_agent_only() -> None:
    assert set(headers.SITE_API) == {"User-Agent"}
    assert headers.SITE_API["User-Agent"].startswith("Mozilla/5.0")
    assert headers.PROFILE_VERSION


@pytest.mark.parametrize("day", [DEMO_DAY, EMPTY_DAY])
def test_fixture_exchanges_are_what_requests_produces(project_fixtures: Path, day: date) -> None:
    request = _request(day)
    assert _exchange(project_fixtures, day)["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "espn")


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("espn_scoreboard:")] == []


# --- parse: a game day --------------------------------------------------------------------------


def test_demo_day_lands_every_game_with_metadata(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, DEMO_DAY)
    parsed = SCRAPER.parse(EspnScoreboardOptions(game_date=DEMO_DAY), [page], CTX)

    assert parsed.record_count == 4
    assert parsed.no_data_reason is None
    assert {k: v for k, v in parsed.document.items() if k != "games"} == {
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "gamedate": "20240115",
        "season_type": "Regular Season",
        "gameCount": 4,
    }
    assert [g["gameId"] for g in _games(parsed)] == ["401585601", "401585602", "401585603", "401585604"]


def test_a_final_game(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(
        EspnScoreboardOptions(game_date=DEMO_DAY), [_fixture_page(project_fixtures, DEMO_DAY)], CTX
    )

    assert _games(parsed)[0] == {
        "gameId": "401585601",
        "statusId": "3",
        "state": "post",
        "status": "Final",
        "startTime": "2024-01-15T18:00Z",
        "teams": [
            {
                "teamId": "20",
                "displayName": "Philadelphia 76ers",
                "abbreviation": "PHI",
                "score": "118",
                "winner": True,
                "homeAway": "home",
            },
            {
                "teamId": "10",
                "displayName": "Houston Rockets",
                "abbreviation": "HOU",
                "score": "109",
                "winner": False,
                "homeAway": "away",
            },
        ],
    }


def test_a_scheduled_game_has_no_winner(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(
        EspnScoreboardOptions(game_date=DEMO_DAY), [_fixture_page(project_fixtures, DEMO_DAY)], CTX
    )
    scheduled = _games(parsed)[3]

    assert (scheduled["statusId"], scheduled["state"], scheduled["status"]) == ("1", "pre", "Scheduled")
    assert [team["winner"] for team in scheduled["teams"]] == [None, None]
    assert [team["abbreviation"] for team in scheduled["teams"]] == ["LAL", "OKC"]


def test_status_and_start_fall_back_to_the_competition(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    event = body["events"][0]
    del event["status"], event["date"]

    game = _games(_parse_json(body))[0]

    assert (game["statusId"], game["state"], game["startTime"]) == ("3", "post", "2024-01-15T18:00Z")


def test_parse_is_pure(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, DEMO_DAY)
    before = copy.deepcopy(page.data)
    opts = EspnScoreboardOptions(game_date=DEMO_DAY)

    assert SCRAPER.parse(opts, [page], CTX) == SCRAPER.parse(opts, [page], CTX)
    assert page.data == before


# --- season type comes from the body, never from a lookup ---------------------------------------


def _set_event_season_types(body: dict[str, Any], code: int) -> None:
    for event in body["events"]:
        event["season"]["type"] = code


def test_event_season_type_wins_over_the_day_and_the_league(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    _set_event_season_types(body, 3)
    body["season"]["type"] = 2
    body["leagues"][0]["season"]["type"] = {"id": "1", "type": 1, "name": "Preseason"}

    assert _parse_json(body).document["season_type"] == "Playoffs"


def test_day_season_type_is_used_when_events_do_not_say(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    for event in body["events"]:
        del event["season"]
    body["season"]["type"] = 5

    assert _parse_json(body).document["season_type"] == "PlayIn"


def test_league_season_type_is_never_used(project_fixtures: Path) -> None:
    # leagues[].season is the league's phase when fetched, not the date's.
    body = _demo_body(project_fixtures)
    for event in body["events"]:
        del event["season"]
    del body["season"]
    body["leagues"][0]["season"]["type"] = {"id": "3", "type": 3, "name": "Postseason"}

    assert _parse_json(body).document["season_type"] is None


def test_unknown_season_type_code_is_null(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    _set_event_season_types(body, 4)

    assert _parse_json(body).document["season_type"] is None


# --- parse: no data -----------------------------------------------------------------------------


def test_empty_day_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, EMPTY_DAY)
    parsed = SCRAPER.parse(EspnScoreboardOptions(game_date=EMPTY_DAY), [page], CTX)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-02-16" in parsed.no_data_reason
    assert parsed.document["gameCount"] == 0
    assert parsed.document["games"] == []
    assert parsed.document["gamedate"] == "20240216"
    assert parsed.document["season_type"] == "Regular Season"


def test_http_204_is_no_data() -> None:
    parsed = _parse(b"", status=204, head={})

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "204" in parsed.no_data_reason


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def _first_event(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        change(body["events"][0])
        return body

    return mutate


def _without_events(body: dict[str, Any]) -> Any:
    del body["events"]
    return body


def _no_competitions(event: dict[str, Any]) -> None:
    event["competitions"] = []


def _competitors_object(event: dict[str, Any]) -> None:
    event["competitions"][0]["competitors"] = {"home": {}, "away": {}}


def _team_without_id(event: dict[str, Any]) -> None:
    competitor = event["competitions"][0]["competitors"][0]
    del competitor["id"], competitor["team"]["id"]


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("no-events-key", _without_events),
    ("events-object", lambda body: {"events": {"401585601": {}}}),
    ("event-not-object", lambda body: {"events": [401585601]}),
    ("event-without-id", _first_event(lambda event: event.pop("id"))),
    ("event-without-competition", _first_event(_no_competitions)),
    ("competitors-object", _first_event(_competitors_object)),
    ("team-without-id", _first_event(_team_without_id)),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = mutate(_demo_body(project_fixtures))

    with pytest.raises(ParseError) as failure:
        _parse_json(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


def test_parse_wants_exactly_one_page(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, DEMO_DAY)

    with pytest.raises(ValueError, match="exactly one page"):
        SCRAPER.parse(EspnScoreboardOptions(game_date=DEMO_DAY), [page, page], CTX)
