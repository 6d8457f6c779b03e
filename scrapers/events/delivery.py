"""Completion delivery: one entry per run in the outbox, published by its owner, swept if orphaned.

The protocol (see outbox.py for the storage side):

1. Before a run lands anything it records its *intent*: the completion it will send, with the
   objects it is about to create and their SHA-256. If the intent cannot be written, the run lands
   nothing and fails `landing`.
2. After landing, the run replaces the intent by its final completion and publishes it. Success
   marks the entry sent; a publisher failure gives it to the sweeps (`pending`), and the run keeps
   its real status with a warning.
3. A run stopped from outside (deadline, SIGTERM) does not start a second completion: a publish in
   flight is awaited, an intent is settled by what actually landed.
4. A sweep (`scrapers republish`, POST /republish, service shutdown) sends entries nobody owns. An
   orphaned intent is settled the same way: the intent's completion if its document landed with the
   intended bytes, else a `failed`/`transient` completion saying the run was interrupted.

So every landed document ends with exactly one completion (delivered or pending), a run has one
terminal status, and the entry id (the execution id) is create-only, so nothing is sent twice
from the outbox. Pub/Sub messages carry the execution id as an attribute for subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapers.events.completion import CompletionMessage, Delivered, attributes, interrupted
from scrapers.events.outbox import LocalOutbox, Outbox, OutboxEntry, OutboxError
from scrapers.events.publishers import JsonLinesPublisher, Publisher, PublishError
from scrapers.sinks.base import Sink
from scrapers.sinks.file import FileSink

EVENTS_FILE = "_events/completions.jsonl"
OUTBOX_FOLDER = "_outbox"
DEFAULT_RETENTION_SECONDS = 7 * 86400.0
REMEMBERED_SENDS = 1024
STOP_WAIT_SECONDS = 3.0
INTERRUPTED_BEFORE_LANDING = "the run was interrupted before its document landed"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SweepReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0  # owned by a live run or a concurrent sweep, or sent meanwhile
    errors: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # corrupt entries moved aside, never sent
    settled: list[str] = field(default_factory=list)  # orphaned intents, decided by what landed
    pruned: int = 0  # sent entries and run summaries past the retention, deleted
    # Entries whose owner died between publishing and recording it: found delivered already (and
    # only recorded), or sent by a publisher that cannot tell, so possibly a second time.
    found_delivered: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    # A sweep with a budget (the service's shutdown) that stopped early: the entries it did not try
    # (still pending for the next sweep), and the one whose publish was still in flight when the
    # budget ran out (still claimed by this process: if the publish does not finish before the
    # process ends, the next sweep takes the entry over from its dead owner).
    left: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    cut_short: str | None = None  # the step the budget ended: "listing" (nothing sent) or "pruning"


class CompletionDelivery:
    """The runner's EventSink."""

    def __init__(
        self,
        outbox: Outbox,
        publisher: Publisher,
        sink: Sink,
        *,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        self.outbox = outbox
        self.publisher = publisher
        self.sink = sink
        self.retention_seconds = retention_seconds
        # Added to every completion's metadata (a Cloud Run task's execution and index).
        self.tags: Mapping[str, str] = {}
        # How long a run being stopped waits for its own publish in flight.
        self.stop_wait_seconds = STOP_WAIT_SECONDS
        # Folders of our own records in the sink (run summaries), pruned with the sent entries.
        self.retained_folders: tuple[str, ...] = ()
        self._open: dict[str, OutboxEntry] = {}  # this process's runs whose entry is not finished
        self._sending: dict[str, tuple[OutboxEntry, asyncio.Task[str | None]]] = {}
        self._writing: dict[str, asyncio.Task[None]] = {}
        # What the latest runs' own sends ended with, for a cut-off that comes just after one.
        self._done: OrderedDict[str, Delivered] = OrderedDict()
        # Sweep publishes a budgeted sweep stopped waiting for (see `sweep`).
        self._unfinished: set[asyncio.Future[bool]] = set()

    def _entry(self, message: CompletionMessage, source: str, landing: Mapping[str, str]) -> OutboxEntry:
        body = message.to_dict()
        if self.tags:
            body["metadata"] = {**body.get("metadata", {}), **self.tags}
        return OutboxEntry(message.execution_id, time.time(), body, attributes(body, source), dict(landing))

    async def _keep(self, entry: OutboxEntry) -> None:
        # Shielded, and remembered: a run cancelled while its entry is being written must leave the
        # entry in a known state, which `interrupted` waits for before it decides anything.
        task = asyncio.create_task(self._write(entry))
        self._writing[entry.entry_id] = task
        await asyncio.shield(task)

    async def _write(self, entry: OutboxEntry) -> None:
        try:
            if entry.entry_id in self._open:
                await self.outbox.rewrite(entry)
            else:
                await self.outbox.open(entry)
            self._open[entry.entry_id] = entry
        finally:
            self._writing.pop(entry.entry_id, None)

    # ------------------------------------------------------------------ a run's side

    async def intend(self, message: CompletionMessage, source: str, landing: Mapping[str, str]) -> None:
        await self._keep(self._entry(message, source, landing))

    async def publish(
        self, message: CompletionMessage, source: str, *, wait: float | None = None
    ) -> str | None:
        """Keep the run's final completion in the outbox and publish it; a warning when it is not
        delivered (yet). With `wait` (a run being stopped), a publish still going on after that
        many seconds is left to finish on its own (see `_send_owned`)."""
        entry = self._entry(message, source, {})
        try:
            await self._keep(entry)
        except OSError as exc:
            if entry.entry_id not in self._open:
                return await self._publish_without_outbox(entry, exc)
            # The run's intent is kept but cannot be replaced: the final completion goes out from
            # memory under the same entry. Should that fail, the entry is released as the intent,
            # and a sweep settles it by what landed: the same status this run has.
            warning = await self._send_owned(entry, wait)
            return warning or f"the completion went out, but its outbox entry is the intent ({exc})"
        return await self._send_owned(entry, wait)

    async def interrupted(self, message: CompletionMessage, source: str) -> Delivered:
        writing = self._writing.get(message.execution_id)
        if writing is not None:
            with contextlib.suppress(OSError):
                await asyncio.shield(writing)
        in_flight = self._sending.get(message.execution_id)
        if in_flight is not None:
            sending, task = in_flight
            # A stopping process has seconds, not the publish timeout (Cloud Run: 10 s, then
            # SIGKILL): a publish still hanging after a short wait is left to finish or fail on
            # its own; if the process ends first, a sweep takes the entry over.
            done, _ = await asyncio.wait({task}, timeout=self.stop_wait_seconds)
            if not done:
                return Delivered(sending.message, self._still_publishing())
            return Delivered(sending.message, task.result())
        if message.execution_id in self._done:
            return self._done[message.execution_id]  # its own send ended just before the cut-off
        entry = self._open.get(message.execution_id)
        if entry is None:
            # The cut-off's own completion gets the same short wait as a publish in flight: a
            # publisher that hangs would otherwise hold the stop for the whole publish timeout.
            fallback = self._entry(message, source, {})
            return Delivered(
                fallback.message, await self.publish(message, source, wait=self.stop_wait_seconds)
            )
        try:
            if entry.intent:
                entry = await self._settle(entry)
            await self.outbox.rewrite(entry)
        except OSError as exc:
            return Delivered(
                interrupted(entry.message, INTERRUPTED_BEFORE_LANDING),
                f"the completion stays in the {self.outbox.description} as an intent for a sweep ({exc})",
            )
        self._open[entry.entry_id] = entry
        return Delivered(entry.message, await self._send_owned(entry, self.stop_wait_seconds))

    async def _send_owned(self, entry: OutboxEntry, wait: float | None = None) -> str | None:
        # Shielded: a run cancelled while its completion is being sent (shutdown, its deadline)
        # must not abandon a publish the library may still complete; `interrupted` awaits it.
        task = asyncio.create_task(self._send(entry))
        self._sending[entry.entry_id] = (entry, task)
        if wait is None:
            return await asyncio.shield(task)
        # A run being stopped waits `wait` at most; the send goes on, and records its own outcome.
        done, _ = await asyncio.wait({task}, timeout=wait)
        return task.result() if done else self._still_publishing()

    def _still_publishing(self) -> str:
        return (
            f"completion still being published when the run was stopped; it stays in the "
            f"{self.outbox.description} for a sweep if the publish does not complete"
        )

    async def _send(self, entry: OutboxEntry) -> str | None:
        try:
            after: str | None = None
            try:
                await self.publisher.send(entry.message, entry.attributes)
            except PublishError as exc:
                after = (
                    f"completion not published yet ({exc}); it is pending in the {self.outbox.description}"
                )
                finish = self.outbox.release
            else:
                finish = self.outbox.mark_sent
            try:
                await finish(entry)
            except OSError as exc:
                # Its owner (this process) ends soon; a sweep then finds the entry orphaned.
                done = after or "completion published"
                after = f"{done}, but the {self.outbox.description} could not record it: {exc}"
            self._done[entry.entry_id] = Delivered(entry.message, after)
            while len(self._done) > REMEMBERED_SENDS:
                self._done.popitem(last=False)
            return after
        finally:
            self._open.pop(entry.entry_id, None)
            self._sending.pop(entry.entry_id, None)

    async def _publish_without_outbox(self, entry: OutboxEntry, cause: OSError) -> str:
        """The outbox's storage is down (a full disk, GCS answering 503): the completion can still
        go straight to the publisher. Only when that fails too is there nothing left to keep it,
        and the run must say so (OutboxError: the runner fails it `landing`)."""
        try:
            await self.publisher.send(entry.message, entry.attributes)
        except PublishError as exc:
            raise OutboxError(f"the completion was neither kept ({cause}) nor published ({exc})") from cause
        return f"completion published without an outbox entry (the {self.outbox.description} failed: {cause})"

    async def _settle(self, entry: OutboxEntry) -> OutboxEntry:
        """An intent whose run stopped: its completion if the document landed, else `interrupted`."""
        present = [await self._landed(path, expected) for path, expected in entry.landing.items()]
        if present[0]:
            metadata = dict(entry.message.get("metadata", {}))
            paths = list(metadata.get("landed_paths", []))
            if len(paths) == len(present):  # the intent names its objects in the same order
                metadata["landed_paths"] = [path for path, there in zip(paths, present, strict=True) if there]
            message: Mapping[str, Any] = {**entry.message, "metadata": metadata}
        else:
            message = interrupted(entry.message, INTERRUPTED_BEFORE_LANDING)
        return OutboxEntry(
            entry.entry_id, entry.created_at, message, attributes(message, entry.attributes["source"])
        )

    async def _landed(self, path: str, expected: str) -> bool:
        data = await self.sink.read(path)
        return data is not None and digest(data) == expected

    # ------------------------------------------------------------------ the sweeps' side

    async def sweep(self, older_than: float = 0.0, *, budget_seconds: float | None = None) -> SweepReport:
        """Send every entry nobody owns, once; safe to run concurrently with other sweeps and runs.

        With `budget_seconds` (a stopping process: Cloud Run's SIGKILL comes 10 s after SIGTERM)
        the sweep ends within it: listing and pruning stop when it is spent, no entry starts after
        it, a publish still in flight at its end is left to finish on its own (its entry still
        claimed: if the process ends first, the next sweep takes it over), and the sweep stops at
        its first failure, since a publisher or storage that just failed would make every other
        entry wait its timeout and fail the same way. Entries not sent stay pending for the next
        sweep, as after any failed publish.
        """
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        report = SweepReport()
        # Listing reads every pending entry (one storage call each on GCS): bounded as well.
        listing = asyncio.ensure_future(self.outbox.pending(older_than))
        if not await _ended_by(listing, deadline):
            report.cut_short = "listing"
            return report
        entries = listing.result()
        report.quarantined = list(self.outbox.quarantined)
        report.errors += [f"corrupt outbox entry {name} moved to quarantine" for name in report.quarantined]
        for index, entry in enumerate(entries):
            if deadline is not None and time.monotonic() >= deadline:
                report.left = [rest.entry_id for rest in entries[index:]]
                break
            if not await self.outbox.claim(entry):
                report.skipped += 1
                continue
            task = asyncio.ensure_future(self._sweep_one(entry, report))
            if deadline is None:
                sent = await task
            else:
                done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
                if not done:
                    self._unfinished.add(task)  # referenced until it ends, or the loop closes
                    task.add_done_callback(self._unfinished.discard)
                    report.unfinished.append(entry.entry_id)
                    report.left = [rest.entry_id for rest in entries[index + 1 :]]
                    break
                sent = task.result()
            if not sent and deadline is not None:
                report.left = [rest.entry_id for rest in entries[index + 1 :]]
                break
        # Pruning is housekeeping: it gets what is left of the budget, and a later sweep goes on.
        if not await _ended_by(asyncio.ensure_future(self._prune(report)), deadline):
            report.cut_short = "pruning"
        return report

    async def _sweep_one(self, entry: OutboxEntry, report: SweepReport) -> bool:
        """Send one claimed entry; False when it failed and went back to pending."""
        try:
            if entry.intent:
                entry = await self._settle(entry)
                # Decided once: a later sweep sends the same decision if this publish fails.
                await self.outbox.rewrite(entry)
                report.settled.append(entry.entry_id)
            elif entry.entry_id in self.outbox.taken_over:
                # Its owner died after writing the final completion: maybe after publishing it.
                delivered = await self.publisher.delivered(entry.entry_id)
                if delivered:
                    await self.outbox.mark_sent(entry)
                    report.found_delivered.append(entry.entry_id)
                    return True
                if delivered is None:
                    report.uncertain.append(entry.entry_id)
            await self.publisher.send(entry.message, entry.attributes)
        except (PublishError, OSError) as exc:
            with contextlib.suppress(OSError):
                await self.outbox.release(entry)
            report.failed.append(entry.entry_id)
            report.errors.append(str(exc))
            return False
        await self.outbox.mark_sent(entry)
        report.sent.append(entry.entry_id)
        return True

    async def _prune(self, report: SweepReport) -> None:
        report.pruned += await self.outbox.prune(self.retention_seconds)
        for folder in self.retained_folders:
            report.pruned += await self.sink.prune(folder, self.retention_seconds)


async def _ended_by(task: asyncio.Future[Any], deadline: float | None) -> bool:
    """Whether `task` ended by `deadline` (a time.monotonic() value; None waits for it). A task
    still running then is cancelled: the storage call in progress ends on its own timeout."""
    if deadline is None:
        await task
        return True
    done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
    if done:
        task.result()  # its error, if it failed
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


def local_delivery(out: Path, publisher: Publisher | None = None) -> CompletionDelivery:
    """Outbox beside a local output folder; completions appended to `<out>/_events/` by default."""
    return CompletionDelivery(
        LocalOutbox(out / OUTBOX_FOLDER), publisher or JsonLinesPublisher(out / EVENTS_FILE), FileSink(out)
    )
