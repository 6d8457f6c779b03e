"""NBA.com JSON scrapers against real recordings: raw through to_page + parse must give what landed.

Reference files are read from ../shared/fixtures and never copied; the tests skip without them.
The landing timestamp (`timestamp`, `metadata.scraped_at`, `metadata.fetchedUtc`) is never
compared: it is the old run's clock, ours comes from the context. Every other difference is named
where it is asserted.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.scraper import Parsed, Scraper
from scrapers.core.season import Season
from scrapers.http.decode import to_page
from scrapers.sources.nbac.play_by_play import NbacPlayByPlay, PlayByPlayOptions
from scrapers.sources.nbac.player_boxscore import NbacPlayerBoxscore, PlayerBoxscoreOptions, season_type_on
from scrapers.sources.nbac.schedule import (
    NbacScheduleApi,
    NbacScheduleCdn,
    ScheduleApiOptions,
    ScheduleCdnOptions,
)
from scrapers.sources.nbac.team_boxscore import NbacTeamBoxscore, TeamBoxscoreOptions
from tests.pages import TEST_CTX

JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
LANDING_TIME = "2024-01-16T03:00:00.000000+00:00"  # TEST_CTX.fetched_at as our documents write it


def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _json(path: Path) -> Any:
    return json.loads(_bytes(path))


def _parse(scraper: Scraper[Any], opts: Any, raw: bytes) -> Parsed:
    page = to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, raw)
    return scraper.parse(opts, [page], TEST_CTX)


# --- nbac_schedule_api ----------------------------------------------------------------------------


@pytest.fixture
def schedule_2024(shared_fixtures: Path) -> tuple[Parsed, dict[str, Any]]:
    folder = shared_fixtures / "recorded" / "nbac_schedule_api"
    parsed = _parse(
        NbacScheduleApi(), ScheduleApiOptions(season=Season(2024)), _bytes(folder / "raw_80cb1fd6.json.gz")
    )
    return parsed, _json(folder / "exp_80cb1fd6.json")


def test_schedule_api_lands_the_recorded_document(schedule_2024: tuple[Parsed, dict[str, Any]]) -> None:
    parsed, expected = schedule_2024
    document = dict(parsed.document)

    assert document.pop("timestamp") == LANDING_TIME
    expected.pop("timestamp")
    assert document.pop("metadata") == {**expected.pop("metadata"), "scraped_at": LANDING_TIME}
    games, expected_games = document.pop("games"), expected.pop("games")
    assert document == expected
    assert parsed.record_count == len(games) == 1400
    assert parsed.path_values == {"actual_season_nba_format": "2024-25"}
    # Same games in the same order, key for key, apart from isMLKDay (next test).
    assert [g["gameId"] for g in games] == [g["gameId"] for g in expected_games]
    for ours, theirs in zip(games, expected_games, strict=True):
        assert list(ours) == list(theirs)
        assert {k: v for k, v in ours.items() if k != "isMLKDay"} == {
            k: v for k, v in theirs.items() if k != "isMLKDay"
        }


def test_schedule_api_mlk_day_is_the_holiday_not_every_january_15(
    schedule_2024: tuple[Parsed, dict[str, Any]],
) -> None:
    parsed, expected = schedule_2024

    ours = Counter(g["gameDate"][:10] for g in parsed.document["games"] if g["isMLKDay"])
    theirs = Counter(g["gameDate"][:10] for g in expected["games"] if g["isMLKDay"])
    # Intentional fix: the old rule hard-coded "01/15"; MLK Day 2025 was Monday January 20.
    assert theirs == {"01/15/2025": 11}
    assert ours == {"01/20/2025": 8}


def test_schedule_api_handmade_body(shared_fixtures: Path) -> None:
    # A 4-digit seasonYear, a 12-hour date label and a bare local time: same rules apply.
    raw = (shared_fixtures / "handmade" / "nbacom" / "nbac_schedule_api_raw.json").read_bytes()
    parsed = _parse(NbacScheduleApi(), ScheduleApiOptions(season=Season(2024)), raw)

    (game,) = parsed.document["games"]
    assert parsed.path_values == {"actual_season_nba_format": "2024-25"}
    assert (parsed.document["seasonYear"], parsed.document["season_nba_format"]) == ("2024", "2024-25")
    assert {
        k: game[k] for k in ("isPrimetime", "primaryNetwork", "isMLKDay", "timeSlot", "isRegularSeason")
    } == {
        "isPrimetime": True,
        "primaryNetwork": "ESPN",
        "isMLKDay": True,  # 2025-01-20 is MLK Day
        "timeSlot": "early_evening",
        "isRegularSeason": True,
    }
    assert "broadcasters" not in game
    assert "seriesText" not in game


# --- nbac_schedule_cdn ----------------------------------------------------------------------------


def test_schedule_cdn_recording_lands_the_api_shape(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "nbac_schedule_cdn"
    raw = _bytes(folder / "raw_68953816.json")
    cdn = _parse(NbacScheduleCdn(), ScheduleCdnOptions(), raw)
    api = _parse(NbacScheduleApi(), ScheduleApiOptions(season=Season(2025)), raw)

    # exp here is the decoded body (that capture predates the transform): our games are its games,
    # flattened and flagged exactly as the API scraper does (the CDN document is its drop-in).
    body = _json(folder / "exp_68953816.json")
    recorded_ids = [g["gameId"] for day in body["leagueSchedule"]["gameDates"] for g in day["games"]]
    assert sorted(g["gameId"] for g in cdn.document["games"]) == sorted(recorded_ids)
    assert cdn.record_count == 13
    assert cdn.path_values == {"actual_season_nba_format": "2025-26"}
    assert {k: v for k, v in cdn.document.items() if k != "source"} == api.document
    assert (cdn.document["source"], cdn.document["season"], cdn.document["seasonYear"]) == (
        "cdn_static",
        "2025",
        "2025-26",
    )


def test_schedule_cdn_recording_flags(shared_fixtures: Path) -> None:
    raw = _bytes(shared_fixtures / "recorded" / "nbac_schedule_cdn" / "raw_68953816.json")
    games = _parse(NbacScheduleCdn(), ScheduleCdnOptions(), raw).document["games"]

    # Preseason with every national broadcaster still "TBD": no national TV, no season flags.
    assert {(g["hasNationalTV"], g["isRegularSeason"], g["isPlayoffs"], g["isAllStar"]) for g in games} == {
        (False, False, False, False)
    }
    slots = {g["gameId"]: g["timeSlot"] for g in games}
    assert (slots["0012500008"], slots["0012500002"], slots["0012500005"]) == (
        "afternoon",
        "early_evening",
        "primetime",
    )


# --- nbac_player_boxscore -----------------------------------------------------------------------------


def test_player_boxscore_lands_the_decoded_answer(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "nbac_player_boxscore"
    opts = PlayerBoxscoreOptions(game_date=date(2025, 3, 15), season=None, season_type="auto")

    parsed = _parse(NbacPlayerBoxscore(), opts, _bytes(folder / "raw_2ad17718.json"))

    assert parsed.document == _json(folder / "exp_2ad17718.json")
    assert parsed.record_count == 157
    # What auto asks for is what the recorded answer echoes.
    request = dict(NbacPlayerBoxscore().requests(opts)[0].params)
    echoed = parsed.document["parameters"]
    assert (request["Season"], request["SeasonType"]) == (echoed["Season"], echoed["SeasonType"])


def test_player_boxscore_calendar_matches_the_recorded_season(shared_fixtures: Path) -> None:
    # Every 2024-25 game's date maps to the season type its game id says (001 preseason ... 006 Cup).
    schedule = _json(shared_fixtures / "recorded" / "nbac_schedule_api" / "raw_80cb1fd6.json.gz")
    by_prefix = {"001": "Pre Season", "002": "Regular Season", "003": "All Star", "004": "Playoffs"}
    by_prefix |= {"005": "PlayIn", "006": "IST"}
    for day in schedule["leagueSchedule"]["gameDates"]:
        game_day = datetime.strptime(day["gameDate"][:10], "%m/%d/%Y").date()
        for game in day["games"]:
            assert season_type_on(game_day) == by_prefix[game["gameId"][:3]], (game_day, game["gameId"])


def test_player_boxscore_rejects_a_box_score_body(shared_fixtures: Path) -> None:
    # The handmade "player boxscore" is a boxscoretraditionalv2 answer: not a game log.
    raw = (shared_fixtures / "handmade" / "nbacom" / "nbac_player_boxscore_raw.json").read_bytes()
    opts = PlayerBoxscoreOptions(game_date=date(2025, 1, 20), season=None, season_type="auto")

    with pytest.raises(ParseError) as failure:
        _parse(NbacPlayerBoxscore(), opts, raw)
    assert failure.value.outcome is Outcome.STRUCTURAL


# --- nbac_team_boxscore ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "game_id", "day"),
    [
        ("recorded/nbac_team_boxscore/raw_12f99055.json", "0022400561", date(2025, 1, 15)),
        ("handmade/nbacom/nbac_player_boxscore_raw.json", "0022400612", date(2025, 1, 20)),
    ],
    ids=["recorded-v2", "handmade-v2"],
)
def test_team_boxscore_v2_answers_are_structural(
    shared_fixtures: Path, relative: str, game_id: str, day: date
) -> None:
    # The only recordings predate V3 (exp is that V2 body). V2 answering again means the endpoint
    # moved back or broke: a structural failure, never an empty box score (the 2025-12 "0 teams").
    opts = TeamBoxscoreOptions(game_id=game_id, game_date=day)

    with pytest.raises(ParseError, match="deprecated V2") as failure:
        _parse(NbacTeamBoxscore(), opts, (shared_fixtures / relative).read_bytes())
    assert failure.value.outcome is Outcome.STRUCTURAL


# --- nbac_play_by_play ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recording", "game_id", "day", "events"),
    [("14ecf360", "0022400500", date(2025, 1, 6), 571), ("416e8d5c", "0022400561", date(2025, 1, 15), 506)],
)
def test_play_by_play_lands_the_recorded_document(
    shared_fixtures: Path, recording: str, game_id: str, day: date, events: int
) -> None:
    folder = shared_fixtures / "recorded" / "nbac_play_by_play"
    expected = _json(folder / f"exp_{recording}.json.gz")
    opts = PlayByPlayOptions(game_id=game_id, game_date=day)

    parsed = _parse(NbacPlayByPlay(), opts, _bytes(folder / f"raw_{recording}.json.gz"))

    assert parsed.record_count == events
    assert parsed.document["playByPlay"] == expected["playByPlay"]
    metadata = dict(expected["metadata"])
    # exp_14ecf360 predates the key rename gameId -> game_id; the current layout says game_id.
    metadata["game_id"] = metadata.pop("gameId", metadata.get("game_id"))
    assert parsed.document["metadata"] == {**metadata, "fetchedUtc": LANDING_TIME}
    assert parsed.document.keys() == expected.keys()
