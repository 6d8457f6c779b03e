"""What the ESPN, BettingPros and BallDontLie scrapers land, read back from the real run path.

Each recording in ../shared is served to the one run path (tests/conformance/landing.py) and the
landed file's top-level keys and JSON types must be what the old platform's production exporter
wrote; per-game runs also name their game in the completion (`game_key` beside the source's id).
Every one of these scrapers was a `DATA` export (OLD-PLATFORM §2.0), so a document lands:
* espn_*: the recording's `exp` is that document; where it predates the old code's last layout,
  the deviation is named in one line at its test (§2.4 is the truth).
* bp_events and bdl_*: `exp` is the decoded upstream body, so the landed shape is the "Out" column
  of §2.3 / §2.5, written out below; the rows themselves must be the recording's.
bp_player_props has no recording: it lands the project's own format-true fixtures (§2.3 Out).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.landing import Landed, Responder, land, serve, serve_file, top_level_shape
from tests.conftest import PROJECT_FIXTURES

# The JSON types `top_level_shape` names.
STR, NUM, ARR, OBJ, NULL = "string", "number", "array", "object", "null"


def _recording(shared: Path, scraper: str, name: str) -> Path:
    return shared / "recorded" / scraper / name


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _landed_ok(landed: Landed, status: str = "success") -> dict[str, Any]:
    assert landed.result.status.value == status, landed.result.to_dict()
    assert landed.completion["status"] == status
    document: dict[str, Any] = landed.document
    # The quality verdict travels in the completion only: the landed bytes are the old document.
    assert "quality" in landed.completion["metadata"]
    return document


def _first_page_then_end(first: Path) -> Responder:
    """The recording for the first request; the page its `next_cursor` asks for ends the walk.

    The recordings are single pages of longer walks: an empty last page is what BallDontLie sends
    after the last row, and it leaves the landed rows exactly the recorded ones.
    """
    recorded = serve_file(first)
    last = serve(b'{"data": [], "meta": {"per_page": 100}}')

    def respond(request: httpx.Request) -> httpx.Response:
        return last(request) if "cursor" in request.url.params else recorded(request)

    return respond


# --- ESPN -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recording", "gamedate", "status", "season_type"),
    [("92de7c9a", "2024-01-15", "success", STR), ("20250214", "2025-02-14", "no_data", NULL)],
)
def test_espn_scoreboard_lands_the_old_document(
    tmp_path: Path, shared_fixtures: Path, recording: str, gamedate: str, status: str, season_type: str
) -> None:
    folder = shared_fixtures / "recorded" / "espn_scoreboard_api"
    landed = land(
        tmp_path, "espn_scoreboard", {"gamedate": gamedate}, serve_file(folder / f"raw_{recording}.json")
    )
    document = _landed_ok(landed, status)
    expected = top_level_shape(_json(folder / f"exp_{recording}.json"))

    # exp predates the old code's last layout (§2.4): `scoreDate` became `gamedate` (same YYYYMMDD
    # text) and `season_type` was added (null when the body states no season type for the date).
    expected = {("gamedate" if key == "scoreDate" else key): kind for key, kind in expected.items()}
    assert top_level_shape(document) == {**expected, "season_type": season_type}
    assert document["gamedate"] == gamedate.replace("-", "")
    assert document["games"] == _json(folder / f"exp_{recording}.json")["games"]


@pytest.mark.parametrize("skip_json", [False, True])
def test_espn_game_boxscore_lands_the_old_document_and_names_the_game(
    tmp_path: Path, shared_fixtures: Path, skip_json: bool
) -> None:
    folder = shared_fixtures / "recorded" / "espn_game_boxscore"
    options = {"game_id": "401585183", "gamedate": "2024-01-15", "skipJson": skip_json}
    landed = land(tmp_path, "espn_game_boxscore", options, serve_file(folder / "raw_6f34c64b.html.gz"))
    document = _landed_ok(landed)
    expected = _json(folder / "exp_6f34c64b.json")

    # exp's `playerCount` is the older object ({total, byTeam, byType}); the old code's last layout
    # (§2.4) lands the total as a number.
    assert top_level_shape(document) == {**top_level_shape(expected), "playerCount": NUM}
    assert document["playerCount"] == expected["playerCount"]["total"]
    assert document["players"] == expected["players"]
    # HOU at PHI on MLK day 2024: ESPN's id beside the canonical key, for joins across sources.
    assert landed.completion["metadata"]["game_id"] == "401585183"
    assert landed.completion["metadata"]["game_key"] == "20240115_HOU_PHI"
    assert landed.result.metadata == {"game_id": "401585183", "game_key": "20240115_HOU_PHI"}


def test_espn_roster_lands_the_old_document(tmp_path: Path, shared_fixtures: Path) -> None:
    folder = shared_fixtures / "recorded" / "espn_roster_api"
    landed = land(tmp_path, "espn_roster", {"team_abbr": "BOS"}, serve_file(folder / "raw_2.json"))
    document = _landed_ok(landed)
    expected = top_level_shape(_json(folder / "exp_2.json"))

    # exp predates the old code's last layout (§2.4): its string `teamId` became the numeric
    # `espn_team_id`, beside the NBA tricode `team_abbr` and ESPN's own `espn_team_abbr`.
    del expected["teamId"]
    added = {"team_abbr": STR, "espn_team_abbr": STR, "espn_team_id": NUM}
    assert top_level_shape(document) == {**expected, **added}
    assert document["players"] == _json(folder / "exp_2.json")["players"]


# --- BettingPros ----------------------------------------------------------------------------------

BP_EVENTS_OUT = {
    "date": STR,
    "sport": STR,
    "timestamp": STR,
    "source": STR,
    "api_response_params": OBJ,
    "event_count": NUM,
    "rowCount": NUM,
    "events": OBJ,  # keyed by event id
}


def test_bp_events_lands_the_old_document(tmp_path: Path, shared_fixtures: Path) -> None:
    raw = _recording(shared_fixtures, "bp_events", "raw_75470647.json")
    landed = land(tmp_path, "bp_events", {"date": "2021-10-21"}, serve_file(raw))
    document = _landed_ok(landed)

    assert top_level_shape(document) == BP_EVENTS_OUT
    assert list(document["events"]) == [str(event["id"]) for event in _json(raw)["events"]]
    assert document["api_response_params"] == _json(raw)["_parameters"]


BP_PROPS_OUT = {
    "date": STR,
    "sport": STR,
    "market_id": NUM,
    "market_type": STR,
    "market_name": STR,
    "event_ids": ARR,
    "timestamp": STR,
    "source": STR,
    "api_response_params": OBJ,
    "pagination_info": OBJ,
    "props_count": NUM,
    "players_count": NUM,
    "failed_offers": NUM,
    "players_summary": OBJ,
    "props": ARR,
}
BP_FIXTURES = PROJECT_FIXTURES / "bettingpros"


def _bp_day(*event_ids: str) -> Responder:
    """The demo day's events (only `event_ids`) and the recorded offers pages of each event."""
    events = _json(BP_FIXTURES / "bp_events-2024-01-15.body.json")
    events["events"] = [event for event in events["events"] if str(event["id"]) in event_ids]

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return serve(json.dumps(events).encode())(request)
        params = request.url.params
        name = f"bp_player_props-{params['event_id']}-points-p{params['page']}.body.json"
        return serve_file(BP_FIXTURES / name)(request)

    return respond


