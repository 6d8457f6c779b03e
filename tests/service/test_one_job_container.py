"""The one-job container: `scrapers run NAME --opt ...` exits by class and names its Cloud Run task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scrapers.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PUBLISH_PENDING, EXIT_USAGE, main
from scrapers.core.outcome import Outcome

RUN = ["run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--replay", "--json"]


def test_every_failure_class_has_its_own_exit_code() -> None:
    classes = [outcome for outcome in Outcome if not outcome.is_clean]
    assert Outcome.LANDING in classes
    codes = [outcome.exit_code for outcome in classes]
    assert len(set(codes)) == len(codes)
    assert not set(codes) & {EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PUBLISH_PENDING}


def test_a_cloud_run_task_records_its_execution_in_the_completion_and_the_run_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOUD_RUN_EXECUTION", "courtside-nightly-x7k2p")
    monkeypatch.setenv("CLOUD_RUN_TASK_INDEX", "3")
    assert main([*RUN, "--out", str(tmp_path / "tagged")]) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    (line,) = (tmp_path / "tagged" / "_events" / "completions.jsonl").read_text().splitlines()
    metadata = json.loads(line)["metadata"]
    assert metadata["cloud_run_execution"] == "courtside-nightly-x7k2p"
    assert metadata["cloud_run_task_index"] == "3"
    assert "cloud_run_job" not in metadata, "only the variables that are set"
    summary = tmp_path / "tagged" / "_runs" / "nbac_scoreboard_v2" / f"{result['run_id']}.json"
    assert json.loads(summary.read_text())["cloud_run_execution"] == "courtside-nightly-x7k2p"

    monkeypatch.delenv("CLOUD_RUN_EXECUTION")
    monkeypatch.delenv("CLOUD_RUN_TASK_INDEX")
    assert main([*RUN, "--out", str(tmp_path / "plain")]) == EXIT_OK
    capsys.readouterr()
    (line,) = (tmp_path / "plain" / "_events" / "completions.jsonl").read_text().splitlines()
    assert not any(key.startswith("cloud_run") for key in json.loads(line)["metadata"])
