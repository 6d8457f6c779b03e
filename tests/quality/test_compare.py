"""`scrapers quality-compare`: the halved BallDontLie minutes show up against every other source.

The project's synthetic game lands under the path contract as all five box-score sources, with four
Philadelphia players' BallDontLie minutes halved; the demo output and a gs:// bucket (an in-memory
stand-in for the storage client) are read the same way.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from google.cloud import storage

from scrapers import cli
from scrapers.core.registry import load_registry
from scrapers.crosscheck.compare import DayReport, read_day
from scrapers.crosscheck.landed import FolderReader, GcsReader, newest_per_entity
from scrapers.sinks.gcs import GcsBucket, GcsLocation
from tests.harness.gcs_emulator import running_gcs_emulator
from tests.quality import documents

DAY = documents.DAY
LANDED = {
    "ball-dont-lie/boxscores/2024-01-15/20240116_030000.json": documents.bdl_box_scores(),
    # The newest landing of the date wins: this one carries the halved minutes.
    "ball-dont-lie/boxscores/2024-01-15/20240116_090000.json": documents.bdl_box_scores(
        documents.halved_names()
    ),
    "ball-dont-lie/player-box-scores/2024-01-15/20240116_030000.json": documents.bdl_player_box_scores(),
    "nba-com/player-boxscores/2024-01-15/20240116_030000.json": documents.nbac_player_boxscore(),
    "nba-com/gamebooks-data/2024-01-15/20240115-HOUPHI/20240116_031500.json": documents.nbac_gamebook(),
    "espn/boxscores/2024-01-15/game-401585183/20240116_030000.json": documents.espn_boxscore(),
}


@pytest.fixture
def landed(tmp_path: Path) -> Path:
    for name, document in LANDED.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "espn/boxscores/2024-01-15/game-401585183/.landing-tmp.json").write_text("{")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["quality-compare", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _pairs(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(pair["sources"][0], pair["sources"][1]): pair for pair in report["comparisons"]}


def test_halved_bdl_minutes_stand_out_against_nbac_in_the_json_report(
    landed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "--date", DAY, "--out", str(landed), "--json")
    assert code == 0, err
    (day,) = json.loads(out)["dates"]
    assert {source["scraper"]: source["players"] for source in day["sources"]} == dict.fromkeys(
        (
            "bdl_box_scores",
            "bdl_player_box_scores",
            "nbac_player_boxscore",
            "nbac_gamebook_pdf",
            "espn_game_boxscore",
        ),
        20,
    )
    pairs = _pairs(day)
    assert len(pairs) == 10  # every pair of the five sources holds the game

    against_nbac = pairs[("bdl_box_scores", "nbac_player_boxscore")]
    assert (against_nbac["games"], against_nbac["players_compared"], against_nbac["unmatched"]) == (1, 20, 0)
    assert (against_nbac["players_over_gap"], against_nbac["share_over_gap"]) == (4, 0.2)
    assert against_nbac["points_differ"] == 0
    worst = against_nbac["worst"]
    assert {item["player"] for item in worst} == set(documents.halved_names())
    assert worst[0] == {
        "game": documents.KEY,
        "player": "Kasimir Brightwater0",
        "team": "PHI",
        "minutes": [18.0, 36.0],
        "points": [25, 25],
        "minutes_gap": 18.0,
    }
    for (left, right), pair in pairs.items():
        expected = 4 if "bdl_box_scores" in (left, right) else 0
        assert (pair["players_compared"], pair["players_over_gap"]) == (20, expected), (left, right)


def test_the_text_report_has_a_table_per_day_and_the_worst_examples(
    landed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--date", "2024-01-14", "--to", DAY, "--out", str(landed))
    assert code == 0
    first, second = out.split("\n2024-01-14\n")[1].split("\n2024-01-15\n")
    assert "no game has a box score in two sources" in first
    line = next(
        row for row in second.splitlines() if row.strip().startswith("bdl_box_scores vs nbac_player_boxscore")
    )
    assert line.split()[3:6] == ["1", "20", "4"]
    assert "(20.0%)" in line
    assert "Kasimir Brightwater0 (PHI)  18.0 vs 36.0" in second


def test_the_demo_output_compares_cleanly(demo_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--date", "2024-01-15", "--out", str(demo_out), "--json")
    assert code == 0, err
    (day,) = json.loads(out)["dates"]
    assert {s["scraper"]: (s["documents"], s["games"]) for s in day["sources"]} == {
        "bdl_box_scores": (1, 3),
        "bdl_player_box_scores": (1, 1),
        "nbac_player_boxscore": (1, 3),
        "nbac_gamebook_pdf": (1, 1),
        "espn_game_boxscore": (1, 1),
    }
    pairs = _pairs(day)
    # The demo's sources carry the same players of the same games: every pair matches them all.
    assert len(pairs) == 8
    assert all(
        pair["players_compared"] > 0
        and (pair["players_over_gap"], pair["points_differ"], pair["unmatched"]) == (0, 0, 0)
        for pair in pairs.values()
    )
    bdl = pairs[("bdl_box_scores", "bdl_player_box_scores")]
    assert bdl["players_compared"] == 16

    code, text, _ = _run(capsys, "--date", "2024-01-15", "--out", str(demo_out))
    assert code == 0
    assert "bdl_box_scores vs bdl_player_box_scores" in text
    assert "0 (0.0%)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--date", "2024-01-15", "--to", "2024-01-14"),
            "option '--to': 2024-01-14 is before --date 2024-01-15",
        ),
        (("--date", "15/01/2024"), "option '--date': '15/01/2024' is not a date YYYY-MM-DD"),
        (("--date", "2023-01-01", "--to", "2024-06-01"), "more than 366 days"),
        (("--date", "2024-01-15", "--bogus"), "--bogus"),
    ],
)
def test_bad_dates_are_usage_errors(
    args: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, *args, "--out", str(tmp_path))
    assert code == cli.EXIT_USAGE
    assert message in err


def test_newest_per_entity_keeps_one_document_per_folder() -> None:
    names = [
        "espn/boxscores/2024-01-15/game-1/20240116_030000.json",
        "espn/boxscores/2024-01-15/game-1/20240116_040000.json",
        "espn/boxscores/2024-01-15/game-2/20240116_010000.json",
    ]
    assert newest_per_entity(names) == names[1:]


# --- gs:// --------------------------------------------------------------------------------------


def test_a_gs_output_reads_like_the_folder(
    landed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real gcp-storage-emulator in its own process: the reader's calls are the library's.
    with running_gcs_emulator(tmp_path) as endpoint:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
        client = storage.Client(project="courtside-test")
        client.create_bucket("nba-scraped-data")
        for name, document in LANDED.items():
            client.bucket("nba-scraped-data").blob(f"courtside/{name}").upload_from_string(
                json.dumps(document)
            )
        bucket = GcsBucket(GcsLocation.parse("gs://nba-scraped-data/courtside"))
        registry = load_registry()

        from_gcs: DayReport = asyncio.run(read_day(GcsReader(bucket), registry, DAY))
        from_folder: DayReport = asyncio.run(read_day(FolderReader(landed), registry, DAY))

    assert from_gcs.to_dict() == from_folder.to_dict()
    assert GcsReader(bucket).where == "gs://nba-scraped-data/courtside"
