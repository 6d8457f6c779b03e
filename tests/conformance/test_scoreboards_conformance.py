"""The scoreboards against real recordings: raw through to_page + parse must give what landed.

Reference files are read from ../shared/fixtures and never copied; the tests skip without them.
The landing `timestamp` is never compared: it is the old run's clock, ours comes from the context.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.scraper import ParseContext, Parsed
from scrapers.http.decode import to_page
from scrapers.sources.espn.scoreboard import EspnScoreboard, EspnScoreboardOptions
from scrapers.sources.nbac.scoreboard_v2 import NbacScoreboardV2, ScoreboardV2Options

CTX = ParseContext(fetched_at=datetime(2024, 1, 16, 3, 0, tzinfo=UTC), run_id="test0001")
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _nbac(raw: Path, day: date) -> Parsed:
    scraper, opts = NbacScoreboardV2(), ScoreboardV2Options(game_date=day)
    page = to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, raw.read_bytes())
    return scraper.parse(opts, [page], CTX)


def _espn(raw: Path, day: date, ctx: ParseContext = CTX) -> Parsed:
    scraper, opts = EspnScoreboard(), EspnScoreboardOptions(game_date=day)
    page = to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, raw.read_bytes())
    return scraper.parse(opts, [page], ctx)


# --- nbac_scoreboard_v2 -------------------------------------------------------------------------

# The old transform_data()'s state of a GameHeader status (anything else was "unknown").
OLD_STATES = {1: "pre", 2: "in", 3: "post"}


def _old_flat_game(game: dict[str, Any], team_ids: tuple[int, int]) -> dict[str, Any]:
    """What the old transform_data() made of one game of its V3-like intermediate (= exp here):
    the base keys, then its enrichment from the same GameHeader/LineScore rows (OLD-PLATFORM 2.0).
    The intermediate drops the team ids, so they come from the raw GameHeader row."""

    def line(team: dict[str, Any], team_id: int) -> dict[str, Any]:
        return {
            "teamId": team_id,
            "abbreviation": team["teamTricode"],
            "cityName": team["teamCity"],
            **{key: team[key] for key in ("teamName", "winsLosses", "points", "quarters", "stats")},
        }

    home_id, away_id = team_ids
    return {
        "gameId": game["gameId"],
        "home": game["homeTeam"]["teamTricode"],
        "away": game["awayTeam"]["teamTricode"],
        "gameStatus": game["gameStatus"],
        "state": OLD_STATES.get(game["gameStatus"], "unknown"),
        "startTimeET": game["gameEt"],
        "gameCode": game["gameCode"],
        **{
            key: game[key]
            for key in (
                "gameSequence",
                "gameStatusText",
                "season",
                "arenaName",
                "broadcasts",
                "livePeriod",
                "livePcTime",
                "livePeriodTimeBcast",
            )
        },
        "teams": {"home": line(game["homeTeam"], home_id), "away": line(game["awayTeam"], away_id)},
        "homeTeamId": home_id,
        "awayTeamId": away_id,
    }


def _team_ids(raw: dict[str, Any]) -> dict[str, tuple[int, int]]:
    header = next(rs for rs in raw["resultSets"] if rs["name"] == "GameHeader")
    at = {name: index for index, name in enumerate(header["headers"])}
    return {
        row[at["GAME_ID"]]: (row[at["HOME_TEAM_ID"]], row[at["VISITOR_TEAM_ID"]]) for row in header["rowSet"]
    }


def test_nbac_scoreboard_v2_recording_lands_the_old_flat_games(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "nbac_scoreboard_v2"
    intermediate = _json(folder / "exp_055ff78d.json")["scoreboard"]["games"]
    ids = _team_ids(_json(folder / "raw_055ff78d.json"))

    parsed = _nbac(folder / "raw_055ff78d.json", date(2024, 1, 15))

    expected = [_old_flat_game(game, ids[game["gameId"]]) for game in intermediate]
    # Key order too: the documents are compared as the JSON text downstream reads.
    assert json.dumps(parsed.document["games"]) == json.dumps(expected)
    assert parsed.record_count == parsed.document["gameCount"] == 11
    assert parsed.document["gamedate"] == "20240115"
    assert parsed.document["source"] == "nba_scoreboard_v2_enriched"


def test_nbac_scoreboard_v2_handmade_without_team_stats(shared_fixtures: Path) -> None:
    # The handmade LineScore stops at PTS: the team stat columns are optional and land as null.
    parsed = _nbac(shared_fixtures / "handmade" / "nbacom" / "nbac_scoreboard_v2_raw.json", date(2025, 1, 20))

    (game,) = parsed.document["games"]
    assert parsed.record_count == 1
    assert (game["home"], game["teams"]["home"]["points"]) == ("LAL", 110)
    assert (game["away"], game["teams"]["away"]["points"]) == ("BOS", 105)
    assert set(game["teams"]["home"]["stats"].values()) == {None}
    assert game["broadcasts"] == {"national": "ESPN", "home": "SPECSN", "away": "NBCSB"}


# --- espn_scoreboard ----------------------------------------------------------------------------

ESPN_RECORDINGS = [
    ("92de7c9a", date(2024, 1, 15), "Regular Season"),
    ("c0c50c83", date(2024, 1, 15), "Regular Season"),
    # Fetched in June: leagues[].season says Postseason, and no event states a type for the date.
    ("20250214", date(2025, 2, 14), None),
]


@pytest.mark.parametrize(
    ("recording", "day", "season_type"), ESPN_RECORDINGS, ids=[r for r, _, _ in ESPN_RECORDINGS]
)
def test_espn_scoreboard_recordings_land_the_same_games(
    shared_fixtures: Path, recording: str, day: date, season_type: str | None
) -> None:
    folder = shared_fixtures / "recorded" / "espn_scoreboard_api"
    expected = _json(folder / f"exp_{recording}.json")

    parsed = _espn(folder / f"raw_{recording}.json", day)

    assert parsed.document["games"] == expected["games"]
    assert parsed.document["gameCount"] == expected["gameCount"] == parsed.record_count
    # exp uses the obsolete key `scoreDate` for what the current layout calls `gamedate`.
    assert parsed.document["gamedate"] == expected["scoreDate"]
    # exp predates `season_type`; the truth is what the body itself states for the date.
    assert parsed.document["season_type"] == season_type
    assert (parsed.no_data_reason is not None) == (expected["gameCount"] == 0)


def test_espn_scoreboard_handmade_matches_expected(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "handmade" / "espn"
    landed_at = ParseContext(fetched_at=datetime(2025, 1, 20, 15, 30, tzinfo=UTC), run_id="test0001")

    parsed = _espn(folder / "espn_scoreboard_raw.json", date(2025, 1, 20), landed_at)

    assert parsed.document == _json(folder / "espn_scoreboard_expected.json")
    assert parsed.record_count == 1


def test_espn_scoreboard_handmade_live_game(shared_fixtures: Path) -> None:
    # Status and start time live only on the competition here, and no season type is stated.
    parsed = _espn(shared_fixtures / "handmade" / "espn" / "espn_scoreboard_live.json", date(2025, 1, 19))

    (game,) = parsed.document["games"]
    assert (game["statusId"], game["state"], game["status"]) == ("2", "in", "2nd Quarter")
    assert game["startTime"] == "2025-01-20T02:00Z"
    assert [(t["abbreviation"], t["score"], t["winner"]) for t in game["teams"]] == [
        ("DEN", "58", False),
        ("MIA", "55", False),
    ]
    assert parsed.document["season_type"] is None


def test_espn_scoreboard_handmade_empty_is_no_data(shared_fixtures: Path) -> None:
    parsed = _espn(shared_fixtures / "handmade" / "espn" / "espn_scoreboard_empty.json", date(2025, 7, 15))

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert parsed.document["games"] == []
