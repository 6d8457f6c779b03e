"""Exactly once per job key: claim the job in the ledger, run it through the one run manager, release.

What `scrapers backfill` (local or sharded) and `scrapers worker` share:

1. Claim (`Ledger.claim`): a job the ledger says is done is not run (`done`), unless a `--force`
   pass asks for it again (once per force token); one another process holds is not run now
   (`busy`: a worker nacks it, a backfill comes back to it); a message that went to the
   dead-letter topic already is not run again (`dead_lettered`).
2. A claimed job whose previous run died after landing everything it declared is settled by what
   landed (`recovered`), never fetched again.
3. Otherwise it runs through the RunManager (deadline, cut-off completion, metrics, ledger record
   in Core.after_run), while a heartbeat keeps the claim alive; a process killed mid-run stops
   renewing, and its claim expires within `claim_seconds`. When part of an earlier landing is
   there (a run died between a gamebook's PDF and its document), the run lands under that
   landing's names: the PDF is adopted, only the missing document is added.
4. The claim is released after the status is recorded, so whoever asks next sees the status.

Fan-out children are not run inside the parent's run here: they come back as `children` (planned
from the parent's ids, which the ledger also keeps, so a resumed backfill or a redelivered message
plans them again without fetching the parent), and the caller queues or publishes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

from proxy.state import StateStoreError
from scrapers.core.errors import CourtsideError
from scrapers.core.fanout import Child, FanOut, ref_from_dict
from scrapers.pipeline.fanout import child_options_for, expand
from scrapers.pipeline.jobs import PlannedJob
from scrapers.pipeline.ledger import RETRYABLE_HTTP, Claimed, JobId, Ledger, LedgerEntry
from scrapers.pipeline.runner import Job
from scrapers.pipeline.runs import RunManager, RunRecord

log = logging.getLogger("scrapers.once")


class Done(StrEnum):
    RAN = "ran"  # ran now; `record` says how it ended
    DONE = "done"  # the ledger says it succeeded (or has no data) already: nothing sent
    RECOVERED = "recovered"  # a dead run's document had landed: recorded, nothing sent
    BUSY = "busy"  # another process holds its claim: not run now
    DEAD_LETTERED = "dead_lettered"  # this message went to the dead-letter topic already: not run


class NotAdmitted(CourtsideError):
    """The run manager is full or draining: the job was not run (a worker nacks it, the push route
    answers 429 or 503)."""

    def __init__(self, draining: bool) -> None:
        self.draining = draining
        super().__init__("the run manager is draining" if draining else "the run manager is full")


@dataclass(frozen=True)
class ChildJob:
    """A fan-out child to queue or publish: its scraper, its options as the parent's ids made them."""

    scraper: str
    options: Mapping[str, Any]
    label: str


@dataclass(frozen=True)
class OnceResult:
    done: Done
    job: Job
    record: RunRecord | None = None
    entry: LedgerEntry | None = None
    children: tuple[ChildJob, ...] = ()
    skipped_children: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        """success, no_data, partial, failed, or the run error's type; busy; dead_lettered."""
        if self.done in (Done.BUSY, Done.DEAD_LETTERED):
            return self.done.value
        if self.record is not None:
            if self.record.result is not None:
                return self.record.result.status.value
            return self.record.error.type if self.record.error else "failed"
        return (self.entry.status if self.entry else None) or "success"

    @property
    def retryable(self) -> bool:
        """A redelivery or a later pass may end differently: busy, or a failure that says retry."""
        if self.done is Done.BUSY:
            return True
        if self.record is None:
            return False
        if self.record.result is not None:
            failure = self.record.result.failure_class
            return not self.record.result.ok and failure is not None and failure.http_status in RETRYABLE_HTTP
        return self.record.error is not None and self.record.error.http_status in RETRYABLE_HTTP

    @property
    def ok(self) -> bool:
        return self.done is not Done.BUSY and self.status in ("success", "no_data", "partial")

    @property
    def http_status(self) -> int:
        """What the run's own outcome is as an HTTP status (errors.py's table): 200 when it did
        not run now (done already, settled, dead-lettered), 409 while another process holds it."""
        if self.done is Done.BUSY:
            return 409
        if self.record is not None and self.record.own_status is not None:
            return self.record.own_status
        return 200


