"""`scrapers backfill` as a user runs it: real processes, a real SQLite ledger, replayed game days.

A local backfill killed (SIGKILL) at random points and run again until it finishes lands exactly
what an uninterrupted one lands, PDFs included, and leaves the same ledger (three kills over 30 jobs
is marked slow; one kill over 8 jobs runs by default, beside each kill point set up as a dead run
leaves it); `--force` runs done jobs once more; a season backfill reads the landed schedule;
`--dry-run` prices The Odds API credits against the remaining quota before anything is sent;
`backfill status` says what is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from proxy.state import open_store
from scrapers.cli import main
from scrapers.core.clock import FrozenClock, utc_stamp
from scrapers.core.outcome import RunStatus
from scrapers.core.registry import load_registry
from scrapers.core.result import RunResult
from scrapers.http.quota import QUOTA_NAMESPACE
from scrapers.pipeline.ledger import JobId, Ledger, LedgerEntry
from scrapers.pipeline.runner import prepare
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


def _ledger(state: Path, out: Path) -> dict[str, tuple[str | None, frozenset[str]]]:
    """Every job's status and landed objects (relative to `out`) in the ledger of `out`."""

    async def read() -> dict[str, LedgerEntry]:
        store = open_store(f"sqlite:{state}")
        try:
            ledger = Ledger(store, str(out))
            return {**await ledger.entries("nbac_scoreboard_v2"), **await ledger.entries("nbac_gamebook_pdf")}
        finally:
            await store.aclose()

    root = str(out.resolve())
    return {
        key: (entry.status, frozenset(str(Path(path).relative_to(root)) for path in entry.landed))
        for key, entry in asyncio.run(read()).items()
    }


