"""A fleet of real `scrapers run-many` processes against one rate-limited loopback upstream.

Every replica is its own OS process running `bdl_player_detail` jobs (one request each) through the
real CLI, core and limiter, with `COURTSIDE_STATE` set to whatever the caller names (a real
redis-server, a SQLite file, `memory`). The registry is the project's, copied with BallDontLie's
rate set to `share` of what the upstream allows (rate and ceiling alike, burst 1), so a perfect
limiter sends slightly less than the upstream admits.

The upstream admits `allowed` requests per sliding `window` seconds, counted over every connection
(one `RateLimit` behaviour for every path; refused requests do not count), and answers the rest
429 with `Retry-After: 1`. Replica i asks for player ids `(i + 1) * 100000 + k`, so the upstream's
own records say which replica sent each request, when it arrived and whether it was admitted: the
figures come from what the upstream saw, not from what the replicas believe they did.

The steady span starts when the last replica's first request arrives (all of them compete from
then on) and ends with the `steady_requests`-th request after that: the replicas are then stopped
(SIGTERM, as Cloud Run stops a task). A fixed count of requests, not a fixed time, so the figures
have the same weight on an idle machine and on a loaded one, where replicas start seconds apart.

Used by tests/integration/test_fleet_ratelimit.py (asserted) and bench/fleet.py (reported).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiohttp import web

from tests.harness._server import LoopbackServer
from tests.harness.upstream import Behaviour, Upstream, rate_limit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BDL = "https://api.balldontlie.io"
PLAYER = json.loads((PROJECT_ROOT / "tests/fixtures/bdl/bdl_player_detail-901101.body.json").read_text())
_PLAYER_PATH = re.compile(r"/v1/players/([0-9]+)")
IDS_PER_REPLICA = 100_000
POLL_SECONDS = 0.1
# A hung fleet fails the caller instead of hanging it; a healthy one ends long before.
GUARD_SECONDS = 300.0


class EchoPlayer(Behaviour):
    """A BallDontLie player answer for whatever id the path asks for (the parse checks the id)."""

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        found = _PLAYER_PATH.fullmatch(request.path)
        if found is None:
            return web.Response(status=404, text="no route")
        return web.json_response({"data": {**PLAYER["data"], "id": int(found.group(1))}})


class Answered(Behaviour):
    """Another behaviour, with every answer it gave: the path, when it decided, and the status."""

    def __init__(self, inner: Behaviour) -> None:
        self.inner = inner
        self.answers: list[tuple[str, float, int]] = []

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        at = time.monotonic()  # RateLimit decides without awaiting, so this is its moment
        response = await self.inner.handle(request, server)
        self.answers.append((request.path, at, response.status))
        return response


@dataclass(frozen=True)
class FleetPlan:
    state: str  # COURTSIDE_STATE of every replica
    replicas: int = 4
    allowed: int = 72  # requests the upstream admits per window
    window: float = 12.0  # seconds
    share: float = 0.93  # the configured rate (and ceiling) as a share of the allowed rate
    steady_requests: int = 100  # requests the upstream sees in the steady span before the stop
    jobs_per_replica: int = 60  # more than a replica sends before the stop
    concurrency: int = 4  # `run-many --concurrency`: jobs in flight per replica

    @property
    def allowed_rate(self) -> float:
        return self.allowed / self.window

    @property
    def configured_rate(self) -> float:
        return self.allowed_rate * self.share


@dataclass(frozen=True)
class Arrival:
    replica: int
    at: float  # the upstream's monotonic clock
    accepted: bool


@dataclass(frozen=True)
class Figures:
    seconds: float
    accepted: int
    refused: int
    allowed_rate: float

    @property
    def accepted_share(self) -> float:
        """Accepted requests over what the upstream allowed in the same time."""
        return self.accepted / (self.allowed_rate * self.seconds) if self.seconds > 0 else 0.0

    @property
    def refused_share(self) -> float:
        sent = self.accepted + self.refused
        return self.refused / sent if sent else 0.0


@dataclass
class FleetRun:
    plan: FleetPlan
    arrivals: list[Arrival]
    exit_codes: list[int]
    stopped_at: float | None  # when the steady span ended (None: the replicas ran out of jobs)
    results: list[list[dict[str, object]]] = field(default_factory=list)  # per replica, its runs

    def span(self) -> tuple[float, float]:
        """The steady span: every replica had started, none had been stopped."""
        start = _steady_start(self.arrivals, self.plan.replicas)
        if start is None:
            return 0.0, 0.0
        end = self.stopped_at
        if end is None:
            end = min(max(a.at for a in self.arrivals if a.replica == r) for r in range(self.plan.replicas))
        return start, end

    def steady(self) -> Figures:
        """The requests of the span after its first one: n requests end n intervals after it, so
        counting the first too would credit the fleet one request it did not send in the span."""
        start, end = self.span()
        return _figures([a for a in self.arrivals if start < a.at <= end], end - start, self.plan)

    def whole(self) -> Figures:
        times = [a.at for a in self.arrivals]
        return _figures(self.arrivals, max(times) - min(times) if times else 0.0, self.plan)

    def failed_runs(self) -> dict[str, int]:
        """Failed runs by failure class, over every replica (stopped runs fail `transient`)."""
        failed: dict[str, int] = {}
        for runs in self.results:
            for run in runs:
                result = run.get("result")
                if isinstance(result, Mapping) and result.get("status") == "failed":
                    name = str(result.get("failure_class"))
                    failed[name] = failed.get(name, 0) + 1
        return failed


def _figures(arrivals: list[Arrival], seconds: float, plan: FleetPlan) -> Figures:
    return Figures(
        seconds=max(0.0, seconds),
        accepted=sum(1 for a in arrivals if a.accepted),
        refused=sum(1 for a in arrivals if not a.accepted),
        allowed_rate=plan.allowed_rate,
    )


def _steady_start(arrivals: list[Arrival], replicas: int) -> float | None:
    firsts: dict[int, float] = {}
    for arrival in arrivals:
        firsts.setdefault(arrival.replica, arrival.at)
    return max(firsts.values()) if len(firsts) == replicas else None


def most_in_any_window(arrivals: list[Arrival], window: float) -> int:
    """The most accepted requests inside any `window` seconds: what the upstream's limit bounds."""
    times = sorted(a.at for a in arrivals if a.accepted)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def fleet_registry(plan: FleetPlan, folder: Path) -> Path:
    """The project's registry with BallDontLie limited to the plan's configured rate."""
    registry = yaml.safe_load((PROJECT_ROOT / "registry.yaml").read_text())
    rate = plan.configured_rate
    registry["sources"]["bdl"]["rate"] = {"per_second": rate, "burst": 1, "ceiling_per_second": rate}
    copied = folder / "registry.yaml"
    copied.write_text(yaml.safe_dump(registry))
    return copied


