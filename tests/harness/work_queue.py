"""A fleet of `scrapers worker` processes draining a replayed backfill through a Pub/Sub jobs topic.

Shared by tests/integration/test_work_queue.py (80 jobs, asserted) and bench/work_queue.py (300
jobs, measured). The caller owns the emulator (PUBSUB_EMULATOR_HOST in `env`) and the ledger's
store (COURTSIDE_STATE in `env`); everything here runs real OS processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy.state import open_store
from scrapers.pipeline.ledger import Ledger, LedgerEntry
from tests.conftest import PROJECT_ROOT

PROJECT = "courtside-test"


def create_queue(emulator: str) -> tuple[str, str]:
    """A fresh jobs topic, its dead-letter topic and the workers' subscription: (topic, subscription)."""
    from google.cloud import pubsub_v1

    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator
    try:
        suffix = uuid.uuid4().hex[:8]
        topic, dead, subscription = f"jobs-{suffix}", f"jobs-dead-{suffix}", f"workers-{suffix}"
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        topic_path = publisher.topic_path(PROJECT, topic)
        publisher.create_topic(request={"name": topic_path})
        publisher.create_topic(request={"name": publisher.topic_path(PROJECT, dead)})
        subscriber.create_subscription(
            request={
                "name": subscriber.subscription_path(PROJECT, subscription),
                "topic": topic_path,
                "ack_deadline_seconds": 10,
                "retry_policy": {"minimum_backoff": {"seconds": 1}, "maximum_backoff": {"seconds": 10}},
                "dead_letter_policy": {
                    "dead_letter_topic": publisher.topic_path(PROJECT, dead),
                    "max_delivery_attempts": 5,
                },
            }
        )
        subscriber.close()
        return topic, subscription
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


def queue_env(
    emulator: str, state: str, topic: str, subscription: str, claim_seconds: float = 3
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    return {
        **env,
        "PUBSUB_EMULATOR_HOST": emulator,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "COURTSIDE_JOBS_TOPIC": topic,
        "COURTSIDE_JOBS_SUBSCRIPTION": subscription,
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
) -> Drained:
    """Start the workers; SIGKILL the first once `kill_after_runs` runs have ended; wait until the
    ledger has `jobs` entries all done; SIGTERM the others."""
    names = list(scrapers_in_ledger)
    handles = [(logs / f"worker-{index}.log").open("w") for index in range(workers)]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "scrapers", "worker", "--concurrency", str(concurrency), *common],
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
    return Drained(seconds, entries, codes, handled, "\n".join(text[-3000:] for text in texts))
