"""Behind a load balancer any replica answers GET /runs/{id}: two real `scrapers serve` processes
share a real redis-server; a job submitted to one is polled, start to finish, on the other.

The upstream holds the scoreboard until the test releases it, so "the other replica sees it
running" is a fact, not a timing guess.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import PROJECT_ROOT
from tests.harness import Upstream
from tests.integration.redis_server import redis_server_binary, running_redis
from tests.service.harness import SCOREBOARD
from tests.service.test_lifecycle import SCOREBOARD_PATH, Held, ServiceProcess

pytestmark = pytest.mark.integration
POLL_DEADLINE_SECONDS = 60.0


@asynccontextmanager
async def replica(out: Path, state: str, upstream: str) -> AsyncIterator[tuple[ServiceProcess, str]]:
    """One `scrapers serve` process on a free port; yields it and its URL; SIGTERM, then kill."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    environ.update(COURTSIDE_STATE=state, COURTSIDE_UPSTREAMS=f"https://stats.nba.com={upstream}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        "serve",
        "--port",
        "0",
        "--out",
        str(out),
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
    )
    service = ServiceProcess(process)
    try:
        listening = await service.line(lambda entry: str(entry["message"]).startswith("listening on"))
        yield service, listening["url"]
        process.send_signal(signal.SIGTERM)
        assert await service.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _poll(http: aiohttp.ClientSession, path: str, until: str) -> list[dict[str, Any]]:
    """GET `path` until the run's state is `until`; every view seen on the way."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(POLL_DEADLINE_SECONDS):
        while not seen or seen[-1]["state"] != until:
            answer = await http.get(path)
            assert answer.status == 200, await answer.text()
            seen.append(await answer.json())
            await asyncio.sleep(0.05)  # polling pace, not synchronisation: the loop waits for a state
    return seen


def test_a_run_submitted_to_one_replica_is_answered_by_the_other(tmp_path: Path, redis_url: str) -> None:
    held = Held()

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with AsyncExitStack() as stack:
            upstream = await stack.enter_async_context(Upstream({SCOREBOARD_PATH: held}))
            # Both start at once (each pays the interpreter's start-up).
            (_, url_a), (_, url_b) = await asyncio.gather(
                stack.enter_async_context(replica(tmp_path / "a", redis_url, upstream.url)),
                stack.enter_async_context(replica(tmp_path / "b", redis_url, upstream.url)),
            )
            a = await stack.enter_async_context(aiohttp.ClientSession(url_a))
            b = await stack.enter_async_context(aiohttp.ClientSession(url_b))
            accepted = await a.post("/scrape", params={"wait": "false"}, json=SCOREBOARD)
            assert accepted.status == 202
            location = accepted.headers["Location"]
            # The 202 went out after the queued view was shared: B knows the run at once.
            first = await b.get(location)
            assert first.status == 200
            await held.arrived.wait()
            running = await _poll(b, location, until="running")
            held.release.set()
            done = await _poll(b, location, until="done")
            from_a = await (await a.get(location)).json()
            # A run neither replica ever had is still no run, on either.
            for http in (a, b):
                assert (await http.get("/runs/0123456789abcdef")).status == 404
                assert (await http.get("/runs/not-a-run-id")).status == 404
            return from_a, running + done, await first.json()

    from_a, seen_on_b, first = asyncio.run(scenario())
    assert first["state"] in ("queued", "running")
    assert from_a["state"] == "done"
    # The other replica's last view is the running replica's own, field for field.
    assert seen_on_b[-1] == from_a
    assert (from_a["status"], from_a["http_status"], from_a["result"]["record_count"]) == ("success", 200, 4)
    states = [view["state"] for view in seen_on_b]
    assert states.index("running") < states.index("done")
    assert held.arrivals == 1  # one run, by replica A only


def test_a_run_of_another_replica_is_503_while_the_shared_store_is_down(tmp_path: Path) -> None:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")

    async def scenario() -> tuple[int, str | None, dict[str, Any]]:
        async with Upstream({}) as upstream:
            with running_redis(tmp_path) as url:
                stack = AsyncExitStack()
                _, service_url = await stack.enter_async_context(replica(tmp_path / "out", url, upstream.url))
            # redis-server has stopped: the replica cannot know other replicas' runs for now.
            try:
                async with aiohttp.ClientSession(service_url) as http:
                    answer = await http.get("/runs/0123456789abcdef")
                    return answer.status, answer.headers.get("Retry-After"), await answer.json()
            finally:
                await stack.aclose()

    status, retry_after, body = asyncio.run(scenario())
    assert (status, retry_after) == (503, "5")
    assert "state store" in body["error"]
