"""Faults of our own environment: a full or read-only disk, a state store that stops mid-run, a
corrupt outbox entry. Each is classified, leaves no debris, and never costs a completion.

The full disk is a real, tiny tmpfs mounted for the test (root may mount here; where it may not,
the test says so and skips), remounted read-only for the read-only case. The state store is a real
redis-server of the test's own, shut down or paused once the run's request reaches the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.exceptions
from aiohttp import web

from scrapers.core.outcome import Outcome
from scrapers.events.completion import CompletionMessage
from scrapers.events.delivery import EVENTS_FILE, OUTBOX_FOLDER, local_delivery
from scrapers.events.publishers import JsonLinesPublisher, PublishError
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Behaviour, Upstream, respond
from tests.harness._server import LoopbackServer
from tests.integration.redis_server import redis_server_binary, running_redis

pytestmark = pytest.mark.integration

PAGE = 4096


@contextlib.contextmanager
def tiny_disk(where: Path, size: int) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Take every byte of the disk but `leave` (rounded to the tmpfs page)."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with (disk / "filler").open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _run(out: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *args, "--out", str(out)],
        cwd=PROJECT_ROOT,
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_full_disk_is_a_landing_failure_that_leaves_no_debris(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", 64 * PAGE) as disk:
        fill(disk, 0)
        done = _run(disk, "run", "nbac_scoreboard_v2", "--game_date", "2024-01-15", "--replay", "--json")
        left = _files(disk)

    assert done.returncode == Outcome.LANDING.exit_code, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["error_type"] == "landing"
    assert result["landed"] == []
    assert "internal error" not in done.stderr
    assert left == ["filler"], "no temporary file, no half document, no half outbox entry"


def test_a_read_only_disk_is_a_landing_failure_that_leaves_nothing(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", 16 * PAGE) as disk:
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True, check=False)
        assert remounted.returncode == 0, remounted.stderr.decode()
        done = _run(disk, "run", "nbac_scoreboard_v2", "--game_date", "2024-01-15", "--replay", "--json")
        left = _files(disk)

    assert done.returncode == Outcome.LANDING.exit_code, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["error_type"] == "landing"
    assert result["landed"] == []
    assert "internal error" not in done.stderr
    assert left == []


STATS = "https://stats.nba.com"
SCOREBOARD_PATH = "/stats/scoreboardV2"
SCOREBOARD = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()


def _stop_store(url: str, how: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        if how == "killed":
            client.shutdown(nosave=True)  # the server exits; redis-py takes the closed socket as done
        else:
            # Every client's commands are held (10 min, far past the test): a store that hangs.
            client.client_pause(600_000, all=True)
    finally:
        client.close()


# Killed: 2 s. Paused: each state-store call waits out its socket timeout first (10 s measured), so
# it is `make test-slow`; both reach the same runner step, bookkeeping after landing.
@pytest.mark.parametrize("how", ["killed", pytest.param("paused", marks=pytest.mark.slow)])
def test_a_state_store_that_stops_after_landing_costs_the_run_neither_its_completion_nor_its_status(
    tmp_path: Path, how: str
) -> None:
    """Before: the run landed its document, failed writing the state store, and ended exit 1 with
    no completion and no pending entry (the service answered 503, and a client retry landed twice)."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): Redis tests skipped")
    out = tmp_path / "out"

    with running_redis(tmp_path) as url:  # a server of its own: this test stops it

        class StopsTheStore(Behaviour):
            """The request is here, so the run is past everything it asks the store before sending."""

            async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
                await asyncio.to_thread(_stop_store, url, how)
                return await respond(200, SCOREBOARD, {"Content-Type": "application/json"}).handle(
                    request, server
                )

        async def scenario() -> subprocess.CompletedProcess[str]:
            async with Upstream({SCOREBOARD_PATH: StopsTheStore()}) as upstream:
                argv = ("run", "nbac_scoreboard_v2", "--game_date", "2024-01-15", "--json")
                settings = {"COURTSIDE_STATE": url, "COURTSIDE_UPSTREAMS": f"{STATS}={upstream.url}"}
                return await asyncio.to_thread(_run, out, *argv, **settings)

        done = asyncio.run(scenario())

    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    (landed,) = result["landed"]
    assert any("run bookkeeping not written to the state store" in w for w in result["warnings"]), result
    (completion,) = [json.loads(line) for line in (out / EVENTS_FILE).read_text().splitlines()]
    assert (completion["execution_id"], completion["status"]) == (result["run_id"], "success")
    assert completion["metadata"]["landed_paths"] == [landed]
    outbox = out / OUTBOX_FOLDER
    assert [p.name for p in outbox.glob("*/*.json")] == [f"{result['run_id']}.json"]
    assert (outbox / "sent" / f"{result['run_id']}.json").is_file()


def test_a_completion_line_that_does_not_fit_is_cut_off_again(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", 16 * PAGE) as disk:
        events = disk / EVENTS_FILE
        publisher = JsonLinesPublisher(events)
        asyncio.run(publisher.send({"processor_name": "first"}, {}))
        before = events.read_bytes()
        fill(disk, PAGE)  # one page left: a line of three pages is written only in part
        with pytest.raises(PublishError):
            asyncio.run(publisher.send({"processor_name": "second", "padding": "x" * (3 * PAGE)}, {}))
        after = events.read_bytes()

    assert after == before, "the fragment of the line that did not fit must not stay behind"


def test_a_corrupt_outbox_entry_is_quarantined_and_the_others_are_sent(tmp_path: Path) -> None:
    out = tmp_path / "out"

    class Down:
        description = "a publisher that is down"
        timeout = 1.0

        async def send(self, message: object, attributes: object) -> None:
            raise PublishError("down")

        async def delivered(self, execution_id: str) -> None:
            return None

    async def leave_pending() -> None:
        delivery = local_delivery(out, Down())
        for name in ("kept-1", "kept-2"):
            message = CompletionMessage(
                processor_name=name,
                execution_id=name,
                correlation_id=name,
                game_date="2024-01-15",
                status="success",
                record_count=1,
                timestamp="2024-01-16T03:00:00+00:00",
                duration_seconds=0.1,
                trigger_source="test",
            )
            assert await delivery.publish(message, "nbac") is not None  # stays pending

    asyncio.run(leave_pending())
    pending = out / OUTBOX_FOLDER / "pending"
    (pending / "0000000000000-torn.json").write_bytes(b'{"id": "torn", "created_at": 1, "mess')

    done = _run(out, "republish", "--older-than", "0")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "sent 2, failed 0" in done.stdout
    assert "corrupt outbox entry 0000000000000-torn moved to quarantine" in done.stderr
    lines = (out / EVENTS_FILE).read_text().splitlines()
    assert sorted(json.loads(line)["processor_name"] for line in lines) == ["kept-1", "kept-2"]
    assert (out / OUTBOX_FOLDER / "quarantine" / "0000000000000-torn.json").is_file()
    assert not list(pending.glob("*.json"))
