"""The work queue against the real Pub/Sub emulator: replayed backfills drained by worker processes.

`backfill --enqueue` publishes one scoreboard per day; `scrapers worker` processes (real OS
processes, one real redis-server as their shared ledger, one output folder) run them and publish
each scoreboard's 4 gamebooks back to the topic as messages of their own. One worker is SIGKILLed
midway. Then: every job ends `success` in the ledger exactly once, no document (nor PDF) landed
twice, no job was fetched after it succeeded, every landed document has exactly one `success`
completion, nothing is left on the subscription, and a second backfill of the same range sends
nothing (it replays from an empty fixtures folder: one request would be a replay miss).

The issue's proof (3 workers, 300 jobs) is marked slow (`make test-slow`); the default suite runs
the same checks with 2 workers and 20 jobs. Beside them: a job that keeps failing goes to the
dead-letter topic after COURTSIDE_JOBS_MAX_ATTEMPTS failed runs and shows as such in the ledger,
`backfill status` and the worker's /metrics; and the service's push route, as a real `scrapers
serve` process behind a real push subscription, runs the same messages exactly once per job key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.cli import main
from scrapers.core.clock import FrozenClock
from scrapers.core.registry import load_registry
from scrapers.pipeline.queue import JOB_RESULTS, JobMessage
from scrapers.pipeline.runner import prepare
from tests.conftest import PROJECT_ROOT
from tests.harness.replay_days import FIRST_DAY, days, write_days
from tests.harness.work_queue import (
    PROJECT,
    create_queue,
    drain_with_workers,
    ledger_entries,
    metrics_url,
    new_queue,
    pull_all,
    queue_env,
    run_summaries,
    sample,
    scrape_metrics,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:The return_immediately flag is deprecated"),
]

GAMES = 4
LEDGER = ("nbac_scoreboard_v2", "nbac_gamebook_pdf")
DEADLINE_SECONDS = 120.0


def _drained_exactly_once(
    pubsub_host: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    day_count: int,
    workers: int,
    kill_after_runs: int,
) -> None:
    """The issue's proof at any size: enqueue, drain with `workers` (the first SIGKILLed once
    `kill_after_runs` runs ended), check every job once, and that a second backfill sends nothing."""
    jobs = day_count * (1 + GAMES)
    queue = create_queue(pubsub_host)
    env = queue_env(pubsub_host, redis_url, queue)
    fixtures, out = tmp_path / "fixtures", tmp_path / "out"
    games = write_days(fixtures, day_count, GAMES)
    span = f"{days(day_count)[0]}..{days(day_count)[-1]}"
    common = ["--replay", str(fixtures), "--out", str(out)]

    def enqueue() -> None:
        enqueued = _cli(
            monkeypatch,
            capsys,
            env,
            "backfill",
            "nbac_scoreboard_v2",
            "--game_date",
            span,
            "--enqueue",
            *common,
        )
        assert enqueued.returncode == 0, enqueued.stderr
        assert f"enqueued {day_count} jobs" in enqueued.stdout

    drained = drain_with_workers(
        env,
        common,
        out,
        tmp_path,
        jobs=jobs,
        scrapers_in_ledger=LEDGER,
        workers=workers,
        kill_after_runs=kill_after_runs,
        deadline_seconds=max(DEADLINE_SECONDS, jobs * 2.0),
        enqueue=enqueue,  # while the workers start
    )
    transcript, entries = drained.transcript, drained.entries
    assert drained.exit_codes == [0] * (workers - 1), transcript

    # Every job: exactly one terminal status in the ledger, success.
    assert len(entries) == jobs, transcript
    assert Counter(entry.status for entry in entries.values()) == Counter({"success": jobs}), transcript

    # Nothing landed twice: one scoreboard per day, one gamebook and one PDF per game, each job's
    # ledger entry naming its own (a gamebook's document and its PDF).
    scoreboards = sorted((out / "nba-com" / "scoreboard-v2").rglob("*.json"))
    assert sorted(path.parent.name for path in scoreboards) == sorted(str(day) for day in days(day_count))
    codes = Counter({game.code.replace("/", "-"): 1 for game in games})
    assert Counter(path.parent.name for path in (out / "nba-com" / "gamebooks-data").rglob("*.json")) == codes
    assert Counter(path.parent.name for path in (out / "nba-com" / "gamebooks-pdf").rglob("*.pdf")) == codes
    for entry in entries.values():
        kinds = sorted(Path(path).suffix for path in entry.landed)
        assert kinds == ([".json", ".pdf"] if entry.scraper == "nbac_gamebook_pdf" else [".json"]), entry

    # No job fetched after it succeeded: each job's runs end with its one success. (A run the kill
    # cut short after its landing wrote no summary: the next claimant settled it from what landed.)
    runs_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in run_summaries(out):
        runs_of[f"{run['scraper']}:{json.dumps(run['options'], sort_keys=True)}"].append(run)
    assert len(runs_of) <= jobs
    for job, runs in runs_of.items():
        runs.sort(key=lambda run: run["started_at"])
        assert [run["status"] for run in runs].count("success") <= 1, (job, runs)
        assert runs[-1]["status"] == "success" or all(run["status"] != "success" for run in runs), (job, runs)

    # The killed worker's completions are settled by what landed: one success per document.
    swept = _cli(monkeypatch, capsys, env, "republish", "--older-than", "0", "--out", str(out))
    assert swept.returncode == 0, swept.stderr
    completions = [
        json.loads(line) for line in (out / "_events" / "completions.jsonl").read_text().splitlines()
    ]
    successes = Counter(c["metadata"]["gcs_path"] for c in completions if c["status"] == "success")
    assert len(successes) == jobs
    assert set(successes.values()) == {1}

    # Every message was acknowledged: nothing is left to redeliver, nothing was dead-lettered.
    assert pull_all(pubsub_host, queue.subscription) == []
    assert pull_all(pubsub_host, queue.dead_subscription) == []

    # The survivors' /metrics count every message they answered, by what became of it.
    for exposition, handled in zip(drained.metrics, drained.handled[1:], strict=True):
        counted = sum(sample(exposition, "scraper_queue_jobs_total", result=result) for result in JOB_RESULTS)
        assert counted == handled, exposition

    # A second backfill of the range finds every job done and sends nothing.
    before = len(run_summaries(out))
    empty = tmp_path / "no-recordings"
    empty.mkdir()
    again = _cli(
        monkeypatch,
        capsys,
        env,
        *("backfill", "nbac_scoreboard_v2", "--game_date", span, "--replay", str(empty), "--out", str(out)),
    )
    assert again.returncode == 0, again.stderr
    assert f"0 ran (0 failed), {jobs} already done (nothing sent)" in again.stdout
    assert len(run_summaries(out)) == before


def test_two_workers_drain_20_jobs_exactly_once_per_job_through_a_kill(
    pubsub_host: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _drained_exactly_once(
        pubsub_host, redis_url, tmp_path, monkeypatch, capsys, day_count=4, workers=2, kill_after_runs=6
    )


@pytest.mark.slow
def test_three_workers_drain_300_jobs_exactly_once_per_job_through_a_kill(
    pubsub_host: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _drained_exactly_once(
        pubsub_host, redis_url, tmp_path, monkeypatch, capsys, day_count=60, workers=3, kill_after_runs=90
    )


# ------------------------------------------------------------------------------ dead letters

MAX_ATTEMPTS = 2


def _blocked_landing(out: Path, day: str) -> None:
    """A file where the day's scoreboard folder goes: every landing of that day fails `landing`
    (our own storage: a failure a later try may get past), at once, without upstream retries."""
    folder = out / "nba-com" / "scoreboard-v2"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / day).write_text("not a folder\n")


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """`scrapers ARGS` in this process (no interpreter start), the environment as `env` says."""
    for name in [name for name in os.environ if name.startswith("COURTSIDE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)


def test_a_job_that_keeps_failing_goes_to_the_dead_letter_topic_and_shows_as_such(
    pubsub_host: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue = create_queue(pubsub_host)
    env = {**queue_env(pubsub_host, redis_url, queue), "COURTSIDE_JOBS_MAX_ATTEMPTS": str(MAX_ATTEMPTS)}
    fixtures, out = tmp_path / "fixtures", tmp_path / "out"
    write_days(fixtures, 1, 1)
    day = str(FIRST_DAY)
    _blocked_landing(out, day)
    common = ["--replay", str(fixtures), "--out", str(out)]
    enqueued = _cli(
        monkeypatch, capsys, env, "enqueue", "nbac_scoreboard_v2", "--game_date", day, "--no-fan-out"
    )
    assert enqueued.returncode == 0, enqueued.stderr

    log = tmp_path / "worker.log"
    with log.open("w") as handle:
        worker = subprocess.Popen(
            [sys.executable, "-m", "scrapers", "worker", "--concurrency", "1", "--port", "0", *common],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        dead: list[Any] = []
        while not dead and worker.poll() is None and time.monotonic() < deadline:
            dead = pull_all(pubsub_host, queue.dead_subscription)
            time.sleep(0.25)  # polling the worker's progress, not a delay
        assert len(dead) == 1, log.read_text()[-3000:]
        exposition = scrape_metrics(log)
        assert metrics_url(log) is not None
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]

    # On the dead-letter topic: the job's own message, with why and after how many failures.
    message = dead[0].message
    body = json.loads(message.data)
    assert (body["scraper"], body["options"]) == ("nbac_scoreboard_v2", {"game_date": day})
    assert (message.attributes["failure_class"], message.attributes["attempts"]) == ("landing", "2")
    # It ran exactly MAX_ATTEMPTS times, and was then acked: nothing is left to redeliver.
    assert [run["status"] for run in run_summaries(out)] == ["failed"] * MAX_ATTEMPTS
    assert pull_all(pubsub_host, queue.subscription) == []

    # The ledger says so, and so do `backfill status` and the worker's metrics.
    (entry,) = ledger_entries(redis_url, out, ["nbac_scoreboard_v2"]).values()
    assert (entry.status, entry.failure_class, entry.attempts) == ("failed", "landing", MAX_ATTEMPTS)
    assert entry.dead_letter is not None
    assert entry.dead_letter["topic"].endswith(f"topics/{queue.dead_topic}")
    assert entry.dead_letter["message_id"] == message.attributes["message_id"]
    status = _cli(
        monkeypatch, capsys, env, "backfill", "status", "nbac_scoreboard_v2", "--game_date", day, *common
    )
    assert status.returncode == 0, status.stderr
    assert "done 0 · failed 0 (0 retryable) · dead-lettered 1 · running 0 · pending 0" in status.stdout
    assert f"dead-lettered: --game_date {day} (landing, 2 attempts; on " in status.stdout
    assert sample(exposition, "scraper_queue_jobs_total", result="dead_lettered") == 1
    assert sample(exposition, "scraper_queue_jobs_total", result="ran") == MAX_ATTEMPTS - 1
    assert sample(exposition, "scraper_queue_answers_total", answer="nack") == MAX_ATTEMPTS - 1


# ------------------------------------------------------------------------------ the push route

PUSH_DAYS, PUSH_GAMES = 2, 2
FORCE = "force-push-test"


class ServiceProcess:
    """`scrapers serve` on a free loopback port, its JSON log lines in a file."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.log = log
        with log.open("w") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scrapers", "serve", "--host", "127.0.0.1", "--port", "0", *args],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self.url = ""
        _until(lambda: self.process.poll() is not None or self._listening(), "the service starts", log)
        assert self.url, log.read_text()[-3000:]

    def _listening(self) -> bool:
        for entry in self.lines():
            if str(entry.get("message", "")).startswith("listening on"):
                self.url = str(entry["url"])
        return bool(self.url)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as answer:
            return str(answer.read().decode("utf-8"))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def _until(check: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"{what}: {log.read_text()[-3000:]}"
        time.sleep(0.1)  # polling a real process's progress, not a delay


def _publish(emulator: str, topic: str, message: JobMessage) -> None:
    from google.cloud import pubsub_v1

    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator
    publisher = pubsub_v1.PublisherClient()
    try:
        path = publisher.topic_path(PROJECT, topic)
        publisher.publish(path, message.to_bytes(), **message.attributes()).result(timeout=30)
    finally:
        publisher.stop()
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


def test_the_push_route_runs_job_messages_through_the_same_claim_exactly_once_per_key(
    pubsub_host: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real `scrapers serve` behind a real push subscription on the jobs topic: a backfill
    enqueued there runs once per job (children come back as messages), a duplicate message and a
    redelivered forced one are acknowledged without a run, a `--force` message runs its done jobs
    once more, and a job that keeps failing is answered 503, then moved to the dead-letter topic."""
    queue = new_queue()
    env = {
        **queue_env(pubsub_host, redis_url, queue),
        "COURTSIDE_JOBS_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "COURTSIDE_LOG_FORMAT": "json",
    }
    fixtures, out = tmp_path / "fixtures", tmp_path / "out"
    games = write_days(fixtures, PUSH_DAYS + 1, PUSH_GAMES)[: PUSH_DAYS * PUSH_GAMES]
    first, last = days(PUSH_DAYS)[0], days(PUSH_DAYS)[-1]
    failing = str(days(PUSH_DAYS + 1)[-1])
    _blocked_landing(out, failing)
    common = ["--replay", str(fixtures), "--out", str(out)]
    jobs = PUSH_DAYS * (1 + PUSH_GAMES)
    registry, clock = load_registry(), FrozenClock(datetime(2024, 3, 1, tzinfo=UTC))
    scoreboard = prepare(registry, "nbac_scoreboard_v2", {"game_date": str(first)}, clock)

    service = ServiceProcess(env, common, tmp_path / "service.log")
    try:
        create_queue(pubsub_host, queue, push_endpoint=f"{service.url}/pubsub/push")
        enqueued = _cli(
            monkeypatch,
            capsys,
            env,
            *("backfill", "nbac_scoreboard_v2", "--game_date", f"{first}..{last}", "--enqueue", *common),
        )
        assert enqueued.returncode == 0, enqueued.stderr
        # The same job once more, as a second message: acknowledged without a run.
        _publish(pubsub_host, queue.topic, JobMessage.of(scoreboard, fan_out=True))
        failed = _cli(
            monkeypatch, capsys, env, "enqueue", "nbac_scoreboard_v2", "--game_date", failing, "--no-fan-out"
        )
        assert failed.returncode == 0, failed.stderr

        def entries() -> dict[str, Any]:
            return ledger_entries(redis_url, out, LEDGER)

        _until(
            lambda: (
                sum(entry.done for entry in entries().values()) == jobs
                and any(entry.dead_letter for entry in entries().values())
            ),
            "every job done and the failing one dead-lettered",
            service.log,
        )
        # A --force pass over the first day, its message delivered twice (two messages, one token):
        # the day's jobs run once more, once.
        for _ in range(2):
            _publish(pubsub_host, queue.topic, JobMessage.of(scoreboard, fan_out=True, force=FORCE))
        day_one = [key for key, entry in entries().items() if _day(entry.options) == str(first)]
        assert len(day_one) == 1 + PUSH_GAMES
        repeated = 2 * (1 + PUSH_GAMES)  # the duplicate, the second forced message, their children
        _until(
            lambda: (
                all(entries()[key].force == FORCE for key in day_one)
                and sample(service.metrics(), "scraper_queue_jobs_total", result="done_already") == repeated
            ),
            "the forced day run again and every repeated message acknowledged",
            service.log,
        )
        exposition = service.metrics()
    finally:
        code = service.stop()
    assert code == 0, service.log.read_text()[-3000:]

    # Runs: the second day's jobs once, the first day's twice (the --force pass), the failing job
    # MAX_ATTEMPTS times; all the others succeeded.
    runs: dict[str, list[str]] = defaultdict(list)
    for run in run_summaries(out):
        runs[_day(run["options"]) + " " + json.dumps(run["options"], sort_keys=True)].append(run["status"])
    expected = {
        **{key: ["success", "success"] for key in runs if key.startswith(str(first))},
        **{key: ["success"] for key in runs if key.startswith(str(last))},
        **{key: ["failed"] * MAX_ATTEMPTS for key in runs if key.startswith(failing)},
    }
    assert runs == expected
    assert len(runs) == jobs + 1
    # One document and one PDF per run, never more: the forced pass landed the first day's again
    # (a --force run fetches and lands a new version, as any run at another second does).
    landed = Counter({game.code.replace("/", "-"): 2 if game.day == first else 1 for game in games})
    assert (
        Counter(path.parent.name for path in (out / "nba-com" / "gamebooks-data").rglob("*.json")) == landed
    )
    assert Counter(path.parent.name for path in (out / "nba-com" / "gamebooks-pdf").rglob("*.pdf")) == landed

    # The failing job: answered 503 (redelivered) until its MAX_ATTEMPTS-th failure, then 200 and
    # moved to the dead-letter topic; the ledger and the service's metrics say so.
    answers = [
        entry["status"]
        for entry in service.lines()
        if str(entry.get("message", "")).startswith("Pub/Sub message")
        and f"game_date={failing}" in entry["message"]
    ]
    assert answers == [503] * (MAX_ATTEMPTS - 1) + [200]
    (dead,) = pull_all(pubsub_host, queue.dead_subscription)
    assert json.loads(dead.message.data)["options"] == {"game_date": failing}
    assert sample(exposition, "scraper_queue_jobs_total", result="dead_lettered") == 1
    # Every message that came: a run (each job, the failing one's first try, the forced day), done
    # already (the repeats), dead-lettered (the failing one's last try).
    assert (
        sample(exposition, "scraper_queue_jobs_total", result="ran")
        == jobs + MAX_ATTEMPTS - 1 + 1 + PUSH_GAMES
    )
    assert sample(exposition, "scraper_queue_jobs_total", result="done_already") == repeated


def _day(options: Mapping[str, Any]) -> str:
    """The game day a scoreboard or gamebook job is about."""
    if "game_date" in options:
        return str(options["game_date"])
    code = str(options["game_code"])
    return f"{code[:4]}-{code[4:6]}-{code[6:8]}"
