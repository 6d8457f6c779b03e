"""The delivery protocol at its exact steps: a process that dies at a chosen point, a sweep beside a
live run, SIGTERM while a publish hangs, and the retention of sent entries and run summaries.

A dying process is a real child process that writes through the real outbox and exits with
os._exit at the step under test (no cleanup runs, as with SIGKILL); the sweep then runs in this one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from scrapers.events.completion import CompletionMessage
from scrapers.events.delivery import INTERRUPTED_BEFORE_LANDING, digest, local_delivery
from tests.conftest import PROJECT_ROOT

DOCUMENT = b'{"games": [1, 2, 3]}'
PATH = "nba-com/scoreboard/2024-01-15/20240116_030000.json"
RUN_OPTIONS = ("--game_date", "2024-01-15", "--replay", "--json")


def _message(execution_id: str, status: str = "success") -> CompletionMessage:
    return CompletionMessage(
        processor_name="nbac_scoreboard_v2",
        execution_id=execution_id,
        correlation_id=execution_id,
        game_date="2024-01-15",
        status=status,
        record_count=3,
        timestamp="2024-01-16T03:00:00+00:00",
        duration_seconds=0.1,
        trigger_source="test",
        metadata={"gcs_path": f"/out/{PATH}", "landed_paths": [f"/out/{PATH}"]},
    )


def _completions(out: Path) -> list[dict[str, Any]]:
    events = out / "_events" / "completions.jsonl"
    return [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []


def _die_at(out: Path, step: str) -> None:
    """A child process records an intent for PATH, then dies at `step`."""
    script = textwrap.dedent(
        f"""
        import asyncio, os
        from pathlib import Path
        from scrapers.events.delivery import local_delivery, digest
        from scrapers.sinks.file import FileSink
        from tests.delivery.test_protocol import _message, DOCUMENT, PATH

        async def main():
            out = Path({str(out)!r})
            delivery = local_delivery(out)
            await delivery.intend(_message("run-{step}"), "nbac", {{PATH: digest(DOCUMENT)}})
            if {step!r} == "after_landing":
                await FileSink(out).create(PATH, DOCUMENT, "application/json")
            os._exit(9)

        asyncio.run(main())
        """
    )
    died = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, check=False, timeout=60)
    assert died.returncode == 9


def test_a_run_that_died_after_its_intent_and_before_landing_is_reported_interrupted(tmp_path: Path) -> None:
    _die_at(tmp_path, "before_landing")
    assert not (tmp_path / PATH).exists()

    report = asyncio.run(local_delivery(tmp_path).sweep())

    assert report.settled == ["run-before_landing"]
    (message,) = _completions(tmp_path)
    assert message["status"] == "failed"
    assert message["error_type"] == "transient"
    assert message["error_message"] == INTERRUPTED_BEFORE_LANDING
    assert message["metadata"]["landed_paths"] == []
    assert "gcs_path" not in message["metadata"]


def test_a_run_that_died_after_landing_gets_its_success_completion_from_the_sweep(tmp_path: Path) -> None:
    _die_at(tmp_path, "after_landing")
    assert (tmp_path / PATH).read_bytes() == DOCUMENT

    report = asyncio.run(local_delivery(tmp_path).sweep())

    assert report.settled == ["run-after_landing"]
    (message,) = _completions(tmp_path)
    assert message["status"] == "success"
    assert message["metadata"]["landed_paths"] == [f"/out/{PATH}"]
    # Once settled and sent, a second sweep has nothing left to send.
    assert asyncio.run(local_delivery(tmp_path).sweep()).sent == []
    assert len(_completions(tmp_path)) == 1


def test_an_intent_whose_path_holds_other_bytes_is_not_claimed_as_landed(tmp_path: Path) -> None:
    _die_at(tmp_path, "before_landing")
    (tmp_path / PATH).parent.mkdir(parents=True)
    (tmp_path / PATH).write_bytes(b'{"someone": "else"}')  # another run's document at that path

    asyncio.run(local_delivery(tmp_path).sweep())

    (message,) = _completions(tmp_path)
    assert message["status"] == "failed"


def test_a_sweep_never_takes_the_entry_of_a_live_run(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int, int]:
        run = local_delivery(tmp_path)
        await run.intend(_message("live"), "nbac", {PATH: digest(DOCUMENT)})
        during = await local_delivery(tmp_path).sweep()  # another process's sweep, in effect
        warning = await run.publish(_message("live"), "nbac")
        assert warning is None
        after = await local_delivery(tmp_path).sweep()
        return during.skipped, len(during.sent), len(after.sent)

    skipped, sent_during, sent_after = asyncio.run(scenario())
    assert (skipped, sent_during, sent_after) == (1, 0, 0)
    assert [m["execution_id"] for m in _completions(tmp_path)] == ["live"]


def test_a_second_completion_for_one_execution_is_refused(tmp_path: Path) -> None:
    from scrapers.events.outbox import DuplicateExecution

    async def twice() -> None:
        delivery = local_delivery(tmp_path)
        assert await delivery.publish(_message("once"), "nbac") is None
        await delivery.publish(_message("once", status="failed"), "nbac")

    with pytest.raises(DuplicateExecution):
        asyncio.run(twice())
    assert [m["status"] for m in _completions(tmp_path)] == ["success"]


def test_sent_entries_and_run_summaries_are_pruned_after_the_retention(tmp_path: Path) -> None:
    async def two_runs() -> None:
        delivery = local_delivery(tmp_path)
        for name in ("old", "new"):
            assert await delivery.publish(_message(name), "nbac") is None

    asyncio.run(two_runs())
    summaries = tmp_path / "_runs" / "nbac_scoreboard_v2"
    summaries.mkdir(parents=True)
    for name in ("old", "new"):
        (summaries / f"{name}.json").write_text("{}")
    a_week_ago = time.time() - 8 * 86400
    for old in (tmp_path / "_outbox" / "sent" / "old.json", summaries / "old.json"):
        os.utime(old, (a_week_ago, a_week_ago))

    delivery = local_delivery(tmp_path)
    delivery.retained_folders = ("_runs",)
    report = asyncio.run(delivery.sweep())

    assert report.pruned == 2
    assert sorted(p.name for p in (tmp_path / "_outbox" / "sent").iterdir()) == ["new.json"]
    assert sorted(p.name for p in summaries.iterdir()) == ["new.json"]
    assert (tmp_path / "_events" / "completions.jsonl").exists()  # the delivered lines stay


def test_sigterm_while_the_publish_hangs_ends_with_one_completion_in_bounded_time(
    tmp_path: Path,
) -> None:
    """The local publisher blocks on a FIFO nobody reads: the run is stuck inside its own publish."""
    out = tmp_path / "out"
    (out / "_events").mkdir(parents=True)
    os.mkfifo(out / "_events" / "completions.jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapers", "run", "nbac_scoreboard_v2", *RUN_OPTIONS, "--out", str(out)],
        cwd=PROJECT_ROOT,
        env={**env, "COURTSIDE_STATE": "memory", "COURTSIDE_SHUTDOWN_GRACE_SECONDS": "0.001"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((out / "_outbox" / "claimed").glob("*.json")) or not list(out.glob("nba-com/**/*.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reached its publish"
        time.sleep(0.01)  # polling another process's progress, not a test delay
    process.send_signal(signal.SIGTERM)
    # The FIFO's writer is blocked in open(); a reader that takes one line lets it finish, as a
    # publisher that answers late would. Whatever it wrote is the run's one completion.
    with open(out / "_events" / "completions.jsonl") as fifo:
        lines = fifo.read().splitlines()
    stdout, stderr = process.communicate(timeout=60)

    assert len(lines) == 1, stderr
    assert stdout.strip(), f"exit {process.returncode}: {stderr}"
    result = json.loads(stdout)
    message = json.loads(lines[0])
    assert message["execution_id"] == result["run_id"]
    assert message["status"] == result["status"] == "success"
    assert not list((out / "_outbox" / "claimed").glob("*.json"))
    assert not list((out / "_outbox" / "pending").glob("*.json"))
