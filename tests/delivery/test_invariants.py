"""The delivery invariants under kills at random points, in real processes.

`scrapers demo` (40 replayed scrapers, 42 objects: 40 documents and 2 gamebook/injury PDFs) is
killed at a random moment of its run, then `scrapers republish` runs once. Whatever the moment:

- every landed object is named by exactly one delivered completion, and that completion says the
  run succeeded (a document without its completion, or with two, is the loss this prevents); the
  one exception is a PDF whose run was killed before its document landed (a job's document lands
  last, as its commit): it is named by no completion until the job's next run adopts it;
- no execution id is delivered twice, and every delivered line is valid JSON;
- a run has one terminal status: its summary (when it got to write one) agrees with its completion;
- nothing stays in the outbox but sent entries;
- after SIGTERM, every run the command admitted has its completion (SIGKILL cannot promise that
  for a run that had written nothing yet; it leaves no document either).

`make test` kills one round per signal (one SIGKILL on GCS), `make test-slow` many more. Kill
moments are drawn from a seeded generator (COURTSIDE_TEST_SEED to replay a failure; the seed is
in each assertion message). The delay before a kill is the fault being injected, not a wait for
something to happen: every outcome of it is a valid test case.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1, storage

from tests.conftest import PROJECT_ROOT

DEMO_RUNS = 40
STUCK_SECONDS = 120
POLL_SECONDS = 0.005
PROJECT = "courtside-test"


def _seed() -> int:
    return int(os.environ.get("COURTSIDE_TEST_SEED") or random.SystemRandom().randrange(1 << 30))


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    return {**base, "COURTSIDE_STATE": "memory", **extra}


def _scrapers(*argv: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *argv],
        cwd=PROJECT_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=STUCK_SECONDS,
        check=False,
    )


class Demo:
    """A `scrapers demo` process, and when its first run started recording its completion."""

    def __init__(self, out: str, env: Mapping[str, str], started: Callable[[], bool]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scrapers", "demo", "--out", out],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._started = started

    def wait_for_runs(self) -> float:
        """Polls the output until the first outbox entry exists; returns that moment."""
        deadline = time.monotonic() + STUCK_SECONDS
        while not self._started():
            assert self.process.poll() is None, "the demo ended before any run wrote its outbox entry"
            assert time.monotonic() < deadline, "no outbox entry within the limit"
            time.sleep(POLL_SECONDS)  # polling another process's progress, not a test delay
        return time.monotonic()

    def kill_after(self, delay: float, number: signal.Signals) -> int:
        try:
            self.process.wait(timeout=delay)  # the injected fault's moment; the demo may end first
        except subprocess.TimeoutExpired:
            self.process.send_signal(number)
        return self.process.wait(timeout=STUCK_SECONDS)


def run_phase(
    out: str, env: Mapping[str, str], started: Callable[[], bool], landed: Callable[[], int]
) -> float:
    """Seconds from the first run's outbox entry until every object has landed, uninterrupted:
    the window kills are drawn from (what follows, printing and closing, risks nothing)."""
    demo = Demo(out, env, started)
    first = demo.wait_for_runs()
    deadline = first + STUCK_SECONDS
    while landed() < DEMO_RUNS + 2:
        assert time.monotonic() < deadline, "the demo never landed everything"
        time.sleep(POLL_SECONDS)  # polling another process's progress, not a test delay
    phase = time.monotonic() - first
    assert demo.process.wait(timeout=STUCK_SECONDS) == 0
    return phase


@dataclass(frozen=True)
class Trail:
    """What one killed-and-swept output holds."""

    landed: set[str]  # object URIs outside the `_` folders
    completions: list[dict[str, Any]]
    summaries: dict[str, str]  # execution id -> status, from the run summaries
    outbox: Counter[str]  # entries per state (pending, claimed, sent)


def check(trail: Trail, context: str, may_repeat: Iterable[str] = ()) -> None:
    """`may_repeat`: executions the sweep named as possibly published before their owner died
    (Pub/Sub cannot be asked); only those may arrive twice, and then as the same message."""
    ids = Counter(message["execution_id"] for message in trail.completions)
    twice = sorted(run_id for run_id, count in ids.items() if count > 1 and run_id not in set(may_repeat))
    assert not twice, f"{context}: executions delivered twice: {twice}"
    unique: dict[str, dict[str, Any]] = {}
    for message in trail.completions:
        first = unique.setdefault(message["execution_id"], message)
        assert first["status"] == message["status"], f"{context}: two statuses for {message['execution_id']}"
    completions = list(unique.values())

    naming: dict[str, list[str]] = {}
    for message in completions:
        for path in message.get("metadata", {}).get("landed_paths", []):
            naming.setdefault(path, []).append(message["execution_id"])
            assert message["status"] != "failed", f"{context}: a failed completion names {path}"
    orphans = sorted(path for path in trail.landed - naming.keys() if not _uncommitted(path, trail.landed))
    assert not orphans, f"{context}: landed without a completion: {orphans}"
    doubled = {path: runs for path, runs in naming.items() if len(runs) > 1}
    assert not doubled, f"{context}: objects named by two completions: {doubled}"
    phantom = sorted(naming.keys() - trail.landed)
    assert not phantom, f"{context}: completions name objects that did not land: {phantom}"

    statuses = {message["execution_id"]: message["status"] for message in completions}
    disagree = {
        run_id: (status, statuses.get(run_id))
        for run_id, status in trail.summaries.items()
        if statuses.get(run_id) != status
    }
    assert not disagree, f"{context}: run summary and completion disagree (summary, completion): {disagree}"
    assert trail.outbox["pending"] == 0, f"{context}: outbox {trail.outbox}"
    assert trail.outbox["claimed"] == 0, f"{context}: outbox {trail.outbox}"
    assert trail.outbox["sent"] == len(completions), f"{context}: outbox {trail.outbox}"


def _uncommitted(path: str, landed: set[str]) -> bool:
    """A PDF whose run was killed before its document: the runner lands a job's document last, as
    its commit, so a PDF without the document of its landing (the same entity folder and timestamp)
    belongs to no completion yet. The job is not done in the ledger, and its next run adopts it
    (tests/integration/test_backfill.py)."""
    if not path.endswith(".pdf"):
        return False
    folder, stamp = path.rsplit("/", 2)[-2], path.rsplit("/", 1)[-1].removesuffix(".pdf")
    return not any(other.endswith(f"/{folder}/{stamp}.json") for other in landed if other.endswith(".json"))


# ---------------------------------------------------------------------------------------- local


def _local_landed(out: Path) -> set[str]:
    return {
        str(path)
        for path in out.rglob("*")
        if path.is_file()
        and not path.relative_to(out).parts[0].startswith("_")
        and not path.name.startswith(".")  # a temporary file of a write the kill interrupted
    }


def _local_trail(out: Path) -> Trail:
    events = out / "_events" / "completions.jsonl"
    lines = events.read_text().splitlines() if events.exists() else []
    completions = [json.loads(line) for line in lines]  # a torn line fails here
    landed = _local_landed(out)
    summaries = {
        path.stem: json.loads(path.read_text())["status"] for path in (out / "_runs").glob("*/*.json")
    }
    outbox = Counter(
        {
            state: len(list((out / "_outbox" / state).glob("*.json")))
            for state in ("pending", "claimed", "sent")
        }
    )
    return Trail(landed, completions, summaries, outbox)


def _local_started(out: Path) -> Callable[[], bool]:
    return lambda: any((out / "_outbox").glob("*/*.json"))


def test_an_uninterrupted_demo_meets_the_invariants(tmp_path: Path) -> None:
    ran = _scrapers("demo", "--out", str(tmp_path), env=_env())
    assert ran.returncode == 0, ran.stderr
    trail = _local_trail(tmp_path)
    check(trail, "uninterrupted")
    assert len(trail.completions) == DEMO_RUNS
    assert len(trail.landed) == DEMO_RUNS + 2  # the gamebook and injury-report PDFs
    # The checker itself can fail: drop one completion and it must see the orphaned document.
    with pytest.raises(AssertionError, match="landed without a completion"):
        check(Trail(trail.landed, trail.completions[1:], {}, Counter(sent=DEMO_RUNS - 1)), "mutated")


# `make test` kills one round per signal; `make test-slow` many more (each round is one demo).
ROUNDS = [pytest.param(1, id="1-round"), pytest.param(16, id="16-rounds", marks=pytest.mark.slow)]


@pytest.mark.parametrize("rounds", ROUNDS)
@pytest.mark.parametrize("number", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_kills_at_random_points_then_one_republish_meet_the_invariants(
    tmp_path: Path, number: signal.Signals, rounds: int
) -> None:
    seed = _seed()
    rng = random.Random(seed)
    # A tiny grace, so SIGTERM cuts runs off mid-way instead of letting them all finish.
    env = _env(COURTSIDE_SHUTDOWN_GRACE_SECONDS="0.001")
    baseline = tmp_path / "baseline"
    phase = run_phase(
        # Only the landed documents while the demo runs: the completions file may hold a line
        # still being written (a reader can see one write() half done), which is not a fault.
        str(baseline),
        env,
        _local_started(baseline),
        lambda: len(_local_landed(baseline)),
    )
    reached: list[int] = []
    for round_number in range(rounds):
        out = tmp_path / f"round{round_number}"
        demo = Demo(str(out), env, _local_started(out))
        demo.wait_for_runs()
        delay = rng.uniform(0.0, phase)
        context = f"seed {seed}, round {round_number}, {number.name} {delay:.3f}s into {phase:.3f}s of runs"
        code = demo.kill_after(delay, number)
        swept = _scrapers("republish", "--out", str(out), env=env)
        assert swept.returncode == 0, f"{context}: {swept.stdout}{swept.stderr}"
        trail = _local_trail(out)
        check(trail, context)
        if number is signal.SIGTERM:
            # Every job was admitted before the first run began, so each ends with one completion.
            assert len(trail.completions) == DEMO_RUNS, f"{context}: exit {code}"
        reached.append(len(trail.landed))
    print(f"{number.name} seed {seed}: objects landed per round (of {DEMO_RUNS + 2}): {reached}")


# ---------------------------------------------------------------------------------------- GCS


@dataclass
class Cloud:
    bucket: str
    subscription: str
    env: dict[str, str]

    @property
    def out(self) -> str:
        return f"gs://{self.bucket}/landing"

    def started(self) -> bool:
        client = storage.Client(project=PROJECT)
        return any(True for _ in client.list_blobs(self.bucket, prefix="landing/_outbox/", max_results=1))

    def landed(self) -> list[str]:
        client = storage.Client(project=PROJECT)
        return [
            blob.name for blob in client.list_blobs(self.bucket, prefix="landing/") if "/_" not in blob.name
        ]

    def trail(self) -> Trail:
        client = storage.Client(project=PROJECT)
        blobs = {blob.name: blob for blob in client.list_blobs(self.bucket, prefix="landing/")}
        landed = {f"gs://{self.bucket}/{name}" for name in blobs if not name.startswith("landing/_")}
        summaries = {
            name.rsplit("/", 1)[-1].removesuffix(".json"): json.loads(blob.download_as_bytes())["status"]
            for name, blob in blobs.items()
            if name.startswith("landing/_runs/")
        }
        outbox = Counter(
            {
                state: sum(1 for name in blobs if name.startswith(f"landing/_outbox/{folder}/"))
                for state, folder in (("pending", "pending"), ("claimed", "claims"), ("sent", "sent"))
            }
        )
        return Trail(landed, list(self._pull()), summaries, outbox)

    def _pull(self) -> Iterable[dict[str, Any]]:
        subscriber = pubsub_v1.SubscriberClient()
        path = subscriber.subscription_path(PROJECT, self.subscription)
        try:
            while True:
                response = subscriber.pull(request={"subscription": path, "max_messages": 100}, timeout=5)
                if not response.received_messages:
                    return
                ack_ids = [m.ack_id for m in response.received_messages]
                subscriber.acknowledge(request={"subscription": path, "ack_ids": ack_ids})
                for received in response.received_messages:
                    message = json.loads(received.message.data)
                    assert received.message.attributes["execution_id"] == message["execution_id"]
                    yield message
        finally:
            subscriber.close()


def _uncertain(stderr: str) -> list[str]:
    marker = "subscribers deduplicate on execution_id): "
    lines = [line.split(marker, 1)[1] for line in stderr.splitlines() if marker in line]
    return lines[0].split() if lines else []


def _cloud(gcs_endpoint: str, pubsub_host: str) -> Cloud:
    suffix = uuid.uuid4().hex[:8]
    topic = f"completions-{suffix}"
    env = _env(
        STORAGE_EMULATOR_HOST=gcs_endpoint,
        PUBSUB_EMULATOR_HOST=pubsub_host,
        GCP_PROJECT=PROJECT,
        COURTSIDE_TOPIC=topic,
    )
    saved = {key: os.environ.get(key) for key in ("STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")}
    os.environ.update(STORAGE_EMULATOR_HOST=gcs_endpoint, PUBSUB_EMULATOR_HOST=pubsub_host)
    try:
        storage.Client(project=PROJECT).create_bucket(f"landing-{suffix}")
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        topic_path = publisher.topic_path(PROJECT, topic)
        publisher.create_topic(request={"name": topic_path})
        subscription = f"sub-{suffix}"
        subscriber.create_subscription(
            request={"name": subscriber.subscription_path(PROJECT, subscription), "topic": topic_path}
        )
        subscriber.close()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Cloud(f"landing-{suffix}", subscription, env)


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param((signal.SIGKILL,), id="1-round"),
        pytest.param((signal.SIGKILL,) * 6 + (signal.SIGTERM,) * 3, id="9-rounds", marks=pytest.mark.slow),
    ],
)
def test_kills_at_random_points_against_gcs_and_pubsub_meet_the_invariants(
    gcs_endpoint: str, pubsub_host: str, monkeypatch: pytest.MonkeyPatch, signals: tuple[signal.Signals, ...]
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    seed = _seed()
    rng = random.Random(seed)
    baseline = _cloud(gcs_endpoint, pubsub_host)
    phase = run_phase(baseline.out, baseline.env, baseline.started, lambda: len(baseline.landed()))
    check(baseline.trail(), "uninterrupted, gcs")
    for round_number, number in enumerate(signals):
        cloud = _cloud(gcs_endpoint, pubsub_host)
        demo = Demo(cloud.out, cloud.env, cloud.started)
        demo.wait_for_runs()
        delay = rng.uniform(0.0, phase)
        context = f"gcs, seed {seed}, round {round_number}, {number.name} {delay:.3f}s into {phase:.3f}s"
        demo.kill_after(delay, number)
        swept = _scrapers("republish", "--out", cloud.out, env=cloud.env)
        assert swept.returncode == 0, f"{context}: {swept.stdout}{swept.stderr}"
        trail = cloud.trail()
        check(trail, context, _uncertain(swept.stderr))
        if number is signal.SIGTERM:
            assert len(trail.completions) == DEMO_RUNS, context
