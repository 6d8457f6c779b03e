"""`scrapers backfill` as a user runs it: real processes, a real SQLite ledger, replayed game days.

A local backfill killed (SIGKILL) at random points and run again until it finishes lands exactly
what an uninterrupted one lands; a season backfill reads the landed schedule; `--dry-run` prices
The Odds API credits against the remaining quota before anything is sent; `backfill status` says
what is left.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proxy.state import open_store
from scrapers.cli import main
from scrapers.http.quota import QUOTA_NAMESPACE
from tests.conftest import PROJECT_ROOT
from tests.harness.replay_days import days, write_days

pytestmark = pytest.mark.integration

DAYS, GAMES = 6, 4
JOBS = DAYS * (1 + GAMES)
FROZEN = "2024-03-01T12:00:00Z"  # landing names are the same in every run: outputs compare byte for byte
KILLS = 3
SEED = 18


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    return {**env, "COURTSIDE_STATE": f"sqlite:{state}", "COURTSIDE_CLAIM_SECONDS": "2"}


def _backfill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", "backfill", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """`scrapers ARGS` in this process (no interpreter start): the environment as `env` says."""
    for name in [
        name for name in os.environ if name.startswith(("COURTSIDE_", "CLOUD_RUN_", "JOB_COMPLETION"))
    ]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)


def _runs(out: Path) -> int:
    return sum(1 for _ in (out / "_runs").rglob("*.json")) if out.exists() else 0


def _landed(out: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file()
        and not path.relative_to(out).parts[0].startswith("_")
        and not path.name.startswith(".")
    }


def test_a_backfill_killed_at_random_points_resumes_to_what_an_uninterrupted_one_lands(
    tmp_path: Path,
) -> None:
    fixtures = tmp_path / "fixtures"
    write_days(fixtures, DAYS, GAMES)
    span = f"{days(DAYS)[0]}..{days(DAYS)[-1]}"
    argv = ["nbac_scoreboard_v2", "--game_date", span, "--replay", str(fixtures), "--at", FROZEN]

    whole = tmp_path / "whole"
    done = _backfill(_env(tmp_path / "whole.sqlite"), *argv, "--out", str(whole))
    assert done.returncode == 0, done.stderr
    assert f"backfill: {JOBS} ran (0 failed), 0 already done" in done.stdout

    resumed, env = tmp_path / "resumed", _env(tmp_path / "resumed.sqlite")
    rng = random.Random(SEED)
    kills = 0
    for _ in range(KILLS):
        started = _runs(resumed)
        target = started + rng.randint(1, 8)
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapers", "backfill", *argv, "--out", str(resumed)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while _runs(resumed) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # polling the backfill's progress, not a delay
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
    assert kills >= 2, "the backfill finished before it could be interrupted"
    last = _backfill(env, *argv, "--out", str(resumed))
    assert last.returncode == 0, last.stderr
    assert "0 failed" in last.stdout

    documents = {name: data for name, data in _landed(whole).items() if name.endswith(".json")}
    assert len(documents) == JOBS
    assert {name: data for name, data in _landed(resumed).items() if name.endswith(".json")} == documents
    # A kill between a gamebook document and its PDF leaves that PDF missing (the delivery
    # protocol settles the run by its document; fetching again would land the document twice):
    # never a PDF the uninterrupted backfill does not land, nor a different one.
    pdfs = {name: data for name, data in _landed(resumed).items() if name.endswith(".pdf")}
    assert pdfs.items() <= _landed(whole).items()
    status = _backfill(env, "status", "nbac_gamebook_pdf", "--out", str(resumed), "--replay")
    assert f"done {DAYS * GAMES} · failed 0 (0 retryable) · running 0 · pending 0" in status.stdout
    # And once more: nothing is left, so nothing is sent (no recordings to replay at all).
    empty = tmp_path / "empty"
    empty.mkdir()
    again = _backfill(
        env, "nbac_scoreboard_v2", "--game_date", span, "--replay", str(empty), "--out", str(resumed)
    )
    assert again.returncode == 0, again.stderr
    assert f"0 ran (0 failed), {JOBS} already done (nothing sent)" in again.stdout


def test_a_season_backfill_reads_the_landed_schedule_or_says_how_to_land_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures, out, env = tmp_path / "fixtures", tmp_path / "out", _env(tmp_path / "state.sqlite")

    def scrapers(*args: str) -> subprocess.CompletedProcess[str]:
        return _in_process(monkeypatch, capsys, env, *args)

    games = write_days(fixtures, 3, 2)
    common = ["--replay", str(fixtures), "--out", str(out)]

    missing = scrapers("backfill", "nbac_gamebook_pdf", "--season", "2023-24", *common)
    assert missing.returncode == 2
    assert f"scrapers run nbac_schedule_api --season 2023-24 --out {out}" in missing.stderr

    landed = scrapers("run", "nbac_schedule_api", "--season", "2023-24", *common)
    assert landed.returncode == 0, landed.stderr
    planned = scrapers("backfill", "nbac_gamebook_pdf", "--season", "2023-24", "--dry-run", *common)
    assert planned.returncode == 0, planned.stderr
    assert f"nbac_gamebook_pdf: {len(games)} jobs ({len(games)} games of 2023-24" in planned.stdout
    ran = scrapers("backfill", "nbac_gamebook_pdf", "--season", "2023-24", *common)
    assert ran.returncode == 0, ran.stderr
    books = sorted(path.parent.name for path in (out / "nba-com" / "gamebooks-data").rglob("*.json"))
    assert books == sorted(game.code.replace("/", "-") for game in games)


def test_a_dry_run_prices_the_credits_against_the_remaining_quota_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.sqlite"
    env = {**_env(state), "ODDS_API_KEY": "dry-run-key"}

    async def remember(remaining: float) -> None:
        store = open_store(f"sqlite:{state}")
        try:
            await store.put(QUOTA_NAMESPACE, "api.the-odds-api.com", {"remaining": remaining, "used": 1.0})
        finally:
            await store.aclose()

    asyncio.run(remember(530.0))
    args = [
        "backfill",
        "oddsa_player_props_his",
        "--event_id",
        "4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9,9d3b7a1e5c2f48d6b0e4a7c9f1d3b5a8,71f5d9b3e7a24c6880d2f4b6a8c0e3d5",
        "--game_date",
        "2024-01-10..2024-01-11",
        "--snapshot_timestamp",
        "2024-01-15T23:00:00Z",
        "--markets",
        "player_points,player_assists",
        "--dry-run",
        "--out",
        str(tmp_path / "out"),
    ]
    priced = _in_process(monkeypatch, capsys, env, *args)
    assert priced.returncode == 0, priced.stderr
    lines = priced.stdout.splitlines()
    assert lines[0].startswith("oddsa_player_props_his: 6 jobs into ")
    assert lines[0].endswith("0 done already (ledger), 6 to run")
    assert "upstream requests: at least 6" in priced.stdout
    # 6 jobs x 10 (historical) x 2 markets x 2 region units (12 bookmakers bill as two regions),
    # each job's own quota_cost; 530 left and the registry's reserve of 500.
    assert "api.the-odds-api.com: 240 credits; remaining 530, reserve 500 - DOES NOT FIT" in priced.stdout
    assert not (tmp_path / "out").exists(), "a dry run writes nothing"
    asyncio.run(remember(5000.0))
    assert "remaining 5000, reserve 500 - fits" in _in_process(monkeypatch, capsys, env, *args).stdout


def test_the_tasks_of_a_cloud_run_job_split_the_plan_between_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Task i of N plans the same jobs and takes job j when j % N == i: every job once, in all."""
    env = _env(tmp_path / "state.sqlite")
    counts = []
    for index in range(3):
        task = {**env, "CLOUD_RUN_TASK_INDEX": str(index), "CLOUD_RUN_TASK_COUNT": "3"}
        done = _in_process(
            monkeypatch,
            capsys,
            task,
            "backfill",
            "nbac_scoreboard_v2",
            "--game_date",
            "2024-01-01..2024-01-10",
            "--dry-run",
        )
        assert done.returncode == 0, done.stderr
        assert f"task {index} of 3 (CLOUD_RUN_TASK_INDEX={index}, CLOUD_RUN_TASK_COUNT=3)" in done.stderr
        counts.append(int(done.stdout.split(": ", 1)[1].split(" jobs", 1)[0]))
    assert counts == [4, 3, 3]
    refused = _in_process(
        monkeypatch,
        capsys,
        {**env, "JOB_COMPLETION_INDEX": "1"},
        *("backfill", "nbac_scoreboard_v2", "--game_date", "2024-01-01", "--dry-run"),
    )
    assert refused.returncode == 2
    assert "COURTSIDE_TASK_COUNT" in refused.stderr
