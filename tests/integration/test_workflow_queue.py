"""With COURTSIDE_JOBS_TOPIC set, a tick publishes the due jobs to the jobs topic (the Pub/Sub
emulator) instead of running them, once per window, each message naming its workflow and, for a
snapshot, the window's force token (so a worker fetches it again once, never twice)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from scrapers.cli import main
from tests.harness.work_queue import PROJECT, create_queue, pull_all
from tests.workflows.season import WORKFLOWS, A, build, eastern

pytestmark = pytest.mark.integration


def _tick(*argv: str) -> list[dict[str, Any]]:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(["tick", *argv, "--json"])
    assert code == 0
    decisions: list[dict[str, Any]] = json.loads(captured.getvalue())
    return decisions


def test_a_tick_enqueues_the_due_jobs_once_per_window(
    pubsub_host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = build(tmp_path / "recordings")["a_day"]
    out = str(tmp_path / "out")
    monkeypatch.setenv("COURTSIDE_STATE", f"sqlite:{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("COURTSIDE_WORKFLOWS", str(WORKFLOWS))
    monkeypatch.delenv("COURTSIDE_JOBS_TOPIC", raising=False)
    # The morning runs here (no topic yet): the schedule the later decisions read lands.
    _tick("--replay", str(folder), "--out", out, "--at", eastern(A, 7, 5))

    queue = create_queue(pubsub_host)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("COURTSIDE_JOBS_TOPIC", queue.topic)
    at = eastern(A, 11, 35)
    first = _tick("--out", out, "--at", at)
    again = _tick("--out", out, "--at", eastern(A, 11, 40))

    [lines] = [d for d in first if d["workflow"] == "betting_lines"]
    assert lines["decision"] == "run"
    assert lines["outcome"].startswith("2 enqueued on ")
    messages = [json.loads(received.message.data) for received in pull_all(pubsub_host, queue.subscription)]
    assert sorted(
        (m["scraper"], m["options"]["game_date"], m.get("fan_out"), m["force"], m["workflow"], m["trigger"])
        for m in messages
    ) == [
        (
            "bp_events",
            "2024-01-15",
            ["bp_player_props"],
            "workflow:betting_lines:2024-01-15",
            "betting_lines",
            "tick",
        ),
        (
            "oddsa_events",
            "2024-01-15",
            ["oddsa_player_props"],
            "workflow:betting_lines:2024-01-15",
            "betting_lines",
            "tick",
        ),
    ]
    # The next tick in the same window publishes nothing.
    [later] = [d for d in again if d["workflow"] == "betting_lines"]
    assert later["decision"] == "nothing_due"
    assert "ran at 11:35 (2 jobs: 2 enqueued on " in later["reason"]
    assert pull_all(pubsub_host, queue.subscription) == []
