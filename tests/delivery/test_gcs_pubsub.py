"""Landing in GCS and completions on Pub/Sub, against real emulators, including the faults.

gcp-storage-emulator runs in its own process with the `ifGenerationMatch` check it lacks
(tests/harness/gcs_emulator.py); the Pub/Sub emulator is the one shipped with google-cloud-cli.
Runs replay the project's fixtures, so nothing here needs the network or keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from google.cloud import pubsub_v1, storage

from scrapers.core.clock import SystemClock
from scrapers.core.errors import AlreadyLandedError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import load_registry
from scrapers.core.result import RunResult
from scrapers.core.settings import Settings
from scrapers.http.fetch import Fetcher
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.outputs import open_output
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.gcs import GcsBucket, GcsLocation, GcsSink
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Upstream, free_port, respond

pytestmark = pytest.mark.integration

PROJECT = "courtside-test"
RUN_ARGS = ["run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--replay", "--json"]
DEAD_PUBLISH_TIMEOUT = "1"  # seconds a run spends on a publisher that is down


@dataclass
class Cloud:
    bucket: str
    topic: str
    subscription: str
    env: dict[str, str]

    @property
    def out(self) -> str:
        return f"gs://{self.bucket}/landing"

    def storage(self) -> Any:
        return storage.Client(project=PROJECT)

    def objects(self, prefix: str = "") -> list[str]:
        return sorted(blob.name for blob in self.storage().list_blobs(self.bucket, prefix=prefix))

    def pull(self, expected: int) -> list[dict[str, Any]]:
        """Exactly the messages available: waits for `expected`, then checks nothing else came."""
        subscriber = pubsub_v1.SubscriberClient()
        path = subscriber.subscription_path(PROJECT, self.subscription)
        received: list[dict[str, Any]] = []
        try:
            deadline = time.monotonic() + 60
            while len(received) < expected and time.monotonic() < deadline:
                received.extend(self._pull_once(subscriber, path, timeout=5))
            # A duplicate would already be on the subscription: one more pull must come back empty.
            received.extend(self._pull_once(subscriber, path, timeout=2))
        finally:
            subscriber.close()
        return received

    @staticmethod
    def _pull_once(subscriber: Any, path: str, timeout: float) -> list[dict[str, Any]]:
        response = subscriber.pull(request={"subscription": path, "max_messages": 100}, timeout=timeout)
        if not response.received_messages:
            return []
        subscriber.acknowledge(
            request={"subscription": path, "ack_ids": [m.ack_id for m in response.received_messages]}
        )
        return [
            {"data": json.loads(m.message.data), "attributes": dict(m.message.attributes)}
            for m in response.received_messages
        ]


@pytest.fixture
def cloud(gcs_endpoint: str, pubsub_host: str, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "PUBSUB_EMULATOR_HOST": pubsub_host,
        "GCP_PROJECT": PROJECT,
        "COURTSIDE_TOPIC": f"completions-{suffix}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    world = Cloud(f"landing-{suffix}", env["COURTSIDE_TOPIC"], f"sub-{suffix}", env)
    world.storage().create_bucket(world.bucket)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic_path = publisher.topic_path(PROJECT, world.topic)
    publisher.create_topic(request={"name": topic_path})
    subscriber.create_subscription(
        request={"name": subscriber.subscription_path(PROJECT, world.subscription), "topic": topic_path}
    )
    subscriber.close()
    return world


def cli_env(cloud: Cloud, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    return {**env, **cloud.env, **overrides}


def cli(cloud: Cloud, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *argv],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=cli_env(cloud, **env),
        check=False,
    )


def dead_pubsub() -> str:
    """An address where no Pub/Sub listens: the publisher is down."""
    return f"127.0.0.1:{free_port()}"


def runs_while_publisher_down(cloud: Cloud, count: int, monkeypatch: pytest.MonkeyPatch) -> list[RunResult]:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", dead_pubsub())
    monkeypatch.setenv("COURTSIDE_PUBLISH_TIMEOUT", DEAD_PUBLISH_TIMEOUT)
    try:
        return asyncio.run(run_many(cloud, count))
    finally:
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", cloud.env["PUBSUB_EMULATOR_HOST"])
        monkeypatch.delenv("COURTSIDE_PUBLISH_TIMEOUT")


async def run_many(cloud: Cloud, count: int) -> list[RunResult]:
    """`count` replayed runs in one process, sharing one output (as the service would)."""
    registry = load_registry()
    output = open_output(cloud.out, Settings.from_env(os.environ))
    fetcher = Fetcher(transport=ReplayTransport(PROJECT_FIXTURES), require_secrets=False, throttle=False)
    ctx = RunContext(registry=registry, fetcher=fetcher, sink=output.sink, events=output.delivery)
    job = prepare(registry, "nbac_scoreboard_v2", {"gamedate": "2024-01-15"}, SystemClock())
    try:
        return list(await asyncio.gather(*(run_job(job, ctx) for _ in range(count))))
    finally:
        await fetcher.aclose()
        output.close()


# --- landing and publishing -------------------------------------------------------------------------


def test_run_lands_at_the_contract_path_and_its_message_arrives(cloud: Cloud) -> None:
    completed = cli(cloud, *RUN_ARGS, "--out", cloud.out)

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    (landed,) = result["landed"]
    assert landed.startswith(f"gs://{cloud.bucket}/landing/nba-com/scoreboard-v2/2024-01-15/")
    name = landed.removeprefix(f"gs://{cloud.bucket}/")
    blob = cloud.storage().bucket(cloud.bucket).get_blob(name)
    assert blob.content_type == "application/json"
    assert json.loads(blob.download_as_bytes())["gameCount"] == result["record_count"]

    (message,) = cloud.pull(expected=1)
    data = message["data"]
    assert message["attributes"] == {
        "scraper": "nbac_scoreboard_v2",
        "status": "success",
        "source": "nbac",
        # What a subscriber deduplicates on (Pub/Sub delivers at least once).
        "execution_id": result["run_id"],
    }
    assert (data["processor_name"], data["phase"], data["status"]) == (
        "nbac_scoreboard_v2",
        "phase_1_scrapers",
        "success",
    )
    assert data["execution_id"] == result["run_id"]
    assert data["record_count"] == result["record_count"]
    assert data["game_date"] == "2024-01-15"
    assert data["metadata"]["gcs_path"] == landed
    assert "error_type" not in data
    assert cloud.objects("landing/_outbox/pending/") == []
    assert len(cloud.objects("landing/_outbox/sent/")) == 1


def test_second_identical_upload_gets_412_and_is_reported_already_landed(cloud: Cloud) -> None:
    async def scenario() -> None:
        sink = GcsSink(GcsBucket(GcsLocation.parse(cloud.out)))
        uri = await sink.create("probe/one.json", b'{"a": 1}', "application/json")

        with pytest.raises(AlreadyLandedError):
            await sink.create("probe/one.json", b'{"a": 2}', "application/json")

        assert uri == f"gs://{cloud.bucket}/landing/probe/one.json"
        assert await sink.read("probe/one.json") == b'{"a": 1}'  # never clobbered

    asyncio.run(scenario())


def test_rerun_in_the_same_second_with_the_same_bytes_is_already_landed(cloud: Cloud) -> None:
    # Several runs at once land the same document in the same second: one creates the object,
    # the others get 412 and report already_landed, and no object is written twice.
    results = asyncio.run(run_many(cloud, 3))

    assert all(r.status.value == "success" for r in results)
    landed_objects = [n for n in cloud.objects("landing/nba-com/") if n.endswith(".json")]
    assert sum(not r.already_landed for r in results) == len(landed_objects)
    assert {r.landed[0] for r in results} <= {f"gs://{cloud.bucket}/{n}" for n in landed_objects}
    assert len(cloud.pull(expected=3)) == 3  # every run still completes


# --- publisher outages and the outbox ---------------------------------------------------------------


# 14 s: `make test-slow`; the concurrent-sweeps test below also delivers 20 held runs exactly once.
@pytest.mark.slow
def test_publisher_down_for_20_runs_then_republish_delivers_exactly_20(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = runs_while_publisher_down(cloud, 20, monkeypatch)

    assert all(r.status.value == "success" for r in results)  # the data status is not hidden
    assert all(any("pending in the outbox" in w for w in r.warnings) for r in results)
    assert len(cloud.objects("landing/_outbox/pending/")) == 20

    completed = cli(cloud, "republish", "--out", cloud.out, "--older-than", "0")

    assert completed.returncode == 0, completed.stderr
    assert "sent 20, failed 0" in completed.stdout
    messages = cloud.pull(expected=20)
    ids = Counter(m["data"]["execution_id"] for m in messages)
    assert ids == Counter({r.run_id: 1 for r in results})
    assert cloud.objects("landing/_outbox/pending/") == []

    again = cli(cloud, "republish", "--out", cloud.out, "--older-than", "0")
    assert "sent 0, failed 0" in again.stdout
    assert cloud.pull(expected=0) == []


def test_republish_while_the_publisher_is_still_down_keeps_everything_pending(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs_while_publisher_down(cloud, 2, monkeypatch)

    completed = cli(
        cloud,
        "republish",
        "--out",
        cloud.out,
        "--older-than",
        "0",
        PUBSUB_EMULATOR_HOST=dead_pubsub(),
        COURTSIDE_PUBLISH_TIMEOUT=DEAD_PUBLISH_TIMEOUT,
    )

    assert completed.returncode == 18
    assert "sent 0, failed 2" in completed.stdout
    assert len(cloud.objects("landing/_outbox/pending/")) == 2
    assert cloud.objects("landing/_outbox/claims/") == []  # released for the next sweep


def test_two_concurrent_republish_sweeps_deliver_each_message_once(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = runs_while_publisher_down(cloud, 20, monkeypatch)

    sweeps = [
        subprocess.Popen(
            [sys.executable, "-m", "scrapers", "republish", "--out", cloud.out, "--older-than", "0"],
            cwd=PROJECT_ROOT,
            env=cli_env(cloud),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [sweep.communicate(timeout=300) for sweep in sweeps]

    assert all(sweep.returncode == 0 for sweep in sweeps), outputs
    sent = [int(out.split("sent ")[1].split(",")[0]) for out, _ in outputs]
    assert sum(sent) == 20
    ids = Counter(m["data"]["execution_id"] for m in cloud.pull(expected=20))
    assert ids == Counter({r.run_id: 1 for r in results})


def test_job_killed_between_landing_and_publishing_is_recovered_by_republish(cloud: Cloud) -> None:
    # The publisher accepts connections and never answers, so the run blocks inside publish;
    # it is killed once its document has landed (its outbox entry, an intent, was written before).
    with socket_that_never_answers() as silent:
        job = subprocess.Popen(
            [sys.executable, "-m", "scrapers", *RUN_ARGS, "--out", cloud.out],
            cwd=PROJECT_ROOT,
            env=cli_env(cloud, PUBSUB_EMULATOR_HOST=silent, COURTSIDE_PUBLISH_TIMEOUT="600"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_objects(cloud, "landing/nba-com/", job)
        finally:
            job.send_signal(signal.SIGKILL)
            job.wait()
    landed = [n for n in cloud.objects("landing/nba-com/") if n.endswith(".json")]
    assert len(landed) == 1
    assert len(cloud.objects("landing/_outbox/pending/")) == 1
    # The dead run's claim is still there: a sweep on this host sees its owner is gone.
    assert len(cloud.objects("landing/_outbox/claims/")) == 1
    assert cloud.pull(expected=0) == []  # nothing was published before the kill

    completed = cli(cloud, "republish", "--out", cloud.out)

    assert "sent 1, failed 0" in completed.stdout, completed.stderr
    (message,) = cloud.pull(expected=1)
    assert message["data"]["metadata"]["gcs_path"] == f"gs://{cloud.bucket}/{landed[0]}"

    rerun = cli(cloud, *RUN_ARGS, "--out", cloud.out)  # a re-run never overwrites what landed
    assert rerun.returncode == 0, rerun.stderr
    assert landed[0] in [n for n in cloud.objects("landing/nba-com/")]


def test_sigterm_while_pubsub_hangs_exits_in_seconds_and_the_sweep_delivers_once(cloud: Cloud) -> None:
    """Cloud Run sends SIGTERM, then SIGKILL 10 s later: a run stuck in a publish that would take
    the whole publish timeout (600 s here) must still exit promptly, and its completion must
    reach Pub/Sub exactly once through the next sweep."""
    with socket_that_never_answers() as silent:
        job = subprocess.Popen(
            [sys.executable, "-m", "scrapers", *RUN_ARGS, "--out", cloud.out],
            cwd=PROJECT_ROOT,
            env=cli_env(
                cloud,
                PUBSUB_EMULATOR_HOST=silent,
                COURTSIDE_PUBLISH_TIMEOUT="600",
                COURTSIDE_SHUTDOWN_GRACE_SECONDS="1",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_objects(cloud, "landing/nba-com/", job)
            started = time.monotonic()
            job.send_signal(signal.SIGTERM)
            # Bounded by the test's guard, far below the publish timeout: a process that waited
            # for its publish would fail here instead of hanging the suite.
            stdout, stderr = job.communicate(timeout=120)
        finally:
            if job.poll() is None:
                job.kill()
                job.wait()
    print(f"exit {time.monotonic() - started:.1f}s after SIGTERM")
    result = json.loads(stdout)
    assert result["status"] == "success", stderr.decode()
    assert any("still being published" in warning for warning in result["warnings"])

    swept = cli(cloud, "republish", "--out", cloud.out)

    assert swept.returncode == 0, swept.stderr
    (message,) = cloud.pull(expected=1)
    assert message["data"]["execution_id"] == result["run_id"]
    assert message["data"]["status"] == "success"


def wait_for_objects(cloud: Cloud, prefix: str, process: subprocess.Popen[bytes]) -> list[str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = cloud.objects(prefix)
        if found:
            return found
        assert process.poll() is None, "the run ended before it reached publishing"
        time.sleep(0.1)  # polling another process's progress, not a test delay
    raise AssertionError(f"no object under {prefix} within 120 s")


@contextlib.contextmanager
def socket_that_never_answers() -> Iterator[str]:
    """A listening socket that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"127.0.0.1:{server.getsockname()[1]}"


