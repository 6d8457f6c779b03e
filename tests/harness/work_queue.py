"""A fleet of `scrapers worker` processes draining a replayed backfill through a Pub/Sub jobs topic.

Shared by tests/integration/test_work_queue.py (20 jobs by default, 300 in the slow proof,
asserted) and bench/work_queue.py (300 jobs, measured). The caller owns the emulator
(PUBSUB_EMULATOR_HOST in `env`) and the ledger's store (COURTSIDE_STATE in `env`); everything here
runs real OS processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy.state import open_store
from scrapers.pipeline.ledger import Ledger, LedgerEntry
from tests.conftest import PROJECT_ROOT

PROJECT = "courtside-test"


# The subscription's own dead-letter policy: a backstop above the workers' maximum
# (COURTSIDE_JOBS_MAX_ATTEMPTS, 5), for a message that crashes every worker before a verdict.
# Pub/Sub counts every delivery (a nack for a job another worker holds, a lease lost with a killed
# worker), so at the workers' own maximum it would move aside jobs that never failed.
BACKSTOP_ATTEMPTS = 20


@dataclass(frozen=True)
class Queue:
    topic: str  # the jobs topic
    subscription: str  # the workers' pull subscription
    dead_topic: str  # where jobs go after too many failures
    dead_subscription: str  # a pull subscription on it, for a test to read what went there


def new_queue() -> Queue:
    """Fresh names (nothing created yet)."""
    suffix = uuid.uuid4().hex[:8]
    return Queue(f"jobs-{suffix}", f"workers-{suffix}", f"jobs-dead-{suffix}", f"dead-{suffix}")


def create_queue(emulator: str, queue: Queue | None = None, *, push_endpoint: str | None = None) -> Queue:
    """The jobs topic, its dead-letter topic, the workers' subscription (a push subscription to
    `push_endpoint` when given) and a subscription on the dead-letter topic, for `queue`'s names
    (fresh ones by default)."""
    from google.cloud import pubsub_v1

    queue = queue or new_queue()
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator
    try:
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        topic_path = publisher.topic_path(PROJECT, queue.topic)
        dead_path = publisher.topic_path(PROJECT, queue.dead_topic)
        publisher.create_topic(request={"name": topic_path})
        publisher.create_topic(request={"name": dead_path})
        subscriber.create_subscription(
            request={
                "name": subscriber.subscription_path(PROJECT, queue.subscription),
                "topic": topic_path,
                "ack_deadline_seconds": 10 if push_endpoint is None else 60,
                "retry_policy": {"minimum_backoff": {"seconds": 1}, "maximum_backoff": {"seconds": 2}},
                "dead_letter_policy": {
                    "dead_letter_topic": dead_path,
                    "max_delivery_attempts": BACKSTOP_ATTEMPTS,
                },
                **({"push_config": {"push_endpoint": push_endpoint}} if push_endpoint else {}),
            }
        )
        subscriber.create_subscription(
            request={
                "name": subscriber.subscription_path(PROJECT, queue.dead_subscription),
                "topic": dead_path,
            }
        )
        subscriber.close()
        return queue
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


def pull_all(emulator: str, subscription: str) -> list[Any]:
    """What `subscription` holds now (received messages, acknowledged)."""
    from google.cloud import pubsub_v1

    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator
    subscriber = pubsub_v1.SubscriberClient()
    try:
        path = subscriber.subscription_path(PROJECT, subscription)
        found: list[Any] = []
        while True:
            answer = subscriber.pull(
                request={"subscription": path, "max_messages": 100, "return_immediately": True}
            )
            if not answer.received_messages:
                return found
            found.extend(answer.received_messages)
            subscriber.acknowledge(
                request={"subscription": path, "ack_ids": [m.ack_id for m in answer.received_messages]}
            )
    finally:
        subscriber.close()
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


def queue_env(emulator: str, state: str, queue: Queue, claim_seconds: float = 3) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and k != "PORT"}
    return {
        **env,
        "PUBSUB_EMULATOR_HOST": emulator,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "COURTSIDE_JOBS_TOPIC": queue.topic,
        "COURTSIDE_JOBS_SUBSCRIPTION": queue.subscription,
        "COURTSIDE_JOBS_DEAD_LETTER_TOPIC": queue.dead_topic,
        "COURTSIDE_STATE": state,
        # A killed worker's claims free up within seconds, not a minute.
        "COURTSIDE_CLAIM_SECONDS": str(claim_seconds),
    }


def scrapers(env: Mapping[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *args],
        cwd=PROJECT_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_summaries(out: Path) -> list[dict[str, Any]]:
    summaries = []
    for path in (out / "_runs").rglob("*.json"):
        try:
            summaries.append(json.loads(path.read_text()))
        except ValueError:
            continue  # being written this instant; the next poll reads it whole
    return summaries


async def _entries(state: str, out: Path, names: Iterable[str]) -> dict[str, LedgerEntry]:
    store = open_store(state)
    try:
        ledger = Ledger(store, str(out))
        found: dict[str, LedgerEntry] = {}
        for name in names:
            found.update(await ledger.entries(name))
        return found
    finally:
        await store.aclose()


def ledger_entries(state: str, out: Path, names: Iterable[str]) -> dict[str, LedgerEntry]:
    return asyncio.run(_entries(state, out, list(names)))


@dataclass
class Drained:
    seconds: float  # from the first worker's start to every job done in the ledger
    entries: dict[str, LedgerEntry]
    exit_codes: list[int]  # of the workers stopped with SIGTERM
    handled: list[int] = field(default_factory=list)  # messages each worker answered
    transcript: str = ""
    # Each worker still running at the end: its GET /metrics, read before it was stopped.
    metrics: list[str] = field(default_factory=list)


def drain_with_workers(
    env: Mapping[str, str],
    common: list[str],
    out: Path,
    logs: Path,
    *,
    jobs: int,
    scrapers_in_ledger: Iterable[str],
    workers: int = 3,
    concurrency: int = 2,
    kill_after_runs: int | None = None,
    deadline_seconds: float = 300,
    enqueue: Callable[[], None] | None = None,
) -> Drained:
    """Start the workers (then `enqueue`, while they start); SIGKILL the first once
    `kill_after_runs` runs have ended; wait until the ledger has `jobs` entries all done; SIGTERM
    the others."""
    names = list(scrapers_in_ledger)
    handles = [(logs / f"worker-{index}.log").open("w") for index in range(workers)]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "scrapers", "worker", "--concurrency", str(concurrency)),
                *("--port", "0"),  # several on one machine: each its own /metrics port
                *common,
            ],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for handle in handles
    ]
    entries: dict[str, LedgerEntry] = {}
    seconds = float("nan")
    try:
        if enqueue is not None:
            enqueue()
        deadline = started + deadline_seconds
        if kill_after_runs is not None:
            while len(run_summaries(out)) < kill_after_runs and time.monotonic() < deadline:
                time.sleep(0.1)  # polling the workers' progress, not a delay
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(timeout=30)
        while time.monotonic() < deadline:
            entries = ledger_entries(str(env["COURTSIDE_STATE"]), out, names)
            if len(entries) == jobs and all(entry.done for entry in entries.values()):
                seconds = time.monotonic() - started
                break
            time.sleep(0.25)
        stopped = processes[1:] if kill_after_runs is not None else processes
        first = 1 if kill_after_runs is not None else 0
        scraped = [scrape_metrics(logs / f"worker-{index}.log") for index in range(first, workers)]
        for process in stopped:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in stopped]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for handle in handles:
            handle.close()
    texts = [(logs / f"worker-{index}.log").read_text() for index in range(workers)]
    handled = [sum(1 for line in text.splitlines() if line.endswith((": ack", ": nack"))) for text in texts]
    transcript = "\n".join(text[-3000:] for text in texts)
    return Drained(seconds, entries, codes, handled, transcript, scraped)


METRICS_LINE = re.compile(r"worker: /metrics and /health on (http://\S+)")


def metrics_url(log: Path) -> str | None:
    """Where a worker serves /metrics, from the line it prints at start."""
    found = METRICS_LINE.search(log.read_text()) if log.exists() else None
    return found.group(1) if found else None


def scrape_metrics(log: Path) -> str:
    """The worker's GET /metrics now (loopback), or "" when it never said where it serves."""
    url = metrics_url(log)
    if url is None:
        return ""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        return str(answer.read().decode("utf-8"))


def sample(exposition: str, name: str, **labels: str) -> float:
    """One sample's value in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    series = f"{name}{{{wanted}}}" if labels else name
    for line in exposition.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
