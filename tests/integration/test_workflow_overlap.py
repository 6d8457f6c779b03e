"""Two overlapping ticks never run one window twice.

The first tick is a real `scrapers tick` process; the second runs in this process (the same CLI,
its own connection to the store), both deciding for the same moment against one SQLite state store.
The first one's job (the season schedule, live against a loopback cdn.nba.com) is held open by the
upstream until the second tick has finished: the second finds the window held and runs nothing.
Then the first completes, and the upstream saw exactly one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from scrapers.cli import main
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness._server import LoopbackServer
from tests.harness.upstream import Behaviour, Upstream
from tests.workflows.season import A, eastern

pytestmark = pytest.mark.integration

CDN = "https://cdn.nba.com"
SCHEDULE = "/static/json/staticData/scheduleLeagueV2_1.json"
AT = eastern(A, 7, 5)
DEADLINE_SECONDS = 60.0
WORKFLOWS = """
workflows:
  morning_operations:
    description: the season schedule
    trigger: {at: "07:00"}
    jobs:
      - {scraper: nbac_schedule_cdn, refresh: true}
"""


class Gate(Behaviour):
    """Holds each request until opened, then answers with the recorded schedule."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.body = (PROJECT_FIXTURES / "nbac" / "nbac_schedule_cdn-2023-24.body.json").read_bytes()

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        await self.opened.wait()
        return web.Response(body=self.body, content_type="application/json")


async def _tick(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        "tick",
        "--at",
        AT,
        "--json",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _tick_here() -> list[dict[str, Any]]:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(["tick", "--at", AT, "--json"])
    assert code == 0
    decisions: list[dict[str, Any]] = json.loads(captured.getvalue())
    return decisions


async def _finished(process: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), DEADLINE_SECONDS)
    assert process.returncode == 0, stderr.decode()
    decisions: list[dict[str, Any]] = json.loads(stdout)
    return decisions


def test_a_window_held_by_one_tick_is_not_run_by_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflows = tmp_path / "workflows.yaml"
    workflows.write_text(WORKFLOWS, encoding="utf-8")

    async def scenario() -> None:
        gate = Gate()
        async with Upstream({SCHEDULE: gate}) as upstream:
            for name in [name for name in os.environ if name.startswith(("COURTSIDE_", "HTTP"))]:
                monkeypatch.delenv(name)
            monkeypatch.setenv("COURTSIDE_UPSTREAMS", f"{CDN}={upstream.url}")
            monkeypatch.setenv("COURTSIDE_STATE", f"sqlite:{tmp_path / 'state.sqlite'}")
            monkeypatch.setenv("COURTSIDE_WORKFLOWS", str(workflows))
            monkeypatch.setenv("COURTSIDE_OUT", str(tmp_path / "out"))
            first = await _tick(dict(os.environ))
            try:
                deadline = time.monotonic() + DEADLINE_SECONDS
                while upstream.count(SCHEDULE) == 0:  # the first tick claimed the window and is fetching
                    assert first.returncode is None, (await first.communicate())[1].decode()
                    assert time.monotonic() < deadline, "the first tick never requested the schedule"
                    await asyncio.sleep(0.05)  # the poll interval of a real process's progress

                # The second tick, while the first holds the window (its own event loop, in a thread).
                second = await asyncio.to_thread(_tick_here)
            finally:
                gate.opened.set()
            made = await _finished(first)

        assert upstream.count(SCHEDULE) == 1
        [held] = second
        assert (held["workflow"], held["decision"], held["window"]) == (
            "morning_operations",
            "skip",
            "2024-01-15",
        )
        assert "is being run by another tick" in held["reason"]
        [ran] = made
        assert (ran["decision"], ran["window"], ran["outcome"]) == ("run", "2024-01-15", "1 success")

    asyncio.run(scenario())
