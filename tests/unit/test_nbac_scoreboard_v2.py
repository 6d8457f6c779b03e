"""nbac_scoreboard_v2: request plan, header profile and the pure parse, on the project's fixtures."""

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
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.scoreboard_v2 import NbacScoreboardV2, ScoreboardV2Options
from tests.pages import TEST_CTX, load_exchange, replayed_page

CTX = TEST_CTX
DEMO_DAY = date(2024, 1, 15)
EMPTY_DAY = date(2024, 2, 16)
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
SCRAPER = NbacScoreboardV2()


def _request(day: date) -> Request:
    (request,) = SCRAPER.requests(ScoreboardV2Options(game_date=day))
    return request


def _exchange(fixtures: Path, day: date) -> dict[str, Any]:
    return load_exchange(fixtures / "nbac", f"nbac_scoreboard_v2-{day.isoformat()}")


def _fixture_page(fixtures: Path, day: date) -> Page:
    return replayed_page(_request(day), fixtures / "nbac", f"nbac_scoreboard_v2-{day.isoformat()}")


def _demo_body(fixtures: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_fixture_page(fixtures, DEMO_DAY).body)
    return body


def _parse(
    body: bytes, day: date = DEMO_DAY, status: int = 200, head: dict[str, str] | None = None
) -> Parsed:
    page = to_page(_request(day), status, JSON_HEADERS if head is None else head, body)
    return SCRAPER.parse(ScoreboardV2Options(game_date=day), [page], CTX)


def _table(body: dict[str, Any], name: str) -> dict[str, Any]:
    table: dict[str, Any] = next(rs for rs in body["resultSets"] if rs["name"] == name)
    return table


def _games(parsed: Parsed) -> list[dict[str, Any]]:
    games: list[dict[str, Any]] = parsed.document["games"]
    return games


# --- request plan and headers -------------------------------------------------------------------


def test_requests_ask_stats_nba_com_once_for_the_date() -> None:
    requests = SCRAPER.requests(ScoreboardV2Options(game_date=DEMO_DAY))

    assert len(requests) == 1
    request = requests[0]
    assert request.method == "GET"
    assert request.url == "https://stats.nba.com/stats/scoreboardV2"
    assert request.params == (("GameDate", "01/15/2024"), ("LeagueID", "00"), ("DayOffset", "0"))
    assert request.expect is BodyKind.JSON
    assert request.headers is headers.STATS


def test_stats_profile_looks_like_one_consistent_chrome() -> None:
    stats = headers.STATS
    assert stats["Host"] == "stats.nba.com"
    assert stats["Origin"] == "https://www.nba.com"
    assert stats["Referer"].startswith("https://www.nba.com")
    assert f"Chrome/{headers.CHROME_MAJOR}." in stats["User-Agent"]
    assert f'"Google Chrome";v="{headers.CHROME_MAJOR}"' in stats["Sec-Ch-Ua"]
    assert "Windows NT" in stats["User-Agent"]
    assert stats["Sec-Ch-Ua-Platform"] == '"Windows"'
    assert {"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Accept"} <= stats.keys()
    assert headers.PROFILE_VERSION


def test_data_profile_shares_the_browser_identity_but_not_the_host() -> None:
    assert "Host" not in headers.DATA
    for name in ("User-Agent", "Sec-Ch-Ua", "Sec-Ch-Ua-Platform", "Origin", "Referer"):
        assert headers.DATA[name] == headers.STATS[name]


def test_profiles_are_frozen() -> None:
    with pytest.raises(TypeError):
        headers.STATS["User-Agent"] = "curl/8"  # type: ignore[index]


