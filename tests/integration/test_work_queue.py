"""The work queue against the real Pub/Sub emulator: a replayed backfill drained by worker processes.

`backfill --enqueue` publishes 12 scoreboards; three `scrapers worker` processes (real OS processes,
one real redis-server as their shared ledger, one output folder) run them and publish each
scoreboard's 4 gamebooks back to the topic as messages of their own: 60 jobs. One worker is
SIGKILLed midway. Then: every job ends `success` in the ledger exactly once, no document landed
twice, no job was fetched after it succeeded, every landed document has exactly one `success`
completion, nothing is left on the subscription, and a second backfill of the same range sends
nothing (it replays from an empty fixtures folder: one request would be a replay miss).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1

from tests.harness.replay_days import days, write_days
from tests.harness.work_queue import (
    PROJECT,
    create_queue,
    drain_with_workers,
    queue_env,
    run_summaries,
    scrapers,
)

pytestmark = pytest.mark.integration

DAYS, GAMES = 12, 4
JOBS = DAYS * (1 + GAMES)
WORKERS = 3
KILL_AFTER_RUNS = 18  # of 60: the first worker dies with runs of its own in flight


@pytest.mark.filterwarnings("ignore:The return_immediately flag is deprecated")
def test_three_workers_drain_a_replayed_backfill_exactly_once_per_job_through_a_kill(
    pubsub_host: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, subscription = create_queue(pubsub_host)
    env = queue_env(pubsub_host, redis_url, topic, subscription)
    fixtures, out = tmp_path / "fixtures", tmp_path / "out"
    games = write_days(fixtures, DAYS, GAMES)
    span = f"{days(DAYS)[0]}..{days(DAYS)[-1]}"
    common = ["--replay", str(fixtures), "--out", str(out)]

    enqueued = scrapers(env, "backfill", "nbac_scoreboard_v2", "--game_date", span, "--enqueue", *common)
    assert enqueued.returncode == 0, enqueued.stderr
    assert f"enqueued {DAYS} jobs" in enqueued.stdout

    drained = drain_with_workers(
        env,
        common,
        out,
        tmp_path,
        jobs=JOBS,
        scrapers_in_ledger=("nbac_scoreboard_v2", "nbac_gamebook_pdf"),
        workers=WORKERS,
        kill_after_runs=KILL_AFTER_RUNS,
    )
    transcript, entries = drained.transcript, drained.entries
    assert drained.exit_codes == [0] * (WORKERS - 1), transcript

    # Every job: exactly one terminal status in the ledger, success.
    assert len(entries) == JOBS, transcript
    assert Counter(entry.status for entry in entries.values()) == Counter({"success": JOBS}), transcript

    # No document landed twice: one scoreboard per day, one gamebook (and its PDF) per game.
    scoreboards = sorted((out / "nba-com" / "scoreboard-v2").rglob("*.json"))
    assert sorted(path.parent.name for path in scoreboards) == sorted(str(day) for day in days(DAYS))
    gamebooks = Counter(path.parent.name for path in (out / "nba-com" / "gamebooks-data").rglob("*.json"))
    assert gamebooks == Counter({game.code.replace("/", "-"): 1 for game in games})
    pdfs = Counter(path.parent.name for path in (out / "nba-com").rglob("*.pdf"))
    assert set(pdfs.values()) == {1}

    # No job fetched after it succeeded: each job's runs end with its one success.
    runs_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in run_summaries(out):
        runs_of[f"{run['scraper']}:{json.dumps(run['options'], sort_keys=True)}"].append(run)
    assert len(runs_of) <= JOBS
    for job, runs in runs_of.items():
        runs.sort(key=lambda run: run["started_at"])
        assert [run["status"] for run in runs].count("success") <= 1, (job, runs)
        assert runs[-1]["status"] == "success" or all(run["status"] != "success" for run in runs), (job, runs)

    # The killed worker's completions are settled by what landed: one success per document.
    swept = scrapers(env, "republish", "--older-than", "0", "--out", str(out))
    assert swept.returncode == 0, swept.stderr
    completions = [
        json.loads(line) for line in (out / "_events" / "completions.jsonl").read_text().splitlines()
    ]
    successes = Counter(c["metadata"]["gcs_path"] for c in completions if c["status"] == "success")
    assert len(successes) == JOBS
    assert set(successes.values()) == {1}

    # Every message was acknowledged: nothing is left to redeliver.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    subscriber = pubsub_v1.SubscriberClient()
    try:
        path = subscriber.subscription_path(PROJECT, subscription)
        left = subscriber.pull(request={"subscription": path, "max_messages": 10, "return_immediately": True})
        assert list(left.received_messages) == []
    finally:
        subscriber.close()

    # A second backfill of the range finds every job done and sends nothing.
    before = len(run_summaries(out))
    empty = tmp_path / "no-recordings"
    empty.mkdir()
    again = scrapers(
        env, "backfill", "nbac_scoreboard_v2", "--game_date", span, "--replay", str(empty), "--out", str(out)
    )
    assert again.returncode == 0, again.stderr
    assert f"0 ran (0 failed), {JOBS} already done (nothing sent)" in again.stdout
    assert len(run_summaries(out)) == before
