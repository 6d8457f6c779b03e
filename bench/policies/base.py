"""What every policy reports, and the one loop that runs a policy's jobs.

The loop is the same for every policy: the scenario's jobs in the same order, at most
`concurrency` in flight, and a time cap after which unfinished jobs are cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bench.jobs import BenchJob
from bench.simulator import Simulator

UNFINISHED = "unfinished"


@dataclass(frozen=True)
class JobEnd:
    """How a policy says one job ended. `status`: success, no_data or failed."""

    status: str
    detail: str = ""  # failure class or reason, for the breakdown line


@dataclass(frozen=True)
class JobRecord:
    job: BenchJob
    status: str  # success, no_data, failed or unfinished
    detail: str
    seconds: float  # simulated


@dataclass
class Attempts:
    """Requests a policy sent (every connection attempt counts, refused ones too), by tier."""

    by_tier: Counter[str] = field(default_factory=Counter)

    def add(self, tier: str) -> None:
        self.by_tier[tier] += 1

    @property
    def total(self) -> int:
        return sum(self.by_tier.values())


class Policy(Protocol):
    name: str
    title: str

    async def start(self, sim: Simulator) -> None: ...

    async def run(self, job: BenchJob) -> JobEnd: ...

    def attempts(self) -> Attempts: ...

    async def close(self) -> None: ...


@dataclass
class PolicyRun:
    policy: str
    title: str
    records: list[JobRecord]
    attempts: Attempts
    wall_seconds: float


async def run_policy(
    policy: Policy, sim: Simulator, jobs: Sequence[BenchJob], *, concurrency: int, cap_wall: float
) -> PolicyRun:
    """Run `jobs` in order with `concurrency` workers; cancel what is still running at the cap."""
    await policy.start(sim)
    clock = sim.clock
    started = time.monotonic()
    queue = list(jobs)
    queue.reverse()
    records: dict[int, JobRecord] = {}
    running: dict[int, float] = {}

    async def worker() -> None:
        while queue:
            job = queue.pop()
            began = clock.now()
            running[job.index] = began
            end = await policy.run(job)
            del running[job.index]
            records[job.index] = JobRecord(job, end.status, end.detail, clock.now() - began)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        done, pending = await asyncio.wait(workers, timeout=cap_wall)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # a crash in a policy is a bug in the benchmark: surface it
    finally:
        for task in workers:
            task.cancel()
        await policy.close()
    now = clock.now()
    for job in jobs:
        if job.index not in records:
            began = running.get(job.index, now)
            records[job.index] = JobRecord(job, UNFINISHED, "time cap", now - began)
    return PolicyRun(
        policy=policy.name,
        title=policy.title,
        records=[records[job.index] for job in jobs],
        attempts=policy.attempts(),
        wall_seconds=time.monotonic() - started,
    )
