"""`scrapers serve` as a process: SIGTERM during a run loses nothing; logs are one JSON object a line.

The service runs live against a loopback upstream (COURTSIDE_UPSTREAMS) that holds the scoreboard
request until the test releases it, so "during a run" is a fact, not a timing guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import Locations, Settings
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from scrapers.service.app import open_service
from scrapers.service.lifecycle import run_service
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Behaviour, Upstream, respond
from tests.harness._server import LoopbackServer, drop_connection
from tests.service.harness import SCOREBOARD

SCOREBOARD_BODY = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
SCOREBOARD_PATH = "/stats/scoreboardV2"
SECRET = "never-log-this-token-9d2e"


class Held(Behaviour):
    """Answers the scoreboard only once released; says when a request has arrived."""

    def __init__(self) -> None:
        self.arrivals = 0
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        self.arrivals += 1
        self.arrived.set()
        released = asyncio.ensure_future(self.release.wait())
        closing = asyncio.ensure_future(server.closing.wait())
        await asyncio.wait({released, closing}, return_when=asyncio.FIRST_COMPLETED)
        released.cancel()
        closing.cancel()
        if not self.release.is_set():
            return drop_connection(request)
        return web.Response(body=SCOREBOARD_BODY, content_type="application/json")


class ServiceProcess:
    """A `scrapers serve` child process whose stdout is read as JSON log lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            text = raw.decode("utf-8").rstrip("\n")
            self.raw.append(text)
            self.lines.append(json.loads(text))  # a line that is not JSON fails the test here
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def line(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async with self._changed:
            await self._changed.wait_for(lambda: any(map(predicate, self.lines)) or self._reader.done())
        found = [entry for entry in self.lines if predicate(entry)]
        assert found, f"the service exited without that log line; stdout: {self.raw}"
        return found[0]

    async def wait(self) -> int:
        code = await self.process.wait()
        await self._reader
        return code


@asynccontextmanager
async def serving(
    args: Sequence[str], env: Mapping[str, str], cwd: Path = PROJECT_ROOT
) -> AsyncIterator[ServiceProcess]:
    """`scrapers serve ARGS` as a child process with exactly `env`; killed on exit if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        "serve",
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield ServiceProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@asynccontextmanager
async def serve(out: Path, upstream: Upstream, **env: str) -> AsyncIterator[ServiceProcess]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    environ.update(
        COURTSIDE_STATE="memory",
        COURTSIDE_UPSTREAMS=f"https://stats.nba.com={upstream.url}",
        COURTSIDE_SERVICE_TOKEN=SECRET,
        **env,
    )
    async with serving(["--port", "0", "--out", str(out)], environ) as service:
        yield service


def _events(out: Path) -> dict[str, dict[str, Any]]:
    path = out / "_events" / "completions.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return {event["execution_id"]: event for event in map(json.loads, lines)}


AUTH = {"Authorization": f"Bearer {SECRET}"}


def test_sigterm_during_a_run_finishes_it_then_exits_0(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, ServiceProcess]:
        held = Held()
        async with Upstream({SCOREBOARD_PATH: held}) as upstream, serve(tmp_path, upstream) as service:
            url = (await service.line(lambda e: e["message"].startswith("listening on")))["url"]
            async with aiohttp.ClientSession(url, headers=AUTH) as http:
                response = await http.post("/scrape", params={"wait": "false"}, json=SCOREBOARD)
                assert response.status == 202
                run_id = (await response.json())["run_id"]
                await held.arrived.wait()
                service.process.send_signal(signal.SIGTERM)
                await service.line(lambda e: e["message"] == "shutting down: no new runs")
                # No new runs: the listener is closed, or a kept-alive connection hears 503.
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    refused = await http.post("/scrape", json=SCOREBOARD)
                    assert refused.status == 503
                held.release.set()
            assert await service.wait() == 0
            assert held.arrivals == 1
            return run_id, service

    run_id, service = asyncio.run(scenario())
    event = _events(tmp_path)[run_id]
    assert (event["status"], event["record_count"], event["trigger_source"]) == ("success", 4, "service")
    assert Path(event["metadata"]["gcs_path"]).is_file()
    assert (tmp_path / "_runs" / "nbac_scoreboard_v2" / f"{run_id}.json").is_file()
    assert not list((tmp_path / "_outbox" / "pending").glob("*.json"))
    messages = [entry["message"] for entry in service.lines]
    assert messages[-2:] == ["outbox swept", "stopped"]
    _check_log_lines(service, run_id)
    of_run = [entry for entry in service.lines if entry.get("run_id") == run_id]
    assert "run finished: success, 4 records" in [entry["message"] for entry in of_run]


def test_sigterm_past_the_shutdown_timeout_cuts_runs_off_with_a_completion_each(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], ServiceProcess]:
        held = Held()
        async with (
            Upstream({SCOREBOARD_PATH: held}) as upstream,
            serve(
                tmp_path,
                upstream,
                COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT="0.2",
                COURTSIDE_SERVICE_SCRAPER_CONCURRENCY="1",
            ) as service,
        ):
            url = (await service.line(lambda e: e["message"].startswith("listening on")))["url"]
            async with aiohttp.ClientSession(url, headers=AUTH) as http:
                ids = []
                for _ in range(2):  # one runs (held upstream), one waits for the scraper's only slot
                    response = await http.post("/scrape", params={"wait": "false"}, json=SCOREBOARD)
                    ids.append((await response.json())["run_id"])
                await held.arrived.wait()
                queued = await (await http.get(f"/runs/{ids[1]}")).json()
                assert queued["state"] == "queued"
            service.process.send_signal(signal.SIGTERM)
            assert await service.wait() == 0
            return ids, service

    (running, queued), service = asyncio.run(scenario())
    events = _events(tmp_path)
    for run_id, where in ((running, "while running"), (queued, "before it started")):
        event = events[run_id]
        assert (event["status"], event["error_type"]) == ("failed", "transient")
        assert event["error_message"] == f"interrupted by shutdown {where}"
    messages = [entry["message"] for entry in service.lines]
    assert "2 runs did not finish within 0.2s and were cut off" in messages
    _check_log_lines(service, running)
    assert "run cut off" in [entry["message"] for entry in service.lines if entry.get("run_id") == queued]


def _check_log_lines(service: ServiceProcess, run_id: str) -> None:
    """Cloud Logging fields on every line, the run id on the run's lines, no secret anywhere."""
    for entry in service.lines:
        assert {"severity", "message", "time"} <= set(entry), entry
        assert entry["severity"] in {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"}
    assert not any(SECRET in line for line in service.raw)
    of_run = [entry["message"] for entry in service.lines if entry.get("run_id") == run_id]
    assert "run started" in of_run
    access = [entry for entry in service.lines if "httpRequest" in entry]
    assert access
    assert {"requestMethod", "requestUrl", "status", "latency"} <= set(access[0]["httpRequest"])


def test_shutdown_pushes_the_service_metrics_to_the_pushgateway_once(tmp_path: Path) -> None:
    group = "/metrics/job/courtside/instance/service"

    async def scenario() -> None:
        async with Upstream({group: respond(200)}) as gateway:
            service = await open_service(
                load_registry(),
                Locations(out=str(tmp_path), fixtures=PROJECT_FIXTURES),
                ServiceSettings(),
                Redactor(),
                transport=ReplayTransport(PROJECT_FIXTURES),
                replay=True,
                env=Settings.from_env({"COURTSIDE_PUSHGATEWAY": gateway.url}),
            )
            listening = asyncio.Event()
            urls: list[str] = []

            def on_listening(url: str) -> None:
                urls.append(url)
                listening.set()

            stop = asyncio.Event()
            serving = asyncio.create_task(
                run_service(
                    service, "127.0.0.1", 0, stop=stop, on_listening=on_listening, handle_signals=False
                )
            )
            await listening.wait()
            async with aiohttp.ClientSession(urls[0]) as http:
                assert (await http.post("/scrape", json=SCOREBOARD)).status == 200
            assert gateway.count() == 0, "a service pushes once, when it stops; Prometheus scrapes it before"
            stop.set()
            assert await serving == 0
            (push,) = gateway.requests
            assert (push.method, push.path) == ("PUT", group)
            assert b'scraper_runs_total{scraper="nbac_scoreboard_v2",status="success"} 1.0' in push.body

    asyncio.run(scenario())