@pytest.mark.parametrize("day", [DEMO_DAY, EMPTY_DAY])
def test_fixture_exchanges_are_what_requests_produces(project_fixtures: Path, day: date) -> None:
    request = _request(day)
    assert _exchange(project_fixtures, day)["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


def test_options_type_mirrors_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_scoreboard_v2:")] == []


# --- parse: a game day --------------------------------------------------------------------------


def test_demo_day_lands_the_old_production_document(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, DEMO_DAY)
    parsed = SCRAPER.parse(ScoreboardV2Options(game_date=DEMO_DAY), [page], CTX)

    assert parsed.record_count == 4
    assert parsed.no_data_reason is None
    # The old transform_data() document, key for key and in its order (the processor reads
    # `games` and parses `gamedate` as YYYYMMDD).
    assert list(parsed.document) == ["timestamp", "gamedate", "gameCount", "games", "source"]
    assert {k: v for k, v in parsed.document.items() if k != "games"} == {
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "gamedate": "20240115",
        "gameCount": 4,
        "source": "nba_scoreboard_v2_enriched",
    }
    assert [g["gameId"] for g in _games(parsed)] == ["0022300601", "0022300602", "0022300603", "0022300604"]


def test_a_game_is_flat_with_both_line_scores_under_teams(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(
        ScoreboardV2Options(game_date=DEMO_DAY), [_fixture_page(project_fixtures, DEMO_DAY)], CTX
    )

    assert _games(parsed)[0] == {
        "gameId": "0022300601",
        "home": "PHI",
        "away": "HOU",
        "gameStatus": 3,
        "state": "post",
        "startTimeET": "2024-01-15T00:00:00",
        "gameCode": "20240115/HOUPHI",
        "gameSequence": 1,
        "gameStatusText": "Final",
        "season": "2023",
        "arenaName": "Wells Fargo Center",
        "broadcasts": {"national": "NBA TV", "home": "NBCSP", "away": "SCHN"},
        "livePeriod": 4,
        "livePcTime": "     ",
        "livePeriodTimeBcast": "Q4       - NBA TV",
        "teams": {
            "home": {
                "teamId": 1610612755,
                "abbreviation": "PHI",
                "cityName": "Philadelphia",
                "teamName": "76ers",
                "winsLosses": "25-14",
                "points": 118,
                "quarters": {"q1": 30, "q2": 27, "q3": 31, "q4": 30, "ot1": 0, "ot2": 0},
                "stats": {
                    "fgPct": 0.512,
                    "ftPct": 0.826,
                    "fg3Pct": 0.389,
                    "assists": 27,
                    "rebounds": 47,
                    "turnovers": 11,
                },
            },
            "away": {
                "teamId": 1610612745,
                "abbreviation": "HOU",
                "cityName": "Houston",
                "teamName": "Rockets",
                "winsLosses": "19-21",
                "points": 109,
                "quarters": {"q1": 26, "q2": 29, "q3": 25, "q4": 29, "ot1": 0, "ot2": 0},
                "stats": {
                    "fgPct": 0.459,
                    "ftPct": 0.778,
                    "fg3Pct": 0.333,
                    "assists": 22,
                    "rebounds": 44,
                    "turnovers": 14,
                },
            },
        },
        "homeTeamId": 1610612755,
        "awayTeamId": 1610612745,
    }


def test_overtime_and_scheduled_games(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(
        ScoreboardV2Options(game_date=DEMO_DAY), [_fixture_page(project_fixtures, DEMO_DAY)], CTX
    )
    overtime, scheduled = _games(parsed)[1], _games(parsed)[3]

    assert overtime["teams"]["home"]["quarters"]["ot1"] == 9
    assert overtime["teams"]["home"]["points"] == 121
    assert (scheduled["gameStatus"], scheduled["state"]) == (1, "pre")
    assert scheduled["teams"]["home"]["points"] is None
    assert scheduled["teams"]["away"]["quarters"] == dict.fromkeys(("q1", "q2", "q3", "q4", "ot1", "ot2"))


@pytest.mark.parametrize(
    ("status", "state"), [(1, "pre"), (2, "in"), (3, "post"), (4, "unknown"), (None, "unknown")]
)
def test_state_follows_the_game_status(project_fixtures: Path, status: int | None, state: str) -> None:
    body = _demo_body(project_fixtures)
    game_header = _table(body, "GameHeader")
    game_header["rowSet"][0][game_header["headers"].index("GAME_STATUS_ID")] = status

    game = _games(_parse(json.dumps(body).encode()))[0]

    assert (game["gameStatus"], game["state"]) == (status, state)


def test_fan_out_names_every_game_by_its_tricodes(project_fixtures: Path) -> None:
    parsed = SCRAPER.parse(
        ScoreboardV2Options(game_date=DEMO_DAY), [_fixture_page(project_fixtures, DEMO_DAY)], CTX
    )

    assert parsed.fan_out[0].to_dict() == {
        "kind": "game",
        "game_id": "0022300601",
        "game_date": "2024-01-15",
        "game_code": "20240115/HOUPHI",
        "away_team": "HOU",
        "home_team": "PHI",
    }
    assert [(ref.away_team, ref.home_team) for ref in parsed.fan_out] == [
        (game["away"], game["home"]) for game in _games(parsed)
    ]


def test_later_overtimes_appear_only_when_played(project_fixtures: Path) -> None:
    body = _demo_body(project_fixtures)
    line_score = _table(body, "LineScore")
    ot3 = line_score["headers"].index("PTS_OT3")
    for row in line_score["rowSet"][2:4]:  # both teams of the second game went to a third overtime
        row[ot3] = 6

    games = _games(_parse(json.dumps(body).encode()))

    assert games[1]["teams"]["home"]["quarters"]["ot3"] == 6
    assert "ot3" not in games[0]["teams"]["home"]["quarters"]


def test_parse_is_pure(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, DEMO_DAY)
    before = copy.deepcopy(page.data)
    opts = ScoreboardV2Options(game_date=DEMO_DAY)

    assert SCRAPER.parse(opts, [page], CTX) == SCRAPER.parse(opts, [page], CTX)
    assert page.data == before


# --- parse: no data -----------------------------------------------------------------------------


def test_empty_day_is_no_data_with_a_reason(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, EMPTY_DAY)
    parsed = SCRAPER.parse(ScoreboardV2Options(game_date=EMPTY_DAY), [page], CTX)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-02-16" in parsed.no_data_reason
    assert "GameHeader" in parsed.no_data_reason
    assert parsed.document["gameCount"] == 0
    assert parsed.document["games"] == []


def test_http_204_is_no_data() -> None:
    parsed = _parse(b"", status=204, head={})

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "204" in parsed.no_data_reason


# --- this answer's own wrong shapes fail as parse errors; generic bodies: test_malformed_bodies ---


def _drop_table(name: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(body: dict[str, Any]) -> Any:
        body["resultSets"] = [rs for rs in body["resultSets"] if rs["name"] != name]
        return body

    return mutate


def _empty_games_without_line_score(body: dict[str, Any]) -> Any:
    _table(body, "GameHeader")["rowSet"] = []
    return _drop_table("LineScore")(body)


def _drop_game_id_column(body: dict[str, Any]) -> Any:
    game_header = _table(body, "GameHeader")
    game_header["headers"] = game_header["headers"][:2] + game_header["headers"][3:]
    game_header["rowSet"] = [row[:2] + row[3:] for row in game_header["rowSet"]]
    return body


def _short_row(body: dict[str, Any]) -> Any:
    _table(body, "LineScore")["rowSet"][0].pop()
    return body


def _row_set_not_a_list(body: dict[str, Any]) -> Any:
    _table(body, "GameHeader")["rowSet"] = {"rows": []}
    return body


def _numeric_game_id(body: dict[str, Any]) -> Any:
    _table(body, "GameHeader")["rowSet"][0][2] = 22300601
    return body


def _unhashable_team_id(body: dict[str, Any]) -> Any:
    _table(body, "GameHeader")["rowSet"][0][6] = [1610612755]
    return body


def _missing_team_line(body: dict[str, Any]) -> Any:
    del _table(body, "LineScore")["rowSet"][0]
    return body


def _other_day(body: dict[str, Any]) -> Any:
    body["parameters"]["GameDate"] = "2024-01-14"
    return body


WRONG_SHAPES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("result-sets-object", lambda body: {"resultSets": {"GameHeader": []}}),
    ("no-game-header", _drop_table("GameHeader")),
    ("no-line-score", _drop_table("LineScore")),
    ("empty-games-but-no-line-score", _empty_games_without_line_score),
    ("no-game-id-column", _drop_game_id_column),
    ("short-row", _short_row),
    ("row-set-object", _row_set_not_a_list),
    ("numeric-game-id", _numeric_game_id),
    ("unhashable-team-id", _unhashable_team_id),
    ("missing-team-line", _missing_team_line),
    ("answer-for-another-day", _other_day),
]


@pytest.mark.parametrize("mutate", [m for _, m in WRONG_SHAPES], ids=[name for name, _ in WRONG_SHAPES])
def test_wrong_shape_is_a_parse_error(
    project_fixtures: Path, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    body = json.dumps(mutate(_demo_body(project_fixtures))).encode()

    with pytest.raises(ParseError) as failure:
        _parse(body)
    assert failure.value.outcome is Outcome.STRUCTURAL


def test_parse_wants_exactly_one_page(project_fixtures: Path) -> None:
    page = _fixture_page(project_fixtures, DEMO_DAY)

    with pytest.raises(ValueError, match="exactly one page"):
        SCRAPER.parse(ScoreboardV2Options(game_date=DEMO_DAY), [page, page], CTX)