def test_bp_player_props_of_a_one_game_date_lands_the_old_document_and_names_the_game(
    tmp_path: Path,
) -> None:
    landed = land(tmp_path, "bp_player_props", {"date": "2024-01-15"}, _bp_day("27101"))
    document = _landed_ok(landed)

    assert top_level_shape(document) == BP_PROPS_OUT
    assert (document["event_ids"], document["props_count"]) == (["27101"], 11)
    # Event 27101 is HOU at PHI: BettingPros' id beside the canonical key.
    assert landed.completion["metadata"]["event_id"] == "27101"
    assert landed.completion["metadata"]["game_key"] == "20240115_HOU_PHI"


def test_bp_player_props_of_one_given_event_names_it_without_a_key(tmp_path: Path) -> None:
    landed = land(tmp_path, "bp_player_props", {"event_ids": "27101"}, _bp_day())
    document = _landed_ok(landed)

    assert top_level_shape(document) == BP_PROPS_OUT
    # Offers pages name each player's team but not home and away: no key can honestly be made.
    assert landed.completion["metadata"]["event_id"] == "27101"
    assert "game_key" not in landed.completion["metadata"]


def test_bp_player_props_of_a_full_slate_is_not_a_per_game_run(tmp_path: Path) -> None:
    landed = land(tmp_path, "bp_player_props", {"date": "2024-01-15"}, _bp_day("27101", "27102"))

    assert top_level_shape(_landed_ok(landed)) == BP_PROPS_OUT
    assert not {"event_id", "game_key"} & set(landed.completion["metadata"])


# --- BallDontLie: the Out column of §2.5 ----------------------------------------------------------