def test_gcs_answering_503_fails_landing_in_bounded_time_and_pubsub_still_hears_of_it(cloud: Cloud) -> None:
    """GCS is down (every storage call answers 503) while Pub/Sub is up: the document cannot land
    and the outbox cannot keep the completion, so the run fails `landing` after the bounded
    retries, and its completion goes straight to Pub/Sub."""

    async def scenario() -> tuple[subprocess.CompletedProcess[str], int, float]:
        async with Upstream(default=respond(503, b"backend unavailable")) as storage_down:
            started = time.monotonic()
            done = await asyncio.to_thread(
                cli, cloud, *RUN_ARGS, "--out", cloud.out, STORAGE_EMULATOR_HOST=storage_down.url
            )
            return done, storage_down.count(), time.monotonic() - started

    done, storage_calls, seconds = asyncio.run(scenario())
    print(f"GCS outage: exit {done.returncode} after {seconds:.1f} s and {storage_calls} storage calls")
    assert done.returncode == Outcome.LANDING.exit_code, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["error_type"] == "landing"
    assert "503" in result["error_message"]
    assert storage_calls > 1, "the library retried before giving up"
    (message,) = cloud.pull(1)
    assert (message["data"]["status"], message["data"]["error_type"]) == ("failed", "landing")
    assert message["data"]["execution_id"] == result["run_id"]
