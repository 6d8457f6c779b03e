"""The job ledger on each real store: one claim wins among processes, terminal statuses, the mirror.

Claims are what keep a job to one run across a fleet, so they are tried where they matter: several
OS processes racing for one key through a shared SQLite file and a real redis-server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from google.cloud import storage

from proxy.state import MemoryStore, StateStore, open_store, read_modify_write
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.result import RunResult
from scrapers.pipeline.ledger import Claimed, JobId, Ledger
from scrapers.sinks.file import FileSink
from scrapers.sinks.gcs import GcsBucket, GcsLocation, GcsSink
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration

JOB = JobId('nbac_gamebook_pdf:{"game_code":"20240115/GSWMEM"}', "nbac_gamebook_pdf", {"game_code": "x"})
RACERS = 4


def _result(status: RunStatus, run_id: str, failure: Outcome | None = None) -> RunResult:
    return RunResult(
        run_id=run_id,
        scraper=JOB.scraper,
        source="nbac",
        status=status,
        record_count=0 if failure else 1,
        options={},
        game_date="2024-01-15",
        started_at="2024-01-16T03:00:00+00:00",
        duration_seconds=0.1,
        attempts={},
        landed=() if failure else (f"/data/{run_id}.json",),
        failure_class=failure,
        error_type=failure.value if failure else None,
    )


@asynccontextmanager
async def _store(kind: str, tmp_path: Path, redis_url: Callable[[], str]) -> AsyncIterator[StateStore]:
    if kind == "memory":
        store: StateStore = MemoryStore()
    else:
        store = open_store(f"sqlite:{tmp_path / 'state.sqlite'}" if kind == "sqlite" else redis_url())
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lazy_redis(request: pytest.FixtureRequest) -> Callable[[], str]:
    """The Redis URL, started only by the tests that use Redis."""
    return lambda: str(request.getfixturevalue("redis_url"))


def test_a_claim_is_refused_while_held_and_a_done_job_is_never_claimed(
    kind: str, tmp_path: Path, lazy_redis: Callable[[], str]
) -> None:
    async def scenario() -> None:
        async with _store(kind, tmp_path, lazy_redis) as store:
            ledger = Ledger(store, str(tmp_path / "out"))
            assert (await ledger.claim(JOB, "w1", 60))[0] is Claimed.CLAIMED
            assert (await ledger.claim(JOB, "w2", 60))[0] is Claimed.BUSY
            # A transient failure is recorded; the holder releases; another worker may try again.
            failed = await ledger.record(JOB, _result(RunStatus.FAILED, "r1", Outcome.TRANSIENT))
            assert (failed.status, failed.retryable, failed.attempts) == ("failed", True, 1)
            await ledger.release(JOB, "w2")  # not the holder: nothing changes
            assert (await ledger.claim(JOB, "w2", 60))[0] is Claimed.BUSY
            await ledger.release(JOB, "w1")
            assert (await ledger.claim(JOB, "w2", 60))[0] is Claimed.CLAIMED
            done = await ledger.record(JOB, _result(RunStatus.SUCCESS, "r2"))
            await ledger.release(JOB, "w2")
            assert (done.status, done.attempts, done.execution_ids) == ("success", 2, ("r1", "r2"))
            assert done.landed == ("/data/r2.json",)
            found, entry = await ledger.claim(JOB, "w3", 60)
            assert (found, entry.status) == (Claimed.DONE, "success")
            # Another output is another ledger: the same job there is not done.
            elsewhere = Ledger(store, str(tmp_path / "other"))
            assert (await elsewhere.claim(JOB, "w3", 60))[0] is Claimed.CLAIMED
            assert list(await ledger.entries(JOB.scraper)) == [JOB.key]

    asyncio.run(scenario())


def test_an_expired_claim_frees_the_job_of_a_worker_that_died(tmp_path: Path) -> None:
    now = [1000.0]

    async def scenario() -> None:
        ledger = Ledger(MemoryStore(), str(tmp_path), wall_clock=lambda: now[0])
        assert (await ledger.claim(JOB, "dead", 30))[0] is Claimed.CLAIMED
        now[0] += 29
        assert (await ledger.claim(JOB, "alive", 30))[0] is Claimed.BUSY
        now[0] += 2
        assert (await ledger.claim(JOB, "alive", 30))[0] is Claimed.CLAIMED

    asyncio.run(scenario())


def test_the_mirror_is_written_beside_the_data_without_the_claim(tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger = Ledger(MemoryStore(), str(tmp_path), FileSink(tmp_path))
        await ledger.claim(JOB, "w1", 60)
        await ledger.mirror(await ledger.record(JOB, _result(RunStatus.SUCCESS, "r1")))
        await ledger.mirror(await ledger.record(JOB, _result(RunStatus.FAILED, "r2", Outcome.NOT_FOUND)))

    asyncio.run(scenario())
    (mirror,) = (tmp_path / "_ledger" / JOB.scraper).glob("*.json")
    entry = json.loads(mirror.read_text())
    assert (entry["status"], entry["failure_class"], entry["retryable"]) == ("failed", "not_found", False)
    assert entry["execution_ids"] == ["r1", "r2"]
    assert entry["key"] == JOB.key
    assert "claim" not in entry
    assert not [p for p in mirror.parent.iterdir() if p.name.startswith(".")], "no temporary file left"


RACER = """
import asyncio, sys, time
from pathlib import Path
from proxy.state import open_store
from scrapers.pipeline.ledger import JobId, Ledger

