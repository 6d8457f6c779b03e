"""The six BallDontLie scrapers the old platform never landed, against their real recordings.

Each recording in ../shared is served to the one run path (tests/conformance/landing.py) and the
landed file is read back. For bdl_* the recording's `exp` is the decoded body (unwrapped `data` for
the detail endpoints, except bdl_team_detail's, which kept the wrapper), so the landed top level
must be the old module's `transform_data()` keys (OLD-PLATFORM §2.5, and the old code for the four
§2.5 does not spell out), written out below, and the rows or object under them must be `exp`'s.
Deliberate deviations, one line each:
* `teamId`/`playerId`/`gameId` land as numbers: the old modules echoed the option as given (a
  string from the CLI or a query string); the API's own ids are numbers.
* rows keep the API's order: the old transforms sorted by keys the rows do not have (`player_id`)
  or by `rank`, which is the API's order already (a no-op on these recordings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conformance.landing import Landed, land, serve_file, top_level_shape

STR, NUM, ARR, OBJ = "string", "number", "array", "object"


def _folder(shared: Path, scraper: str) -> Path:
    return shared / "recorded" / scraper


def _exp(folder: Path) -> Any:
    (path,) = folder.glob("exp_*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _raw(folder: Path) -> Path:
    (path,) = folder.glob("raw_*.json")
    return path


def _landed(landed: Landed, folder: str) -> dict[str, Any]:
    assert landed.result.status.value == "success", landed.result.to_dict()
    assert landed.completion["metadata"]["quality"]["status"] == "ok", landed.completion["metadata"]
    (path,) = landed.result.landed
    assert f"/ball-dont-lie/{folder}/" in path
    document: dict[str, Any] = landed.document
    return document


def test_team_detail_lands_the_team_under_the_old_keys(tmp_path: Path, shared_fixtures: Path) -> None:
    folder = _folder(shared_fixtures, "bdl_team_detail")
    landed = land(tmp_path, "bdl_team_detail", {"teamId": 2}, serve_file(_raw(folder)))
    document = _landed(landed, "team-detail")
    assert top_level_shape(document) == {"teamId": NUM, "timestamp": STR, "team": OBJ}
    # This one exp kept the API's wrapper; the old module unwrapped it before landing.
    assert (document["teamId"], document["team"]) == (2, _exp(folder)["data"])


def test_player_detail_lands_the_player_under_the_old_keys(tmp_path: Path, shared_fixtures: Path) -> None:
    folder = _folder(shared_fixtures, "bdl_player_detail")
    landed = land(tmp_path, "bdl_player_detail", {"playerId": 237}, serve_file(_raw(folder)))
    document = _landed(landed, "player-detail")
    assert top_level_shape(document) == {"playerId": NUM, "timestamp": STR, "player": OBJ}
    assert (document["playerId"], document["player"]) == (237, _exp(folder))


def test_game_detail_lands_the_game_and_names_it(tmp_path: Path, shared_fixtures: Path) -> None:
    folder = _folder(shared_fixtures, "bdl_game_detail")
    landed = land(tmp_path, "bdl_game_detail", {"gameId": 18444564}, serve_file(_raw(folder)))
    # Game 7 of the 2025 Finals tipped off at 00:00 UTC on the 23rd: filed under its Eastern date.
    document = _landed(landed, "game-detail/2025-06-22")
    assert top_level_shape(document) == {"gameId": NUM, "timestamp": STR, "game": OBJ}
    assert (document["gameId"], document["game"]) == (18444564, _exp(folder))
    expected = {"game_key": "20250622_IND_OKC", "game_id": 18444564}
    assert landed.result.metadata == expected
    assert {key: landed.completion["metadata"][key] for key in expected} == expected


def test_game_adv_stats_land_every_row_and_name_the_game(tmp_path: Path, shared_fixtures: Path) -> None:
    folder = _folder(shared_fixtures, "bdl_game_adv_stats")
    options = {"startDate": "2025-06-22", "endDate": "2025-06-22"}
    landed = land(tmp_path, "bdl_game_adv_stats", options, serve_file(_raw(folder)))
    document = _landed(landed, "game-adv-stats/2025-06-22")
    assert top_level_shape(document) == {
        "ident": STR,
        "timestamp": STR,
        "rowCount": NUM,
        "advancedStats": ARR,
    }
    assert document["advancedStats"] == _exp(folder)["data"]
    assert (document["ident"], document["rowCount"]) == ("2025-06-22_2025-06-22", 29)
    # Every row is of the one game: its key comes from the rows' own team codes.
    assert landed.result.metadata == {"game_key": "20250622_IND_OKC", "game_id": 18444564}


def test_player_averages_land_under_the_old_keys_and_season_folder(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    folder = _folder(shared_fixtures, "bdl_player_averages")
    options = {"season": "2024", "playerIds": "237,115,140"}
    landed = land(tmp_path, "bdl_player_averages", options, serve_file(_raw(folder)))
    document = _landed(landed, "player-averages/2024")
    assert top_level_shape(document) == {
        "ident": STR,
        "timestamp": STR,
        "season": NUM,
        "category": STR,
        "seasonType": STR,
        "statType": STR,
        "playerCountRequested": NUM,
        "rowCount": NUM,
        "playerAverages": ARR,
    }
    assert document["playerAverages"] == _exp(folder)["data"]
    assert {key: document[key] for key in ("ident", "season", "playerCountRequested", "rowCount")} == {
        "ident": "2024_general_regular_base_3p_237,115,140",
        "season": 2024,
        "playerCountRequested": 3,
        "rowCount": 3,
    }


def test_player_leaders_land_under_the_old_keys(tmp_path: Path, shared_fixtures: Path) -> None:
    folder = _folder(shared_fixtures, "bdl_player_leaders")
    landed = land(
        tmp_path, "bdl_player_leaders", {"season": "2024", "statType": "reb"}, serve_file(_raw(folder))
    )
    document = _landed(landed, "player-leaders")
    assert top_level_shape(document) == {"ident": STR, "timestamp": STR, "rowCount": NUM, "leaders": ARR}
    assert document["leaders"] == _exp(folder)["data"]
    assert (document["ident"], document["rowCount"]) == ("2024_reb", 231)
