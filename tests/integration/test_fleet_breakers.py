"""Breakers of a fleet: four real processes share one circuit per (proxy, host) through a real
redis-server (or one SQLite file), fetching through loopback forward proxies to a loopback upstream.

Each process is `tests.harness.fleet_worker`: the production Fetcher, proxy pool and state store,
wired from COURTSIDE_STATE / COURTSIDE_PROXIES_FILE / COURTSIDE_UPSTREAMS like `scrapers run`.
One tier holds a blocked proxy (403 for our host) in front of a healthy one, so every fetch asks
the blocked proxy's breaker first and then lands through the healthy proxy.

Nothing here depends on how fast the machine is: the reset window is an hour, and a window
"passes" when the test moves the circuit's `opened_at` back (as the existing single-process tests
do), so each window's probes are counted exactly. Waiting means polling the store and the workers'
progress with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from proxy.breakers import BREAKER_NAMESPACE
from proxy.state import StateStore, compare_and_set, open_store
from tests.conftest import PROJECT_ROOT
from tests.harness import ForwardProxy, Upstream, respond_json
from tests.harness.fleet_worker import READY, WORKER_HEADER

pytestmark = pytest.mark.integration

BASE = "https://api.courtside.test"
HOST = "api.courtside.test"
PATH = "/v1/games"
URL = BASE + PATH
CIRCUIT = f"datacenter/blocked/{HOST}"
PROCESSES = 4
RESET_SECONDS = 3600.0
WAIT_SECONDS = 60.0  # a deadline for progress; a passing run needs a small fraction of it


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds; fail naming `what` after WAIT_SECONDS."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        await asyncio.sleep(0.02)


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    stderr: bytes = b""

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode().strip())

    def done_by_lane(self) -> Counter[str]:
        return Counter(line.split()[0] for line in self.lines if line != READY)

    def outcomes(self) -> Counter[str]:
        return Counter(line.split()[1] for line in self.lines if line != READY)


@dataclass
class Fleet:
    upstream: Upstream
    blocked: ForwardProxy
    healthy: ForwardProxy
    store: StateStore
    workers: list[Worker]
    lanes: int  # fetch loops per worker

    async def circuit(self) -> dict[str, Any]:
        stored = await self.store.get(BREAKER_NAMESPACE, CIRCUIT)
        assert stored is not None, "the blocked proxy's circuit was never written"
        return stored

    async def settle(self) -> None:
        """Wait until every lane of every worker finished two more fetches: whatever was in flight
        when this was called (and might have read the circuit before it last changed) is over."""
        marks = [worker.done_by_lane() for worker in self.workers]

        async def moved_on() -> bool:
            return all(
                now[lane] >= before[lane] + 2
                for worker, before in zip(self.workers, marks, strict=True)
                for now in [worker.done_by_lane()]
                for lane in map(str, range(self.lanes))
            )

        await until(moved_on, "every worker to finish two more fetches")


@asynccontextmanager
async def fleet(
    tmp_path: Path,
    state: str,
    *,
    fail_max: int,
    concurrency: int,
    requests: int | None = None,
    blocked_alone: bool = False,
) -> AsyncIterator[Fleet]:
    """Servers, a proxies file and PROCESSES started workers that have all been told to go.

    `blocked_alone`: the blocked proxy is the only one of its tier and every request probes that
    tier (`probe_every_requests: 1`), so every fetch asks it first even after it failed (within a
    tier, a proxy with a recent fault goes after its healthy neighbours)."""
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(Upstream({PATH: respond_json({"games": []})}))
        blocked = await stack.enter_async_context(ForwardProxy("blocked"))
        healthy = await stack.enter_async_context(ForwardProxy("healthy"))
        blocked.forbid_hosts({f"127.0.0.1:{upstream.port}"})
        document: dict[str, Any] = {
            "tiers": [
                {
                    "name": "datacenter",
                    "proxies": [
                        {"name": "blocked", "url": blocked.url},
                        {"name": "healthy", "url": healthy.url},
                    ],
                }
            ],
            "breaker": {"fail_max": fail_max, "reset_seconds": RESET_SECONDS},
        }
        if blocked_alone:
            document["tiers"] = [
                {"name": "datacenter", "proxies": [{"name": "blocked", "url": blocked.url}]},
                {"name": "residential", "proxies": [{"name": "healthy", "url": healthy.url}]},
            ]
            document["escalation"] = {"probe_every_requests": 1}
        proxies_file = tmp_path / "proxies.yaml"
        proxies_file.write_text(yaml.safe_dump(document), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COURTSIDE_", "HTTP"))}
        env |= {
            "COURTSIDE_STATE": state,
            "COURTSIDE_PROXIES_FILE": str(proxies_file),
            "COURTSIDE_UPSTREAMS": f"{BASE}={upstream.url}",
        }
        store = open_store(state)
        stack.push_async_callback(store.aclose)
        args = ["--concurrency", str(concurrency)]
        if requests is not None:
            args += ["--requests", str(requests)]
        workers: list[Worker] = []
        readers: list[asyncio.Task[None]] = []

        async def stop() -> None:
            for worker in workers:
                if worker.process.returncode is None:
                    worker.process.kill()
                    await worker.process.wait()
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

        stack.push_async_callback(stop)  # never leave a worker behind, whatever failed
        for _ in range(PROCESSES):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.harness.fleet_worker",
                URL,
                *args,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            workers.append(Worker(process))
            readers.append(asyncio.create_task(workers[-1].read()))

        async def all_ready() -> bool:
            for worker in workers:
                if worker.process.returncode is not None:
                    _, stderr = await worker.process.communicate()
                    pytest.fail(f"a worker exited early: {stderr.decode()[-2000:]}")
            return all(READY in worker.lines for worker in workers)

        await until(all_ready, "every worker to be wired")
        for worker in workers:  # as close together as the test can make it
            assert worker.process.stdin is not None
            worker.process.stdin.write(b"go\n")
        await asyncio.gather(*(w.process.stdin.drain() for w in workers if w.process.stdin is not None))
        yield Fleet(upstream, blocked, healthy, store, workers, concurrency)


async def finish(fleet: Fleet) -> None:
    """Close the workers' stdin (the ones fetching until EOF stop) and check they exited cleanly."""
    for worker in fleet.workers:
        assert worker.process.stdin is not None
        worker.process.stdin.close()
    for worker in fleet.workers:
        assert worker.process.stderr is not None
        stderr = await asyncio.wait_for(worker.process.stderr.read(), WAIT_SECONDS)
        code = await asyncio.wait_for(worker.process.wait(), WAIT_SECONDS)
        assert code == 0, stderr.decode()[-2000:]