def _environment(plan: FleetPlan, upstream: Upstream, registry: Path, out: Path) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    return {
        **base,
        "COURTSIDE_STATE": plan.state,
        "COURTSIDE_UPSTREAMS": f"{BDL}={upstream.url}",
        "COURTSIDE_REGISTRY": str(registry),
        "COURTSIDE_OUT": str(out),
        "COURTSIDE_SHUTDOWN_GRACE_SECONDS": "1",  # stopped replicas end their runs quickly
        "BDL_API_KEY": "fleet-test-key",
    }


async def _start(
    plan: FleetPlan, index: int, upstream: Upstream, registry: Path, folder: Path
) -> asyncio.subprocess.Process:
    first = (index + 1) * IDS_PER_REPLICA
    jobs = [{"scraper": "bdl_player_detail", "player_id": first + k} for k in range(plan.jobs_per_replica)]
    jobs_file = folder / f"jobs-{index}.json"
    jobs_file.write_text(json.dumps(jobs))
    with (
        (folder / f"replica-{index}.out").open("wb") as stdout,
        (folder / f"replica-{index}.err").open("wb") as stderr,
    ):  # the child keeps its own copies of the descriptors
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scrapers",
            "run-many",
            "--file",
            str(jobs_file),
            "--concurrency",
            str(plan.concurrency),
            "--json",
            cwd=folder,  # a default SQLite state file would land here, never in the checkout
            env=_environment(plan, upstream, registry, folder / f"out-{index}"),
            stdout=stdout,
            stderr=stderr,
        )


async def _stop_when_steady(
    plan: FleetPlan, answered: Answered, processes: list[asyncio.subprocess.Process]
) -> float:
    """Poll the upstream's records (the replicas' real progress); SIGTERM every replica once the
    steady span holds `steady_requests` requests. Returns when the span ended."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        arrivals = [_arrival(*answer) for answer in list(answered.answers)]
        start = _steady_start(arrivals, plan.replicas)
        if start is None:
            continue
        inside = sorted(a.at for a in arrivals if a.at >= start)
        if len(inside) > plan.steady_requests:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            return inside[plan.steady_requests]


async def run_fleet(plan: FleetPlan, folder: Path) -> FleetRun:
    """Start the upstream and `plan.replicas` replicas at once; return what the upstream saw."""
    folder.mkdir(parents=True, exist_ok=True)
    registry = fleet_registry(plan, folder)
    answered = Answered(rate_limit(plan.allowed, "1", then=EchoPlayer(), window=plan.window))
    async with Upstream(default=answered) as upstream:
        processes = [await _start(plan, i, upstream, registry, folder) for i in range(plan.replicas)]
        stopper = asyncio.create_task(_stop_when_steady(plan, answered, processes))
        try:
            async with asyncio.timeout(GUARD_SECONDS):
                codes = [await process.wait() for process in processes]
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            if not stopper.done():
                stopper.cancel()  # the replicas ran out of jobs first
                with contextlib.suppress(asyncio.CancelledError):
                    await stopper
        stopped_at = None if stopper.cancelled() else stopper.result()
    arrivals = [_arrival(*answer) for answer in answered.answers]
    results = [_runs((folder / f"replica-{i}.out").read_text()) for i in range(plan.replicas)]
    return FleetRun(plan, arrivals, codes, stopped_at, results)


def _arrival(path: str, at: float, status: int) -> Arrival:
    found = _PLAYER_PATH.fullmatch(path)
    if found is None or status not in (200, 429):
        raise AssertionError(f"unexpected request or answer at the upstream: {path} -> {status}")
    return Arrival(int(found.group(1)) // IDS_PER_REPLICA - 1, at, status == 200)


def _runs(text: str) -> list[dict[str, object]]:
    """`run-many --json` prints a JSON list of runs; nothing when the replica crashed."""
    try:
        runs = json.loads(text)
    except ValueError:
        return []
    return [run for run in runs if isinstance(run, dict)] if isinstance(runs, list) else []
