"""Fleet breakers: how often a blocked proxy is hit when several processes share its circuit.

    .venv/bin/python -m bench.fleet_breakers [--processes 4] [--reset 0.5] [--seconds 10]

Table (b) of `python -m bench.fleet`, which runs it beside the rate and metrics tables; alone here.

Each row starts `--processes` real worker processes (`tests.harness.fleet_worker`: the production
Fetcher, two lanes each) fetching through one tier whose first proxy forbids the target host (a
loopback ForwardProxy answering 403) and whose second proxy is healthy, against a loopback upstream.
The breaker opens at the first failure (FAIL_MAX: why) and may probe again after `--reset` seconds.

* per-process: `COURTSIDE_STATE=memory`, every process keeps its own circuits (what one-job
  containers without a shared store get, and what the previous shared-snapshot design amounted to
  for concurrent replicas: each process probed once per window);
* fleet (SQLite / Redis): one circuit for all processes through a shared SQLite file or a real
  redis-server (skipped when `redis-server` is not installed).

Figures, from the blocked proxy's own log: hits until every process had made five fetches (the
circuit opening), hits per reset window over the next `--seconds` (target for the fleet: at most 1),
and all hits of the row. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web

from bench.scenario import ROOT
from bench.servers import flush, redis_server_binary, running_redis
from tests.harness import ForwardProxy, Upstream, respond_json
from tests.harness.fleet_worker import READY

BASE, PATH = "https://api.courtside.test", "/v1/games"
# One failure opens a circuit, so every process's own circuit opens at its first fetch and the
# per-process row measures open circuits too. With 3, a process's two lanes fail twice, its circuit
# stays closed, and the proxy (ranked after its healthy neighbour for those failures, proxy/pool.py)
# is never asked again: that row would measure the ranking, not a breaker (0 hits per window).
FAIL_MAX = 1
LANES = 2
WARM_FETCHES = 5  # per process before the steady state is measured: every circuit has opened
START_SECONDS = 120.0  # a worker that is not fetching by then is broken, not slow


class TimedProxy(ForwardProxy):
    """A ForwardProxy that also notes when each request arrived."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.arrivals: list[float] = []

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.arrivals.append(time.monotonic())
        return await super().handle(request)


@dataclass(frozen=True)
class Row:
    label: str
    to_open: int  # hits before the steady state
    steady: int  # hits during the measured seconds
    windows: float  # reset windows in the measured seconds
    total: int
    fetches: int  # fetches all processes finished (all succeeded through the healthy proxy or not)
    failed: int

    @property
    def per_window(self) -> float:
        return self.steady / self.windows


async def _row(label: str, state: str, processes: int, reset: float, seconds: float, tmp: Path) -> Row:
    async with (
        Upstream({PATH: respond_json({"games": []})}) as upstream,
        TimedProxy("blocked") as blocked,
        ForwardProxy("healthy") as healthy,
    ):
        blocked.forbid_hosts({f"127.0.0.1:{upstream.port}"})
        proxies = [{"name": "blocked", "url": blocked.url}, {"name": "healthy", "url": healthy.url}]
        document = {
            "tiers": [{"name": "datacenter", "proxies": proxies}],
            # Fixed windows (no growth after failed probes): the figure is requests per window.
            "breaker": {"fail_max": FAIL_MAX, "reset_seconds": reset, "max_reset_seconds": reset},
        }
        proxies_file = tmp / f"proxies-{label.split()[0]}.yaml"
        proxies_file.write_text(yaml.safe_dump(document), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COURTSIDE_", "HTTP"))}
        env |= {
            "COURTSIDE_STATE": state,
            "COURTSIDE_PROXIES_FILE": str(proxies_file),
            "COURTSIDE_UPSTREAMS": f"{BASE}={upstream.url}",
        }
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.harness.fleet_worker",
                BASE + PATH,
                "--concurrency",
                str(LANES),
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            for _ in range(processes)
        ]
        lines: list[list[str]] = [[] for _ in workers]

        async def read(index: int) -> None:
            stdout = workers[index].stdout
            assert stdout is not None
            async for raw in stdout:
                lines[index].append(raw.decode().strip())

        readers = [asyncio.create_task(read(i)) for i in range(len(workers))]
        try:
            await _until(lambda: all(READY in seen for seen in lines), "every worker to be wired")
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
            await _until(lambda: all(len(seen) > WARM_FETCHES for seen in lines), "every worker to fetch")
            start = time.monotonic()
            await asyncio.sleep(seconds)
            end = time.monotonic()
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.close()
            await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), START_SECONDS)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
            await asyncio.gather(*readers, return_exceptions=True)
        outcomes = [line.split()[1] for seen in lines for line in seen if line != READY]
        return Row(
            label,
            to_open=sum(1 for at in blocked.arrivals if at < start),
            steady=sum(1 for at in blocked.arrivals if start <= at < end),
            windows=(end - start) / reset,
            total=len(blocked.arrivals),
            fetches=len(outcomes),
            failed=sum(1 for outcome in outcomes if outcome != "ok"),
        )


async def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


@contextmanager
def _redis(tmp: Path, given: str | None) -> Iterator[str | None]:
    if given is not None:
        flush(given)  # a caller's server (bench.fleet runs every table on one): no earlier circuits
        yield given
    elif redis_server_binary() is None:
        yield None
    else:
        with running_redis(tmp) as url:
            yield url


def run_fleet_breakers(
    processes: int, reset: float, seconds: float, redis_url: str | None = None
) -> list[Row]:
    """One row per state store. `redis_url`: a running redis-server to use (emptied first); without
    it one is started here, or the Redis row is left out when `redis-server` is not installed."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        redis_url = stack.enter_context(_redis(tmp, redis_url))
        states = [
            ("per-process (memory)", "memory"),
            ("fleet (SQLite file)", f"sqlite:{tmp / 'state.sqlite'}"),
        ]
        if redis_url is not None:
            states.append(("fleet (Redis)", redis_url))
        return [asyncio.run(_row(label, state, processes, reset, seconds, tmp)) for label, state in states]


def render_fleet_breakers(rows: Sequence[Row], processes: int, reset: float, seconds: float) -> str:
    lines = [
        f"Fleet breakers: {processes} processes x {LANES} lanes, one blocked proxy (403) before a "
        f"healthy one, fail_max {FAIL_MAX}, reset window {reset:g}s, {seconds:g}s measured "
        f"(target for a fleet: <= 1 hit per window)",
        f"{'state':<22} {'hits to open':>12} {'hits/window':>11} {'hits':>5} {'fetches':>8} {'failed':>6}",
    ]
    for row in rows:
        lines.append(
            f"{row.label:<22} {row.to_open:>12} {row.per_window:>11.2f} {row.total:>5} "
            f"{row.fetches:>8} {row.failed:>6}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fleet_breakers", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--processes", type=int, default=4, help="worker processes per row (default 4)")
    parser.add_argument(
        "--reset", type=float, default=0.5, help="breaker reset window, seconds (default 0.5)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per row (default 10)")
    args = parser.parse_args(argv)
    if args.processes < 1 or args.reset <= 0 or args.seconds <= 0:
        print("error: --processes, --reset and --seconds must be positive", file=sys.stderr)
        return 2
    rows = run_fleet_breakers(args.processes, args.reset, args.seconds)
    print(render_fleet_breakers(rows, args.processes, args.reset, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