async def age(fleet: Fleet) -> str:
    """Let one reset window pass for the open circuit: move its opening back by a window."""
    stored = await fleet.circuit()
    assert stored["state"] == "open"
    opened = datetime.fromisoformat(stored["opened_at"]) - timedelta(seconds=RESET_SECONDS + 1)
    aged = opened.isoformat()
    await fleet.store.put(BREAKER_NAMESPACE, CIRCUIT, {**stored, "opened_at": aged})
    return aged


WINDOWS = 3


def test_an_open_proxy_gets_one_probe_per_reset_window_from_four_processes(
    tmp_path: Path, redis_url: str
) -> None:
    async def scenario() -> None:
        async with fleet(tmp_path, redis_url, fail_max=3, concurrency=2) as f:

            async def opened() -> bool:
                stored = await f.store.get(BREAKER_NAMESPACE, CIRCUIT)
                return stored is not None and stored["state"] == "open"

            await until(opened, "the blocked proxy's circuit to open")
            await f.settle()
            hits = len(f.blocked.requests)
            assert hits >= 3  # it took fail_max failures (and whatever was in flight) to open

            for window in range(1, WINDOWS + 1):
                aged = await age(f)

                async def probed(aged: str = aged) -> bool:
                    return bool((await f.circuit())["opened_at"] != aged)

                # The probe fails (the proxy still forbids), so the circuit opens again, newly.
                await until(probed, f"a probe to fail in window {window}")
                await f.settle()
                assert (await f.circuit())["state"] == "open"
                # Exactly one request of the whole fleet reached the blocked proxy in this window,
                # although all eight lanes of four processes found the window over.
                assert len(f.blocked.requests) == hits + window, f"window {window}"

            # A window that does not pass: nothing at all reaches the proxy.
            await f.settle()
            assert len(f.blocked.requests) == hits + WINDOWS

            # The proxy recovers; only a probe can find out, and its success closes the circuit for
            # every process: each of them sends through the first proxy again.
            f.blocked.healthy()
            await age(f)

            async def closed() -> bool:
                return bool((await f.circuit())["state"] == "closed")

            # (From the moment it closes, every process may send through it, so the requests the
            # proxy forwarded are no longer one probe: the windows above counted the probes.)
            await until(closed, "the probe to close the circuit")
            reopened = len(f.upstream.requests)
            await f.settle()
            await finish(f)

        assert {outcome for w in f.workers for outcome in w.outcomes()} == {"ok"}
        seen_by_blocked = Counter(r.outcome for r in f.blocked.requests)
        assert seen_by_blocked["forbidden"] == hits + WINDOWS
        senders = {r.headers[WORKER_HEADER] for r in f.upstream.requests[reopened:] if r.proxy == "blocked"}
        assert senders == {str(w.process.pid) for w in f.workers}

    asyncio.run(scenario())


