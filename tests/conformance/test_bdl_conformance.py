"""The BallDontLie scrapers against the old platform's real recordings and the handmade payloads.

For bdl_* the old platform's `exp` is the decoded body, so each test compares the rows we land
(the document's list) with `exp["data"]`, and the counts with its length. The landing timestamp
and pollId are the fetch moment and never compared. Deviations are named in one line each:
* we keep the API's row order; the old transforms sorted (players and teams by id, a no-op on
  these recordings; standings by a top-level `conference` the rows do not have, which reordered
  them by `conference_rank` alone).
* bdl_teams lands all 45 franchises the API lists (defunct ones too); the old module only warned
  when the count was not 30, and crashed at import before landing anything.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.core.season import Season
from scrapers.http.decode import to_page
from scrapers.sources.bdl.boxscores import (
    BdlBoxScores,
    BdlLiveBoxScores,
    BdlPlayerBoxScores,
    BoxScoresOptions,
    LiveBoxScoresOptions,
    PlayerBoxScoresOptions,
)
from scrapers.sources.bdl.common import BdlScraper
from scrapers.sources.bdl.injuries import BdlInjuries, InjuriesOptions
from scrapers.sources.bdl.odds import BdlOdds, OddsOptions
from scrapers.sources.bdl.players import ActivePlayersOptions, BdlActivePlayers, BdlPlayers, PlayersOptions
from scrapers.sources.bdl.standings import BdlStandings, StandingsOptions
from scrapers.sources.bdl.teams import BdlTeams, TeamsOptions

JSON_HEADERS = {"content-type": "application/json"}
CTX = ParseContext(datetime(2025, 7, 17, 23, 44, 38, tzinfo=UTC), "conform1")


def _recorded(shared: Path, scraper: str, name: str) -> Path:
    return shared / "recorded" / scraper / name


def _exp(shared: Path, scraper: str, run: str) -> Any:
    return json.loads(_recorded(shared, scraper, f"exp_{run}.json").read_text(encoding="utf-8"))


def _page(scraper: BdlScraper[Any], opts: Any, raw: Path) -> Page:
    return to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, raw.read_bytes())


def _last_page(scraper: BdlScraper[Any], opts: Any, raw: Path) -> Parsed:
    """A recording of the only (or last) page: the walk must end there."""
    page = _page(scraper, opts, raw)
    assert scraper.next_request(opts, page) is None
    return scraper.parse(opts, [page], CTX)


# --- box scores ---------------------------------------------------------------------------------


def test_box_scores_recording_lands_every_game_of_2024_01_15(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_box_scores", "7a649e12")
    raw = _recorded(shared_fixtures, "bdl_box_scores", "raw_7a649e12.json")
    parsed = _last_page(BdlBoxScores(), BoxScoresOptions(game_date=date(2024, 1, 15)), raw)
    assert parsed.document["boxScores"] == expected["data"]
    assert parsed.record_count == parsed.document["rowCount"] == 11


def test_box_scores_empty_recording_is_no_data(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_box_scores", "d62cc934")
    raw = _recorded(shared_fixtures, "bdl_box_scores", "raw_d62cc934.json")
    parsed = _last_page(BdlBoxScores(), BoxScoresOptions(game_date=date(2024, 2, 16)), raw)
    assert parsed.document["boxScores"] == expected["data"] == []
    assert parsed.no_data_reason


def test_live_box_scores_empty_recording_is_no_data(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_live_box_scores", "1575e0a5")
    raw = _recorded(shared_fixtures, "bdl_live_box_scores", "raw_1575e0a5.json")
    parsed = _last_page(BdlLiveBoxScores(), LiveBoxScoresOptions(), raw)
    assert parsed.document["liveBoxes"] == expected["data"] == []
    assert parsed.document["pollId"] == "20250717T234438Z"
    assert parsed.no_data_reason


def test_player_box_scores_recording_lands_every_stat_line(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_player_box_scores", "1db4c01e")
    raw = _recorded(shared_fixtures, "bdl_player_box_scores", "raw_1db4c01e.json")
    day = date(2025, 6, 22)  # game 18444564 of the 2025 Finals
    opts = PlayerBoxScoresOptions(start_date=day, end_date=day, game_ids=None, player_ids=None)
    parsed = _last_page(BdlPlayerBoxScores(), opts, raw)
    assert parsed.document["stats"] == expected["data"]
    assert parsed.record_count == parsed.document["rowCount"] == 30


def test_player_box_scores_handmade_stat_lines(shared_fixtures: Path) -> None:
    # The handmade `bdl_box_scores_raw` holds /stats rows (player, team, game), not /box_scores games.
    raw = shared_fixtures / "handmade" / "balldontlie" / "bdl_box_scores_raw.json"
    day = date(2025, 1, 20)
    opts = PlayerBoxScoresOptions(start_date=day, end_date=day, game_ids=None, player_ids=None)
    parsed = _last_page(BdlPlayerBoxScores(), opts, raw)
    assert [row["player"]["last_name"] for row in parsed.document["stats"]] == ["James", "Davis"]
    assert parsed.record_count == 2


# --- players ------------------------------------------------------------------------------------


def test_active_players_recording_is_a_first_page_that_walks_on(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_active_players", "ac3e7bd3")
    scraper, opts = BdlActivePlayers(), ActivePlayersOptions(team_id=None, player_id=None, search=None)
    page = _page(scraper, opts, _recorded(shared_fixtures, "bdl_active_players", "raw_ac3e7bd3.json"))
    following = scraper.next_request(opts, page)
    assert following is not None
    assert dict(following.params) == {"per_page": "100", "cursor": "277"}
    parsed = scraper.parse(opts, [page], CTX)
    assert parsed.document["activePlayers"] == expected["data"]
    assert parsed.record_count == parsed.document["playerCount"] == 100


def test_players_recording_lands_every_player(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_players", "e640d907")
    raw = _recorded(shared_fixtures, "bdl_players", "raw_e640d907.json")
    parsed = _last_page(BdlPlayers(), PlayersOptions(team_id=None, search=None), raw)
    assert parsed.document["players"] == expected["data"]
    assert parsed.record_count == parsed.document["playerCount"] == 49


# --- injuries -----------------------------------------------------------------------------------


def test_injuries_recording_is_a_first_page_that_walks_on(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_injuries", "49fd60fb")
    scraper, opts = BdlInjuries(), InjuriesOptions(team_id=None, player_id=None)
    page = _page(scraper, opts, _recorded(shared_fixtures, "bdl_injuries", "raw_49fd60fb.json"))
    following = scraper.next_request(opts, page)
    assert following is not None
    assert dict(following.params)["cursor"] == "4082934"
    parsed = scraper.parse(opts, [page], CTX)
    assert parsed.document["injuries"] == expected["data"]
    assert parsed.record_count == parsed.document["rowCount"] == 100


def test_injuries_handmade_matches_the_expected_document(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "handmade" / "balldontlie"
    expected = json.loads((folder / "bdl_injuries_expected.json").read_text(encoding="utf-8"))
    # The handmade expectation was landed at 2025-01-20 15:30 UTC; our timestamp is the fetch time.
    ctx = ParseContext(datetime(2025, 1, 20, 15, 30, tzinfo=UTC), "conform1")
    scraper, opts = BdlInjuries(), InjuriesOptions(team_id=None, player_id=None)
    page = _page(scraper, opts, folder / "bdl_injuries_raw.json")
    assert scraper.next_request(opts, page) is None
    parsed = scraper.parse(opts, [page], ctx)
    assert parsed.document == expected
    assert parsed.record_count == 3


def test_injuries_handmade_empty_is_no_data(shared_fixtures: Path) -> None:
    raw = shared_fixtures / "handmade" / "balldontlie" / "bdl_injuries_empty.json"
    parsed = _last_page(BdlInjuries(), InjuriesOptions(team_id=None, player_id=None), raw)
    assert (parsed.record_count, parsed.document["injuries"]) == (0, [])
    assert parsed.no_data_reason


# --- standings, teams, odds ---------------------------------------------------------------------


def test_standings_recording_lands_every_team_in_api_order(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_standings", "395a0451")
    raw = _recorded(shared_fixtures, "bdl_standings", "raw_395a0451.json")
    parsed = _last_page(BdlStandings(), StandingsOptions(season=Season(2024)), raw)
    assert parsed.document["standings"] == expected["data"]
    assert parsed.document["season"] == 2024
    assert parsed.record_count == parsed.document["teamCount"] == 30


def test_standings_handmade_with_an_empty_meta(shared_fixtures: Path) -> None:
    raw = shared_fixtures / "handmade" / "balldontlie" / "bdl_standings_raw.json"
    parsed = _last_page(BdlStandings(), StandingsOptions(season=Season(2024)), raw)
    assert [row["team"]["abbreviation"] for row in parsed.document["standings"]] == ["BOS", "CLE", "OKC"]


def test_teams_recording_lands_all_45_franchises(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_teams", "cf664c89")
    parsed = _last_page(
        BdlTeams(), TeamsOptions(), _recorded(shared_fixtures, "bdl_teams", "raw_cf664c89.json")
    )
    assert parsed.document["teams"] == expected["data"]
    assert parsed.record_count == parsed.document["teamCount"] == 45


def test_odds_empty_recording_is_no_data(shared_fixtures: Path) -> None:
    expected = _exp(shared_fixtures, "bdl_odds", "99fa8981")
    raw = _recorded(shared_fixtures, "bdl_odds", "raw_99fa8981.json")
    parsed = _last_page(BdlOdds(), OddsOptions(game_date=date(2025, 7, 17), game_id=None), raw)
    assert parsed.document["odds"] == expected["data"] == []
    assert parsed.no_data_reason == "BallDontLie has no odds for date_2025-07-17"
