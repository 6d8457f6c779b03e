"""Carrying a decision out: its jobs through the one run path here, or onto the jobs topic.

Either way each job is exactly once per job key (the ledger's claim), as for a backfill or a worker.
A job marked `refresh` is a snapshot that changes (the schedule, a scoreboard, odds): it runs under
a force token naming its window (`workflow:injury_reports:2024-01-15@17:15`), so it is fetched again
once per window even though the ledger has it done, and never twice for one window (a redelivered
message, a second tick). Its fan-out children carry the same token.

Locally (`scrapers tick` without a jobs topic) the jobs of a decision drain through OnceRunner,
`concurrency` at a time, children after their parent, and the outcome counts what ended how. With
COURTSIDE_JOBS_TOPIC set the jobs are registered in the ledger as pending and published; workers run
them (and publish the children), and the outcome says how many were enqueued.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scrapers.core.clock import Clock
from scrapers.core.registry import Registry
from scrapers.pipeline.backfill import Item, drain
from scrapers.pipeline.jobs import JobRequest, PlannedJob
from scrapers.pipeline.ledger import JobId, Ledger
from scrapers.pipeline.once import Done, OnceResult, OnceRunner
from scrapers.pipeline.queue import JobMessage, JobsTopic
from scrapers.pipeline.runs import Interrupt
from scrapers.workflows.decide import Decision
from scrapers.workflows.jobs import WindowJob, window_token

TRIGGER = "tick"


def force_token(decision: Decision) -> str:
    return window_token(decision.workflow, decision.window.id if decision.window else "-")


@dataclass(frozen=True)
class Executed:
    jobs: int  # the decision's jobs (children not counted)
    outcome: str  # `9 success, 1 failed (not_found)`, `10 enqueued`
    interrupted: bool = False  # a signal stopped it: the window goes back for a later tick
    failed: int = 0


class Executor(Protocol):
    async def carry_out(self, decision: Decision) -> Executed: ...


class LocalExecutor:
    """The jobs through OnceRunner here (the run manager of the tick's Core)."""

    def __init__(
        self, once: OnceRunner, registry: Registry, clock: Clock, concurrency: int, interrupt: Interrupt
    ) -> None:
        self.once = once
        self.registry = registry
        self.clock = clock
        self.concurrency = concurrency
        self.interrupt = interrupt

    async def carry_out(self, decision: Decision) -> Executed:
        token = force_token(decision)
        items = [_item(job, token, decision.workflow) for job in decision.jobs]
        report = await drain(
            self.once,
            items,
            self.registry,
            self.clock,
            concurrency=self.concurrency,
            interrupt=self.interrupt,
        )
        failed = sum(1 for result in report.results if not result.ok)
        outcome = describe(report.results, len(report.refused), report.interrupted)
        return Executed(len(decision.jobs), outcome, bool(report.interrupted), failed + len(report.refused))


def _item(planned: WindowJob, token: str, workflow: str) -> Item:
    # The workflow that runs it (a recovery's jobs are another workflow's): its completion says so.
    request = JobRequest(planned.scraper, planned.job.option_texts(), workflow=workflow, trigger=TRIGGER)
    return Item(
        PlannedJob(request, planned.job, ()),
        planned.fan_out,
        dict(planned.child_options),
        force=token if planned.refresh else None,
    )


def describe(results: Sequence[OnceResult], refused: int, interrupted: int) -> str:
    """`4 success, 1 failed (not_found), 2 done already`: how the jobs (children included) ended."""
    counts: Counter[str] = Counter()
    for result in results:
        if result.done in (Done.DONE, Done.RECOVERED):
            counts["done already"] += 1
        elif result.ok:
            counts[result.status] += 1
        else:
            failure = None
            if result.record is not None and result.record.result is not None:
                failure = result.record.result.error_type
            elif result.record is not None and result.record.error is not None:
                failure = result.record.error.type
            counts[f"failed ({failure})" if failure else "failed"] += 1
    if refused:
        counts["refused"] += refused
    if interrupted:
        counts["left by a signal"] += interrupted
    order = {"success": 0, "no_data": 1, "partial": 2, "done already": 4}
    parts = sorted(counts.items(), key=lambda item: (order.get(item[0], 3), item[0]))
    return ", ".join(f"{count} {what}" for what, count in parts) or "nothing ran"


class QueueExecutor:
    """The jobs onto the jobs topic, registered in the ledger as pending first."""

    def __init__(self, topic: JobsTopic, ledger: Ledger) -> None:
        self.topic = topic
        self.ledger = ledger

    async def carry_out(self, decision: Decision) -> Executed:
        token = force_token(decision)
        for planned in decision.jobs:
            await self.ledger.plan(JobId.of(planned.job))
            message = JobMessage.of(
                planned.job,
                fan_out=tuple(f.child for f in planned.fan_out),
                child_options=planned.child_options,
                trigger=TRIGGER,
                force=token if planned.refresh else None,
            )
            await self.topic.publish(dataclasses.replace(message, workflow=decision.workflow))
        where = getattr(self.topic, "description", "the jobs topic")
        return Executed(len(decision.jobs), f"{len(decision.jobs)} enqueued on {where}")