def _killed_and_resumed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    day_count: int,
    games: int,
    kills: int,
) -> None:
    """A backfill SIGKILLed `kills` times at random points, then run to its end, lands exactly what
    an uninterrupted one lands (every document and every PDF, byte for byte) and leaves the same
    ledger (each job's status and landed objects); a further run sends nothing."""
    jobs = day_count * (1 + games)
    fixtures = tmp_path / "fixtures"
    write_days(fixtures, day_count, games)
    span = f"{days(day_count)[0]}..{days(day_count)[-1]}"
    argv = ["nbac_scoreboard_v2", "--game_date", span, "--replay", str(fixtures), "--at", FROZEN]

    whole, whole_state = tmp_path / "whole", tmp_path / "whole.sqlite"
    done = _in_process(monkeypatch, capsys, _env(whole_state), "backfill", *argv, "--out", str(whole))
    assert done.returncode == 0, done.stderr
    assert f"backfill: {jobs} ran (0 failed), 0 already done" in done.stdout

    resumed, state = tmp_path / "resumed", tmp_path / "resumed.sqlite"
    env = _env(state)
    rng = random.Random(SEED)
    killed = 0
    for _ in range(kills):
        started = _runs(resumed)
        target = started + rng.randint(1, max(2, jobs // 3))
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
            killed += 1
        process.wait(timeout=30)
    assert killed == kills, "the backfill finished before it could be interrupted"
    last = _in_process(monkeypatch, capsys, env, "backfill", *argv, "--out", str(resumed))
    assert last.returncode == 0, last.stderr
    assert "0 failed" in last.stdout

    # Every object, documents and PDFs alike: the same names, the same bytes.
    landed = _landed(whole)
    assert len([name for name in landed if name.endswith(".json")]) == jobs
    assert len([name for name in landed if name.endswith(".pdf")]) == day_count * games
    assert _landed(resumed) == landed
    # The same ledger: every job done, naming the same objects.
    expected = _ledger(whole_state, whole)
    assert len(expected) == jobs
    assert {status for status, _ in expected.values()} == {"success"}
    assert _ledger(state, resumed) == expected
    status = _in_process(
        monkeypatch, capsys, env, "backfill", "status", "nbac_gamebook_pdf", "--out", str(resumed), "--replay"
    )
    assert f"done {day_count * games} · failed 0 (0 retryable) · dead-lettered 0 · running 0 · pending 0" in (
        status.stdout
    )
    # And once more: nothing is left, so nothing is sent (no recordings to replay at all).
    empty = tmp_path / "empty"
    empty.mkdir()
    again = _in_process(
        monkeypatch,
        capsys,
        env,
        *(
            "backfill",
            "nbac_scoreboard_v2",
            "--game_date",
            span,
            "--replay",
            str(empty),
            "--out",
            str(resumed),
        ),
    )
    assert again.returncode == 0, again.stderr
    assert f"0 ran (0 failed), {jobs} already done (nothing sent)" in again.stdout


def test_a_backfill_killed_at_a_random_point_resumes_to_what_an_uninterrupted_one_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _killed_and_resumed(tmp_path, monkeypatch, capsys, day_count=2, games=3, kills=1)


@pytest.mark.slow
def test_a_backfill_killed_at_random_points_resumes_to_what_an_uninterrupted_one_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _killed_and_resumed(tmp_path, monkeypatch, capsys, day_count=DAYS, games=GAMES, kills=KILLS)


T1, T2 = "2024-03-01T12:00:00Z", "2024-03-02T09:30:00Z"


def test_each_point_a_run_can_die_at_resumes_to_exactly_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a run killed at each point of its landing leaves, set up as the dead run left it (its
    landing intent in the ledger, an expired claim, the objects that landed), resumed a day later:

    - the PDF landed, its document not (the kill between the two): the document lands under the
      dead run's name beside the PDF it adopts, no second PDF;
    - both landed, the status not recorded: settled from what landed, nothing fetched;
    - nothing landed yet: a run like any other, under its own (later) names.
    """
    fixtures = tmp_path / "fixtures"
    games = write_days(fixtures, 1, 3)
    codes = ",".join(game.code for game in games)
    argv = ["nbac_gamebook_pdf", "--game_code", codes, "--replay", str(fixtures)]
    reference = tmp_path / "reference"
    done = _in_process(
        monkeypatch,
        capsys,
        _env(tmp_path / "ref.sqlite"),
        "backfill",
        *argv,
        "--at",
        T1,
        "--out",
        str(reference),
    )
    assert done.returncode == 0, done.stderr
    landed = _landed(reference)
    stamp = utc_stamp(datetime.fromisoformat(T1))
    objects = {
        game.code: sorted(name for name in landed if game.code.replace("/", "-") in name) for game in games
    }
    assert all(len(names) == 2 and all(stamp in name for name in names) for names in objects.values())

    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    pdf_only, both, nothing = games
    for game, kept in ((pdf_only, (".pdf",)), (both, (".json", ".pdf")), (nothing, ())):
        for name in objects[game.code]:
            if name.endswith(kept):
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                (out / name).write_bytes(landed[name])
    asyncio.run(_dead_runs(state, out, {game.code: objects[game.code] for game in games}, stamp))

    resumed = _in_process(monkeypatch, capsys, _env(state), "backfill", *argv, "--at", T2, "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert "backfill: 2 ran (0 failed), 1 already done (nothing sent)" in resumed.stdout

    later = utc_stamp(datetime.fromisoformat(T2))
    now = _landed(out)
    # The first two games: exactly the reference's objects, under the dead run's names; the PDF
    # adopted byte for byte, the settled game untouched. The third: its own names, a day later.
    for game in (pdf_only, both):
        mine = sorted(name for name in now if game.code.replace("/", "-") in name)
        assert mine == objects[game.code]
        pdf = next(name for name in mine if name.endswith(".pdf"))
        assert now[pdf] == landed[pdf]
    assert sorted(name for name in now if nothing.code.replace("/", "-") in name) == sorted(
        name.replace(stamp, later) for name in objects[nothing.code]
    )
    # Fetched: the PDF-only game once more (its document comes from the PDF) and the third; the
    # settled one never. Every job done, each naming exactly its own two objects.
    ran = sorted(
        json.loads(path.read_text())["options"]["game_code"] for path in (out / "_runs").rglob("*.json")
    )
    assert ran == sorted([pdf_only.code, nothing.code])
    ledger = _ledger(state, out)
    assert {status for status, _ in ledger.values()} == {"success"}
    assert {names for _, names in ledger.values()} == {
        frozenset(name for name in now if game.code.replace("/", "-") in name) for game in games
    }


async def _dead_runs(state: Path, out: Path, objects: dict[str, list[str]], stamp: str) -> None:
    """Each game's job as a run killed mid-landing leaves it: its claim (lapsed) and its intent."""
    registry, clock = load_registry(), FrozenClock(datetime.fromisoformat(T1))
    store = open_store(f"sqlite:{state}")
    try:
        ledger = Ledger(store, str(out))
        for code, names in objects.items():
            job = prepare(registry, "nbac_gamebook_pdf", {"game_code": code}, clock)
            ident = JobId.of(job)
            await ledger.claim(ident, "a-killed-backfill", 0.0)  # lapses at once
            intended = RunResult(
                run_id=f"dead{code[-6:].lower()}",
                scraper="nbac_gamebook_pdf",
                source="nbac",
                status=RunStatus.SUCCESS,
                record_count=19,
                options=job.option_texts(),
                game_date=f"{code[:4]}-{code[4:6]}-{code[6:8]}",
                started_at=T1,
                duration_seconds=0.1,
                attempts={},
            )
            document = next(name for name in names if name.endswith(".json"))
            await ledger.intend_landing(
                ident, intended, [document, *(n for n in names if n != document)], stamp
            )
    finally:
        await store.aclose()


def test_force_runs_done_jobs_once_more_and_says_so_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures, out, env = tmp_path / "fixtures", tmp_path / "out", _env(tmp_path / "state.sqlite")
    write_days(fixtures, 1, 2)
    argv = ["backfill", "nbac_scoreboard_v2", "--game_date", str(days(1)[0]), "--replay", str(fixtures)]
    argv += ["--out", str(out)]
    first = _in_process(monkeypatch, capsys, env, *argv)
    assert first.returncode == 0, first.stderr
    assert "backfill: 3 ran (0 failed), 0 already done" in first.stdout
    plain = _in_process(monkeypatch, capsys, env, *argv, "--dry-run")
    assert "1 done already (ledger), 0 to run" in plain.stdout
    # Without --force a done job is never fetched again; with it, every job (children too) once.
    priced = _in_process(monkeypatch, capsys, env, *argv, "--dry-run", "--force")
    assert "--force: done ones run again, 1 to run" in priced.stdout
    forced = _in_process(monkeypatch, capsys, env, *argv, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "backfill: 3 ran (0 failed), 0 already done" in forced.stdout
    assert _runs(out) == 6
    again = _in_process(monkeypatch, capsys, env, *argv)
    assert "backfill: 0 ran (0 failed), 3 already done (nothing sent)" in again.stdout
    assert _runs(out) == 6


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