async def main() -> None:
    url, out, owner, keys = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    barrier = Path(sys.argv[5])
    store = open_store(url)
    try:
        await store.ping()  # connected before the start, so the racers meet at the first claim
        (barrier / owner).touch()
        while not (barrier / "go").exists():
            time.sleep(0.01)
        ledger = Ledger(store, out)
        for index in range(keys):
            job = JobId(f"nbac_gamebook_pdf:{index}", "nbac_gamebook_pdf")
            found, _ = await ledger.claim(job, owner, 600)
            print(index, found.value)
    finally:
        await store.aclose()

asyncio.run(main())
"""
KEYS = 40


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_of_processes_racing_for_the_same_jobs_exactly_one_claims_each(
    backend: str, tmp_path: Path, lazy_redis: Callable[[], str]
) -> None:
    url = f"sqlite:{tmp_path / 'state.sqlite'}" if backend == "sqlite" else lazy_redis()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, url, str(tmp_path / "out"), f"w{index}", str(KEYS), str(barrier)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(RACERS)
    ]
    deadline = time.monotonic() + 120
    while len(list(barrier.iterdir())) < RACERS and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the processes to start, not a test delay
    (barrier / "go").touch()
    claims: Counter[str] = Counter()
    for racer in racers:
        for line in racer.communicate(timeout=120)[0].splitlines():
            index, found = line.split()
            claims[index] += found == "claimed"
    assert claims == Counter({str(index): 1 for index in range(KEYS)})


def test_read_modify_write_counts_every_increment_of_concurrent_writers_on_redis(
    lazy_redis: Callable[[], str],
) -> None:
    """The optimistic Redis transaction retries instead of losing a write."""

    def increment(value: dict[str, int] | None) -> dict[str, int]:
        return {"n": (value or {"n": 0})["n"] + 1}

    async def scenario() -> int:
        stores = [open_store(lazy_redis()) for _ in range(4)]
        try:
            await asyncio.gather(
                *(read_modify_write(store, "t", "k", increment) for store in stores for _ in range(10))
            )
            final = await stores[0].get("t", "k")
            assert final is not None
            return int(final["n"])
        finally:
            for store in stores:
                await store.aclose()

    assert asyncio.run(scenario()) == 40


def test_with_gs_output_the_mirror_lands_in_the_bucket_beside_the_data(
    gcs_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    bucket = f"ledger-{uuid.uuid4().hex[:8]}"
    client = storage.Client(project="courtside-test")
    client.create_bucket(bucket)
    out = f"gs://{bucket}/landing"

    async def scenario() -> str:
        ledger = Ledger(MemoryStore(), out, GcsSink(GcsBucket(GcsLocation.parse(out))))
        await ledger.mirror(await ledger.record(JOB, _result(RunStatus.SUCCESS, "r1")))
        await ledger.mirror(await ledger.record(JOB, _result(RunStatus.SUCCESS, "r2")))  # replaced
        return ledger.mirror_path(JOB.scraper, JOB.key)

    path = asyncio.run(scenario())
    names = [blob.name for blob in client.list_blobs(bucket)]
    assert names == [f"landing/{path}"]
    entry = json.loads(client.bucket(bucket).blob(f"landing/{path}").download_as_bytes())
    assert (entry["output"], entry["attempts"], entry["execution_ids"]) == (out, 2, ["r1", "r2"])


def test_force_runs_a_done_job_once_per_token_and_a_renewal_keeps_the_forced_claim(tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger = Ledger(MemoryStore(), str(tmp_path))
        await ledger.claim(JOB, "w1", 60)
        await ledger.record(JOB, _result(RunStatus.SUCCESS, "r1"))
        await ledger.release(JOB, "w1")
        assert (await ledger.claim(JOB, "w2", 60))[0] is Claimed.DONE
        # A --force pass claims it although it is done; its own renewal (same token) keeps it.
        assert (await ledger.claim(JOB, "w2", 60, force="pass-1"))[0] is Claimed.CLAIMED
        assert (await ledger.claim(JOB, "w2", 60, force="pass-1"))[0] is Claimed.CLAIMED
        assert (await ledger.claim(JOB, "w3", 60, force="pass-1"))[0] is Claimed.BUSY
        done = await ledger.record(JOB, _result(RunStatus.SUCCESS, "r2"))
        await ledger.release(JOB, "w2")
        assert (done.force, done.attempts) == ("pass-1", 2)
        # A redelivery of the forced message: done under its token, not run again. Another pass is.
        assert (await ledger.claim(JOB, "w3", 60, force="pass-1"))[0] is Claimed.DONE
        assert (await ledger.claim(JOB, "w3", 60))[0] is Claimed.DONE
        assert (await ledger.claim(JOB, "w3", 60, force="pass-2"))[0] is Claimed.CLAIMED

    asyncio.run(scenario())


def test_retryable_failures_are_counted_in_a_row_and_a_dead_lettered_message_is_not_run_again(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        ledger = Ledger(MemoryStore(), str(tmp_path))
        for run_id in ("r1", "r2"):
            entry = await ledger.record(JOB, _result(RunStatus.FAILED, run_id, Outcome.TRANSIENT))
        assert (entry.failed_in_a_row, entry.attempts) == (2, 2)
        # A failure a retry cannot fix ends the streak, as a success would.
        entry = await ledger.record(JOB, _result(RunStatus.FAILED, "r3", Outcome.NOT_FOUND))
        assert entry.failed_in_a_row == 0
        entry = await ledger.record(JOB, _result(RunStatus.FAILED, "r4", Outcome.BLOCKED))
        dead = await ledger.dead_letter(
            JOB, message_id="m-7", topic="projects/p/topics/dead", failure_class=None
        )
        assert dead.dead_lettered
        assert dead.failed_in_a_row == 0
        assert dict(dead.dead_letter or {}) | {"at": None} == {
            "message_id": "m-7",
            "topic": "projects/p/topics/dead",
            "at": None,
            "attempts": 1,
            "failure_class": "blocked",
        }
        # That very message, delivered again: not run. Another message for the job: run.
        assert (await ledger.claim(JOB, "w1", 60, message_id="m-7"))[0] is Claimed.DEAD_LETTERED
        assert (await ledger.claim(JOB, "w1", 60, message_id="m-8"))[0] is Claimed.CLAIMED
        # Its next run clears the mark.
        assert (await ledger.record(JOB, _result(RunStatus.SUCCESS, "r5"))).dead_letter is None

    asyncio.run(scenario())


def test_a_dead_run_is_settled_only_when_everything_it_declared_landed(tmp_path: Path) -> None:
    """A run's landing names a document and its PDF: the job is done only with both there; with
    the PDF alone the next run lands under the dead run's timestamp (adopting the PDF); with
    nothing there, under its own."""
    document, pdf = (
        "nba-com/gamebooks-data/x/20240116_030000.json",
        "nba-com/gamebooks-pdf/x/20240116_030000.pdf",
    )

    async def scenario() -> list[object]:
        sink = FileSink(tmp_path)
        ledger = Ledger(MemoryStore(), str(tmp_path), sink)
        seen: list[object] = []
        await ledger.claim(JOB, "dead", 0.0)
        await ledger.intend_landing(
            JOB, _result(RunStatus.SUCCESS, "dead1"), [document, pdf], "20240116_030000"
        )
        entry = await ledger.get(JOB)
        assert entry is not None
        seen.append((await ledger.settle_landing(JOB, entry), await ledger.resume_stamp(entry)))
        await sink.create(pdf, b"%PDF-", "application/pdf")
        seen.append((await ledger.settle_landing(JOB, entry), await ledger.resume_stamp(entry)))
        await sink.create(document, b"{}", "application/json")
        settled = await ledger.settle_landing(JOB, entry)
        assert settled is not None
        seen.append((settled.status, settled.execution_ids, len(settled.landed)))
        return seen

    assert asyncio.run(scenario()) == [(None, None), (None, "20240116_030000"), ("success", ("dead1",), 2)]