def test_concurrent_failures_from_four_processes_are_all_counted(tmp_path: Path, redis_url: str) -> None:
    lanes, per_lane = 3, 5
    failures = PROCESSES * lanes * per_lane

    async def scenario() -> None:
        # fail_max above the number of failures: the circuit stays closed and every fetch asks the
        # blocked proxy first, from 12 lanes in 4 processes at once.
        async with fleet(
            tmp_path,
            redis_url,
            fail_max=failures + 1,
            concurrency=lanes,
            requests=per_lane,
            blocked_alone=True,
        ) as f:
            await finish(f)
            stored = await f.circuit()

        assert len(f.blocked.requests) == failures
        assert (stored["state"], stored["failures"]) == ("closed", failures)
        assert all(w.outcomes() == Counter({"ok": lanes * per_lane}) for w in f.workers)

    asyncio.run(scenario())


# --- the store's compare-and-set ---------------------------------------------------------------


def test_compare_and_set_writes_only_over_what_was_read(store_url: str) -> None:
    async def scenario() -> list[Any]:
        store = open_store(store_url)
        try:
            seen: list[Any] = []
            seen.append(await compare_and_set(store, "cas", "k", None, {"n": 1}))  # absent: created
            seen.append(await compare_and_set(store, "cas", "k", None, {"n": 9}))  # present: refused
            seen.append(await compare_and_set(store, "cas", "k", {"n": 2}, {"n": 9}))  # stale: refused
            seen.append(await compare_and_set(store, "cas", "k", {"n": 1}, {"n": 2, "a": [1]}))
            seen.append(await store.get("cas", "k"))
            # An expired value counts as absent; a live one with a TTL is replaced for good.
            await store.put("cas", "short", {"v": 1}, ttl_seconds=0.05)
            while await store.get("cas", "short") is not None:
                await asyncio.sleep(0.01)
            seen.append(await compare_and_set(store, "cas", "short", None, {"v": 2}))
            await store.put("cas", "ttl", {"v": 1}, ttl_seconds=3600)
            seen.append(await compare_and_set(store, "cas", "ttl", {"v": 1}, {"v": 2}))
            seen.append(await store.items("cas"))
            return seen
        finally:
            await store.aclose()

    assert asyncio.run(scenario()) == [
        True,
        False,
        False,
        True,
        {"n": 2, "a": [1]},
        True,
        True,
        {"k": {"n": 2, "a": [1]}, "short": {"v": 2}, "ttl": {"v": 2}},
    ]


def test_compare_and_set_on_one_sqlite_file_from_two_processes_loses_nothing(tmp_path: Path) -> None:
    """Two processes increment one counter 200 times each and race for 50 claims."""
    url = f"sqlite:{tmp_path / 'state.sqlite'}"
    child = textwrap.dedent(
        """
        import asyncio, sys
        from proxy.state import compare_and_set, open_store

        async def main(url, me):
            store = open_store(url)
            try:
                await store.put("sync", me, {})
                while len(await store.items("sync")) < 2:  # start together
                    await asyncio.sleep(0.001)
                for _ in range(200):
                    while True:
                        seen = await store.get("cas", "counter")
                        n = 0 if seen is None else seen["n"]
                        if await compare_and_set(store, "cas", "counter", seen, {"n": n + 1}):
                            break
                won = 0
                for i in range(50):
                    won += await compare_and_set(store, "claims", str(i), None, {"by": me})
                print(won)
            finally:
                await store.aclose()

        asyncio.run(main(sys.argv[1], sys.argv[2]))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", child, url, name],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    try:
        results = [proc.communicate(timeout=WAIT_SECONDS) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in results]

    async def read() -> tuple[Any, dict[str, dict[str, Any]]]:
        store = open_store(url)
        try:
            return await store.get("cas", "counter"), await store.items("claims")
        finally:
            await store.aclose()

    counter, claims = asyncio.run(read())
    assert counter == {"n": 400}
    assert sum(int(out) for out, _ in results) == 50 == len(claims)
