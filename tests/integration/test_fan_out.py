"""Parents expose typed ids for per-game and per-event children, in the run result and --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT


def replay_json(tmp_path: Path, *argv: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "scrapers", "run", *argv, "--replay", "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def fixture(source: str, slug: str) -> Any:
    return json.loads((PROJECT_FIXTURES / source / f"{slug}.body.json").read_text(encoding="utf-8"))


def test_scoreboard_exposes_every_game_with_its_gamebook_code(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "nbac_scoreboard_v2", "--gamedate", "2024-01-15")

    header = next(
        rs
        for rs in fixture("nbac", "nbac_scoreboard_v2-2024-01-15")["resultSets"]
        if rs["name"] == "GameHeader"
    )
    column = header["headers"].index
    expected = [(row[column("GAME_ID")], row[column("GAMECODE")]) for row in header["rowSet"]]
    refs = result["fan_out"]
    assert [(ref["game_id"], ref["game_code"]) for ref in refs] == expected
    assert {ref["kind"] for ref in refs} == {"game"}
    assert {ref["game_date"] for ref in refs} == {"2024-01-15"}
    for ref in refs:
        assert ref["game_code"].endswith(ref["away_team"] + ref["home_team"])


@pytest.mark.parametrize(
    ("argv", "source", "ids"),
    [
        (
            ["oddsa_events", "--game_date", "2024-01-15"],
            "oddsapi",
            lambda: sorted(e["id"] for e in fixture("oddsapi", "oddsa_events-2024-01-15")),
        ),
        (
            ["bp_events", "--date", "2024-01-15"],
            "bettingpros",
            lambda: sorted(str(e["id"]) for e in fixture("bettingpros", "bp_events-2024-01-15")["events"]),
        ),
    ],
)
def test_event_lists_expose_every_event_id(tmp_path: Path, argv: list[str], source: str, ids: Any) -> None:
    result = replay_json(tmp_path, *argv)

    refs = result["fan_out"]
    assert sorted(ref["event_id"] for ref in refs) == ids()
    assert {(ref["kind"], ref["source"]) for ref in refs} == {("event", source)}
    assert all(ref["home_team"] and ref["away_team"] and ref["commence_time"] for ref in refs)


def test_an_empty_day_has_nothing_to_fan_out(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "oddsa_events", "--game_date", "2024-02-16")

    assert result["status"] == "no_data"
    assert result["fan_out"] == []