def claim_owner() -> str:
    """Who holds a claim, for people reading the ledger: host, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OnceRunner:
    """Runs jobs exactly once per key through `manager` (one claim per call, so two calls for one
    job in this process exclude each other as two processes do). Runs started on the manager
    without a claim (POST /scrape, `scrapers run`) do not see the claims, though their status is
    recorded in the ledger all the same."""

    def __init__(self, manager: RunManager, ledger: Ledger, *, owner: str, claim_seconds: float) -> None:
        self.manager = manager
        self.ledger = ledger
        self.owner = owner
        self.claim_seconds = claim_seconds

    async def run(
        self,
        planned: PlannedJob,
        fan_out: Sequence[FanOut] = (),
        child_options: Mapping[str, Any] | None = None,
        *,
        force: str | None = None,
        message_id: str | None = None,
    ) -> OnceResult:
        """Run the job unless the ledger says it is done; `force` (a --force pass's token) runs a
        done job once more, `message_id` (a Pub/Sub message) is not run after it was dead-lettered.
        Raises NotAdmitted when the manager is full or draining, StateStoreError when the ledger
        cannot be reached."""
        job = planned.job
        ident = JobId.of(job)
        # One owner per claim, not per process: two deliveries of one job in this process (a
        # duplicate message, children a redelivered parent published again) must exclude each
        # other exactly as two processes do.
        owner = f"{self.owner}/{uuid.uuid4().hex[:8]}"
        found, entry = await self.ledger.claim(
            ident, owner, self.claim_seconds, force=force, message_id=message_id
        )
        if found is Claimed.BUSY:
            return OnceResult(Done.BUSY, job, entry=entry)
        if found is Claimed.DEAD_LETTERED:
            return OnceResult(Done.DEAD_LETTERED, job, entry=entry)
        if found is Claimed.DONE:
            return self._finished(Done.DONE, job, entry, fan_out, child_options)
        try:
            settled = await self.ledger.settle_landing(ident, entry)
            if settled is not None:
                log.warning(
                    "settled by what landed: a previous run died after landing",
                    extra={"scraper": job.entry.name, "run_id": settled.execution_ids[-1]},
                )
                return self._finished(Done.RECOVERED, job, settled, fan_out, child_options)
            stamp = await self.ledger.resume_stamp(entry)
            if stamp is not None:
                log.warning(
                    "part of an earlier landing is there: landing the rest under its names",
                    extra={"scraper": job.entry.name, "stamp": stamp},
                )
            record = await self._run(planned, ident, owner, force, stamp)
        finally:
            with contextlib.suppress(StateStoreError):  # expiry frees it anyway
                await self.ledger.release(ident, owner)
        latest = await self.ledger.get(ident)
        result = self._finished(Done.RAN, job, latest, fan_out, child_options)
        return OnceResult(
            Done.RAN,
            job,
            record=record,
            entry=latest,
            children=result.children,
            skipped_children=result.skipped_children,
        )

    async def _run(
        self, planned: PlannedJob, ident: JobId, owner: str, force: str | None, stamp: str | None
    ) -> RunRecord:
        alone = PlannedJob(planned.request, planned.job, ())  # children come back to the caller
        if not self.manager.try_admit():
            raise NotAdmitted(draining=not self.manager.accepting)
        record = self.manager.submit(
            alone, on_landing=partial(self.ledger.intend_landing, ident), landing_stamp=stamp
        )
        heartbeat = asyncio.create_task(self._keep_claim(ident, owner, force))
        try:
            await record.finished.wait()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return record

    async def _keep_claim(self, ident: JobId, owner: str, force: str | None) -> None:
        """Renew the claim while the run is in flight; a killed process stops, so its claim expires."""
        while True:
            await asyncio.sleep(self.claim_seconds / 3)
            try:
                # With the run's force token: a forced job is done already, and renewing without
                # it would stop here and let the claim lapse under the running job.
                found, _ = await self.ledger.claim(ident, owner, self.claim_seconds, force=force)
            except StateStoreError as exc:
                log.warning("claim not renewed: %s", exc, extra={"scraper": ident.scraper})
                continue
            if found is not Claimed.CLAIMED:
                return  # recorded done meanwhile (or taken over): nothing left to keep

    def _finished(
        self,
        done: Done,
        job: Job,
        entry: LedgerEntry | None,
        fan_out: Sequence[FanOut],
        child_options: Mapping[str, Any] | None,
    ) -> OnceResult:
        children: list[ChildJob] = []
        skipped: list[str] = []
        if entry is not None and entry.done and fan_out:
            refs = [ref_from_dict(ref) for ref in entry.fan_out]
            for declared in fan_out:
                extra = child_options_for(self.manager.core.context.registry, declared, child_options or {})
                planned, why = expand(declared, job, refs, extra)
                children.extend(_child(declared.child, child) for child in planned)
                skipped.extend(why)
        return OnceResult(done, job, entry=entry, children=tuple(children), skipped_children=tuple(skipped))


def _child(scraper: str, child: Child) -> ChildJob:
    return ChildJob(scraper, dict(child.options), child.label)
