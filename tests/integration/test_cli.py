"""The CLI as a user drives it: exit codes, messages, replay landing, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scrapers.cli import main
from tests.conftest import PROJECT_ROOT


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_passes_on_the_committed_registry() -> None:
    # Through the installed console script, exactly as a user or CI would call it.
    completed = subprocess.run(
        [sys.executable, "-m", "scrapers", "check"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("ok:")


def test_list_shows_every_registered_scraper(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["list", "--json"], capsys)
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"nbac_scoreboard_v2", "bdl_games", "espn_scoreboard", "bp_events", "oddsa_events"} <= names


def test_missing_required_options_exit_2_naming_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _out, err = _run(["run", "oddsa_events", "--out", str(tmp_path)], capsys)
    assert code == 2
    assert "option 'game_date': is required and missing (example: 2024-01-15)" in err
    assert not any(tmp_path.iterdir()), "nothing may land or be published for invalid options"


def test_bad_date_names_option_problem_and_example(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(
        ["run", "nbac_scoreboard_v2", "--gamedate", "2024-02-30", "--out", str(tmp_path)], capsys
    )
    assert code == 2
    assert "option 'game_date'" in err
    assert "is not a date" in err
    assert "example: 2024-01-15" in err


def test_unknown_option_and_unknown_scraper_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(["run", "nbac_scoreboard_v2", "--gamedat", "2024-01-15", "--replay"], capsys)
    assert code == 2
    assert (
        "option 'gamedat': is not an option of this scraper (did you mean 'game_date'?) "
        "(its options: game_date)" in err
    )
    code, _, err = _run(["run", "nbac_scoreboard", "--replay"], capsys)
    assert code == 2
    assert "unknown scraper 'nbac_scoreboard'" in err
    assert "nbac_scoreboard_v2" in err


def test_replay_lands_the_expected_scoreboard(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, project_fixtures: Path
) -> None:
    code, out, err = _run(
        [
            "run",
            "nbac_scoreboard_v2",
            "--gamedate",
            "2024-01-15",
            "--replay",
            "--out",
            str(tmp_path),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "success"
    landed = [Path(p) for p in result["landed"]]
    assert len(landed) == 1
    assert landed[0].parent == tmp_path / "nba-com" / "scoreboard-v2" / "2024-01-15"
    assert landed[0].name.endswith(".json")
    assert len(landed[0].stem) == len("20240116_030000")
    document = json.loads(landed[0].read_text())
    expected = json.loads((project_fixtures / "expected" / "nbac_scoreboard_v2-2024-01-15.json").read_text())
    document.pop("timestamp")
    assert document == expected  # the old production document: no verdict, no wrapper
    assert result["record_count"] == len(expected["games"])


def test_replay_of_an_unrecorded_request_names_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(
        ["run", "nbac_scoreboard_v2", "--gamedate", "2023-06-01", "--replay", "--out", str(tmp_path)], capsys
    )
    assert code == 2
    assert "no recording for GET https://stats.nba.com/stats/scoreboardV2?" in err
    assert "GameDate=06%2F01%2F2023" in err


def test_empty_day_is_no_data_with_its_reason(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(
        ["run", "oddsa_events", "--game_date", "2024-02-16", "--replay", "--out", str(tmp_path), "--json"],
        capsys,
    )
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "no_data"
    assert result["record_count"] == 0
    assert result["no_data_reason"]
    assert result["attempts"]["by_outcome"] == {"ok": 1}


def test_demo_replays_every_job_of_the_plan_with_one_event_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = yaml.safe_load((PROJECT_ROOT / "tests" / "fixtures" / "demo.yaml").read_text(encoding="utf-8"))
    code, out, err = _run(["demo", "--out", str(tmp_path)], capsys)
    assert code == 0, out + err
    events = [
        json.loads(line) for line in (tmp_path / "_events" / "completions.jsonl").read_text().splitlines()
    ]
    assert sorted(e["processor_name"] for e in events) == sorted(job["scraper"] for job in plan["jobs"])
    sources = {path.parts[0] for path in (p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))}
    assert {"nba-com", "ball-dont-lie", "espn", "bettingpros", "odds-api"} <= sources
    # The fixtures add up (whole teams, contiguous periods), so every job's verdict is clean.
    for event in events:
        assert event["status"] == "success", event
        assert event["metadata"]["quality"]["status"] == "ok", event
        assert event["record_count"] > 0
        assert event["phase"] == "phase_1_scrapers"
        assert event["trigger_source"] == "replay"
        # The demo's clock is frozen the night after the game day, so undated scrapers land there too.
        assert event["game_date"] == "2024-01-15"
        assert Path(event["metadata"]["gcs_path"]).is_file()
        assert "/20240116_030000" in event["metadata"]["gcs_path"]


def test_second_demo_never_overwrites_and_reports_identical_documents_as_already_landed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _run(["demo", "--out", str(tmp_path)], capsys)[0] == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.*") if not p.name.startswith(".")}

    code, out, err = _run(["demo", "--out", str(tmp_path)], capsys)

    assert code == 0, out + err
    assert all(
        path.read_bytes() == data
        for path, data in before.items()
        if path.parts[len(tmp_path.parts)][0] != "_"
    )
    lines = (tmp_path / "_events" / "completions.jsonl").read_text().splitlines()
    second = [json.loads(line) for line in lines[len(lines) // 2 :]]
    for event in second:
        landed = Path(event["metadata"]["gcs_path"])
        # Same bytes: reported already landed. Different bytes (documents that carry their run id,
        # like the injury report's metadata): beside it with the run's id, never the old file.
        assert event["metadata"]["already_landed"] == (landed in before), landed
    assert sum(event["metadata"]["already_landed"] for event in second) >= len(second) - 3


def test_bare_flag_without_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "nbac_scoreboard_v2", "--gamedate"], capsys)
    assert code == 2
    assert "option 'gamedate': has no value" in err


def test_cross_option_problem_exits_2_before_any_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(
        [
            "run",
            "bdl_games",
            "--startDate",
            "2024-01-16",
            "--endDate",
            "2024-01-15",
            "--replay",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 2
    assert "option 'end_date': 2024-01-15 is before start_date 2024-01-16" in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_unusable_state_store_setting_exits_2_with_examples(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURTSIDE_STATE", str(tmp_path / "state.sqlite"))  # a path without sqlite:
    code, _, err = _run(
        ["run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--out", str(tmp_path / "out")], capsys
    )
    assert code == 2
    assert "COURTSIDE_STATE" in err
    assert "unknown scheme" in err
    assert "sqlite:.courtside/state.sqlite" in err
    assert not (tmp_path / "out").exists()


def test_proxy_credentials_without_user_exit_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxies = tmp_path / "proxies.yaml"
    proxies.write_text(
        "tiers:\n  - name: datacenter\n    proxies:\n"
        "      - {name: dc1, url: 'http://127.0.0.1:9', credentials_env: DC_CREDS}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COURTSIDE_PROXIES_FILE", str(proxies))
    monkeypatch.setenv("COURTSIDE_STATE", "memory")
    monkeypatch.setenv("DC_CREDS", "only-a-password")
    code, _, err = _run(
        ["run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--out", str(tmp_path / "out")], capsys
    )
    assert code == 2, err
    assert "DC_CREDS" in err
    assert "user:password" in err
    assert "only-a-password" not in err


def test_a_reader_that_goes_away_is_not_an_internal_error() -> None:
    # `scrapers list | head -0`: the reading end is closed before the CLI (still importing) prints.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "scrapers", "list"],
            cwd=PROJECT_ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(write_end)
    assert b"internal error" not in completed.stderr
    assert completed.returncode == 141