# scraper -> (options, recording, status, landed shape, the key holding the recorded rows)
BDL_CASES: dict[str, tuple[dict[str, object], str, str, dict[str, str], str]] = {
    "bdl_games": (
        {"startDate": "2025-02-20", "endDate": "2025-02-20"},
        "raw_278cb9ed.json",
        "success",
        {"startDate": STR, "endDate": STR, "timestamp": STR, "gameCount": NUM, "games": ARR},
        "games",
    ),
    "bdl_box_scores": (
        {"date": "2024-01-15"},
        "raw_7a649e12.json",
        "success",
        {"date": STR, "timestamp": STR, "rowCount": NUM, "boxScores": ARR},
        "boxScores",
    ),
    "bdl_player_box_scores": (
        {"startDate": "2025-06-22", "endDate": "2025-06-22"},
        "raw_1db4c01e.json",
        "success",
        {
            "startDate": STR,
            "endDate": STR,
            "datesProcessed": ARR,
            "timestamp": STR,
            "rowCount": NUM,
            "stats": ARR,
        },
        "stats",
    ),
    "bdl_live_box_scores": (
        {},
        "raw_1575e0a5.json",
        "no_data",
        {"timestamp": STR, "pollId": STR, "gameCount": NUM, "liveBoxes": ARR},
        "liveBoxes",
    ),
    "bdl_active_players": (
        {},
        "raw_ac3e7bd3.json",
        "success",
        {"ident": STR, "timestamp": STR, "playerCount": NUM, "activePlayers": ARR},
        "activePlayers",
    ),
    "bdl_injuries": (
        {},
        "raw_49fd60fb.json",
        "success",
        {"ident": STR, "timestamp": STR, "rowCount": NUM, "injuries": ARR},
        "injuries",
    ),
    "bdl_standings": (
        {"season": "2024"},
        "raw_395a0451.json",
        "success",
        {"season": NUM, "timestamp": STR, "teamCount": NUM, "standings": ARR},
        "standings",
    ),
    "bdl_odds": (
        {"date": "2025-07-17"},
        "raw_99fa8981.json",
        "no_data",
        {"ident": STR, "timestamp": STR, "rowCount": NUM, "odds": ARR},
        "odds",
    ),
    # The old bdl_players and bdl_teams crashed at import and never landed (§2.5): these shapes are
    # ours, in the family's layout (timestamp, a count, the rows).
    "bdl_players": (
        {},
        "raw_e640d907.json",
        "success",
        {"timestamp": STR, "playerCount": NUM, "players": ARR},
        "players",
    ),
    "bdl_teams": (
        {},
        "raw_cf664c89.json",
        "success",
        {"timestamp": STR, "teamCount": NUM, "teams": ARR},
        "teams",
    ),
}


@pytest.mark.parametrize("scraper", list(BDL_CASES))
def test_bdl_lands_the_old_document(tmp_path: Path, shared_fixtures: Path, scraper: str) -> None:
    options, recording, status, shape, rows = BDL_CASES[scraper]
    raw = _recording(shared_fixtures, scraper, recording)
    landed = land(tmp_path, scraper, options, _first_page_then_end(raw))
    document = _landed_ok(landed, status)

    assert top_level_shape(document) == shape
    assert document[rows] == _json(raw)["data"]
    # Runs over a date, a season or the league are not per game.
    assert "game_key" not in landed.completion["metadata"]


def test_bdl_player_box_scores_of_one_game_name_it(tmp_path: Path, shared_fixtures: Path) -> None:
    raw = _recording(shared_fixtures, "bdl_player_box_scores", "raw_1db4c01e.json")
    options = {"startDate": "2025-06-22", "endDate": "2025-06-22", "gameIds": "18444564"}
    landed = land(tmp_path, "bdl_player_box_scores", options, serve_file(raw))

    assert top_level_shape(_landed_ok(landed)) == BDL_CASES["bdl_player_box_scores"][3]
    # Game 7 of the 2025 Finals, Indiana at Oklahoma City (tip-off 00:00 UTC on the 23rd).
    assert landed.completion["metadata"]["game_id"] == 18444564
    assert landed.completion["metadata"]["game_key"] == "20250622_IND_OKC"


def test_bdl_odds_of_one_game_name_it_by_id(tmp_path: Path, shared_fixtures: Path) -> None:
    raw = _recording(shared_fixtures, "bdl_odds", "raw_99fa8981.json")
    landed = land(tmp_path, "bdl_odds", {"game_id": "18444564"}, serve_file(raw))

    assert top_level_shape(_landed_ok(landed, "no_data")) == BDL_CASES["bdl_odds"][3]
    # Odds rows carry only `game_id`: no teams or date to build a game key from.
    assert landed.completion["metadata"]["game_id"] == 18444564
    assert "game_key" not in landed.completion["metadata"]
