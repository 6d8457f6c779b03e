"""What lands for every NBA.com scraper: the old production document's top level, through the real run path.

Each recording is served over an httpx transport to `prepare` -> `run_job` -> file sink ->
completion (tests/conformance/landing.py), and the bytes at the object path are compared with what
the old platform landed (`exp_*`, see ../shared/fixtures/README.md): the same top-level keys with
the same JSON types. Where `exp` is not the old production document (an intermediate, a decoded
body, older key names) the documented truth is asserted and the line says why. Per-game runs must
also name their game in the completion: `game_key` (`YYYYMMDD_AWY_HOM`) beside NBA.com's own id.

Recordings are read from ../shared/fixtures and never copied; the tests skip without them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.conformance.landing import Landed, land, serve, serve_file, top_level_shape
from tests.gamebook_pdf import gamebook_from_landed, render, true_inactive

# OLD-PLATFORM 2.0: the scoreboard's transform_data() document, in its key order.
SCOREBOARD_SHAPE = {
    "timestamp": "string",
    "gamedate": "string",
    "gameCount": "number",
    "games": "array",
    "source": "string",
}
SCOREBOARD_GAME_KEYS = [
    "gameId",
    "home",
    "away",
    "gameStatus",
    "state",
    "startTimeET",
    "gameCode",
    "gameSequence",
    "gameStatusText",
    "season",
    "arenaName",
    "broadcasts",
    "livePeriod",
    "livePcTime",
    "livePeriodTimeBcast",
    "teams",
    "homeTeamId",
    "awayTeamId",
]
# OLD-PLATFORM 2.1 (the V3 team box score; the only recording is of the deprecated V2 endpoint).
TEAM_BOXSCORE_SHAPE = {
    "timestamp": "string",
    "gameId": "string",
    "gameDate": "string",
    "teamCount": "number",
    "teams": "array",
    "injuredPlayers": "array",
    "source": "string",
}


def _recorded(shared: Path, folder: str, name: str) -> Path:
    return shared / "recorded" / folder / name


def _exp(shared: Path, folder: str, run: str) -> Any:
    plain = _recorded(shared, folder, f"exp_{run}.json")
    if plain.exists():
        return json.loads(plain.read_bytes())
    return json.loads(gzip.decompress(_recorded(shared, folder, f"exp_{run}.json.gz").read_bytes()))


def _land_recording(
    tmp_path: Path, shared: Path, folder: str, raw: str, scraper: str, options: Mapping[str, object]
) -> Landed:
    landed = land(tmp_path, scraper, options, serve_file(_recorded(shared, folder, raw)))
    assert landed.result.status.value == "success", landed.result.to_dict()
    return landed


def _game_metadata(landed: Landed) -> dict[str, Any]:
    metadata = landed.completion["metadata"]
    return {key: metadata[key] for key in ("game_key", "game_id", "game_code") if key in metadata}


# --- per-date and per-season documents ----------------------------------------------------------


def test_scoreboard_v2_lands_the_old_transform_not_its_intermediate(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_scoreboard_v2",
        "raw_055ff78d.json",
        "nbac_scoreboard_v2",
        {"gamedate": "2024-01-15"},
    )
    exp = _exp(shared_fixtures, "nbac_scoreboard_v2", "055ff78d")
    document = landed.document

    # exp is the V3-like intermediate `{"scoreboard": {"games": [...]}}`, which never landed
    # (OLD-PLATFORM 2.0): the truth is transform_data()'s flat document, in its key order.
    assert top_level_shape(exp) == {"scoreboard": "object"}
    assert list(top_level_shape(document).items()) == list(SCOREBOARD_SHAPE.items())
    assert (document["gamedate"], document["source"]) == ("20240115", "nba_scoreboard_v2_enriched")
    assert document["gameCount"] == len(document["games"]) == len(exp["scoreboard"]["games"]) == 11
    assert {tuple(game) for game in document["games"]} == {tuple(SCOREBOARD_GAME_KEYS)}
    assert [(g["away"], g["home"]) for g in document["games"]] == [
        (g["awayTeam"]["teamTricode"], g["homeTeam"]["teamTricode"]) for g in exp["scoreboard"]["games"]
    ]
    # The fan-out still names every game for the gamebook jobs.
    assert [ref.to_dict()["game_code"] for ref in landed.result.fan_out] == [
        game["gameCode"] for game in document["games"]
    ]


def test_player_boxscore_lands_the_decoded_answer(tmp_path: Path, shared_fixtures: Path) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_player_boxscore",
        "raw_2ad17718.json",
        "nbac_player_boxscore",
        {"gamedate": "2025-03-15"},
    )
    exp = _exp(shared_fixtures, "nbac_player_boxscore", "2ad17718")

    # Production exported the decoded leaguegamelog answer (its exporter was DECODED).
    assert top_level_shape(landed.document) == top_level_shape(exp)
    assert landed.document == exp


def test_player_list_lands_the_decoded_answer(tmp_path: Path, shared_fixtures: Path) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_player_list",
        "raw_7af00b51.json",
        "nbac_player_list",
        {"season": "2025"},
    )
    exp = _exp(shared_fixtures, "nbac_player_list", "7af00b51")

    assert top_level_shape(landed.document) == top_level_shape(exp)
    assert landed.document == exp


def test_player_movement_lands_the_old_document(tmp_path: Path, shared_fixtures: Path) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_player_movement",
        "raw_1ecdb80d.json.gz",
        "nbac_player_movement",
        {"year": "2025"},
    )

    assert top_level_shape(landed.document) == top_level_shape(
        _exp(shared_fixtures, "nbac_player_movement", "1ecdb80d")
    )


def test_referee_assignments_land_the_old_document(tmp_path: Path, shared_fixtures: Path) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_referee_assignments",
        "raw_718e62b3.json",
        "nbac_referee_assignments",
        {"date": "2025-01-08"},
    )

    assert top_level_shape(landed.document) == top_level_shape(
        _exp(shared_fixtures, "nbac_referee_assignments", "718e62b3")
    )


def test_roster_lands_the_old_document_with_its_current_key_names(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_roster",
        "raw_79002ff4.html.gz",
        "nbac_roster",
        {"team_abbr": "GSW"},
    )
    exp = top_level_shape(_exp(shared_fixtures, "nbac_roster", "79002ff4"))

    # exp uses the old name `teamAbbr`; the old platform's last version (OLD-PLATFORM 2.1) wrote `team_abbr`.
    truth = {("team_abbr" if key == "teamAbbr" else key): kind for key, kind in exp.items()}
    assert top_level_shape(landed.document) == truth
    assert "team_abbr" in landed.document["metadata"]


def test_schedule_api_lands_the_old_document(tmp_path: Path, shared_fixtures: Path) -> None:
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_schedule_api",
        "raw_80cb1fd6.json.gz",
        "nbac_schedule_api",
        {"season": "2024"},
    )

    assert top_level_shape(landed.document) == top_level_shape(
        _exp(shared_fixtures, "nbac_schedule_api", "80cb1fd6")
    )


def test_schedule_cdn_lands_the_api_shape_plus_its_source(tmp_path: Path, shared_fixtures: Path) -> None:
    landed = _land_recording(
        tmp_path, shared_fixtures, "nbac_schedule_cdn", "raw_68953816.json", "nbac_schedule_cdn", {}
    )

    # This exp is the decoded CDN body (the capture exported DECODED); production landed the
    # transform: the schedule API's document plus `source` (OLD-PLATFORM 2.1).
    assert "leagueSchedule" in top_level_shape(_exp(shared_fixtures, "nbac_schedule_cdn", "68953816"))
    api = top_level_shape(_exp(shared_fixtures, "nbac_schedule_api", "80cb1fd6"))
    assert top_level_shape(landed.document) == {**api, "source": "string"}
    assert landed.document["source"] == "cdn_static"


def test_injury_report_lands_the_old_document_and_the_pdf(tmp_path: Path, shared_fixtures: Path) -> None:
    raw = _recorded(shared_fixtures, "nbac_injury_report", "raw_f4391904.pdf")
    landed = _land_recording(
        tmp_path,
        shared_fixtures,
        "nbac_injury_report",
        "raw_f4391904.pdf",
        "nbac_injury_report",
        {"gamedate": "2024-01-04", "hour": "12", "period": "PM"},
    )
    exp = _exp(shared_fixtures, "nbac_injury_report", "f4391904")

    assert top_level_shape(landed.document) == top_level_shape(exp)
    # exp's season is the old calendar-year bug (2024-25); January 2024 is in 2023-24.
    assert (exp["metadata"]["season"], landed.document["metadata"]["season"]) == ("2024-25", "2023-24")
    (pdf,) = [path for path in landed.result.landed if path.endswith(".pdf")]
    assert Path(pdf).read_bytes() == raw.read_bytes()


# --- per-game documents: the shape and the game key -----------------------------------------------


def test_play_by_play_lands_the_old_document_and_names_the_game(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    for run, options, game_key in (
        ("14ecf360", {"game_id": "0022400500", "gamedate": "2025-01-06"}, "20250106_LAC_MIN"),
        ("416e8d5c", {"game_id": "0022400561", "gamedate": "2025-01-15"}, "20250115_NYK_PHI"),
    ):
        landed = _land_recording(
            tmp_path / run,
            shared_fixtures,
            "nbac_play_by_play",
            f"raw_{run}.json.gz",
            "nbac_play_by_play",
            options,
        )

        assert top_level_shape(landed.document) == top_level_shape(
            _exp(shared_fixtures, "nbac_play_by_play", run)
        )
        # Visitor and home as the season's schedule lists them (LAC at MIN, NYK at PHI).
        assert _game_metadata(landed) == {"game_key": game_key, "game_id": options["game_id"]}


def test_team_boxscore_lands_the_v3_document_and_names_the_game(
    tmp_path: Path, project_fixtures: Path
) -> None:
    # The only recording is of the V2 endpoint deprecated for 2025-26 (a structural failure now), so
    # the project's V3 fixture lands and the truth is OLD-PLATFORM 2.1's document.
    body = (project_fixtures / "nbac" / "nbac_team_boxscore-0022300601.body.json").read_bytes()
    landed = land(
        tmp_path, "nbac_team_boxscore", {"game_id": "0022300601", "game_date": "2024-01-15"}, serve(body)
    )

    assert landed.result.status.value == "success", landed.result.to_dict()
    assert list(top_level_shape(landed.document).items()) == list(TEAM_BOXSCORE_SHAPE.items())
    assert _game_metadata(landed) == {"game_key": "20240115_HOU_PHI", "game_id": "0022300601"}


def test_gamebook_lands_the_old_document_and_names_the_game(tmp_path: Path, shared_fixtures: Path) -> None:
    # The PDF capture is damaged: the gamebook is rendered in the real layout from what landed.
    exp = _exp(shared_fixtures, "nbac_gamebook_pdf", "0173bcd1")
    pdf = render(gamebook_from_landed(exp, true_inactive(exp)))
    landed = land(
        tmp_path, "nbac_gamebook_pdf", {"game_code": "20240410/MEMCLE"}, serve(pdf, "application/pdf")
    )

    assert landed.result.status.value == "success", landed.result.to_dict()
    # `debug_info` named the old container's /tmp text dump (nobody reads it); `data_status` is
    # the old platform's later completeness flag (R-009), which we always write.
    truth = {key: kind for key, kind in top_level_shape(exp).items() if key != "debug_info"}
    assert top_level_shape(landed.document) == {**truth, "data_status": "string"}
    assert landed.document["data_status"] == "complete"
    assert _game_metadata(landed) == {"game_key": "20240410_MEM_CLE", "game_code": "20240410/MEMCLE"}
