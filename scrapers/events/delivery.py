"""Completion delivery through the outbox: write durably, publish, mark sent; and the sweep.

A run's completion is never lost to a publisher outage: if publishing fails, the entry stays
pending, the run keeps its real status and carries a warning, and `scrapers republish` (or the
service's POST /republish) sends it later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scrapers.events.completion import CompletionMessage
from scrapers.events.outbox import LocalOutbox, Outbox, OutboxEntry, OutboxError
from scrapers.events.publishers import JsonLinesPublisher, Publisher, PublishError

EVENTS_FILE = "_events/completions.jsonl"
SWEEP_MARGIN_SECONDS = 30.0
OUTBOX_FOLDER = "_outbox"


@dataclass
class SweepReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0  # claimed by a concurrent sweep, or sent meanwhile
    errors: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # corrupt entries moved aside, never sent


class CompletionDelivery:
    """The runner's EventSink."""

    def __init__(self, outbox: Outbox, publisher: Publisher) -> None:
        self.outbox = outbox
        self.publisher = publisher

    async def publish(self, message: CompletionMessage, source: str) -> str | None:
        # No claim here: sweeps leave entries younger than the publish timeout alone (see
        # `sweep_age`), so the run's own attempt cannot race one, and a run killed mid-publish
        # leaves a plain pending entry that the next sweep picks up at once.
        entry = OutboxEntry.new(message.to_dict(), message.attributes(source))
        try:
            await self.outbox.add(entry)
        except OSError as exc:
            return await self._publish_without_outbox(entry, exc)
        try:
            await self.publisher.send(entry.message, entry.attributes)
        except PublishError as exc:
            return f"completion not published yet ({exc}); it is pending in the {self.outbox.description}"
        await self.outbox.mark_sent(entry)
        return None

    async def _publish_without_outbox(self, entry: OutboxEntry, cause: OSError) -> str:
        """The outbox's storage is down (a full disk, GCS answering 503): the completion can still
        go straight to the publisher. Only when that fails too is there nothing left to keep it,
        and the run must say so (OutboxError: the runner fails it `landing`)."""
        try:
            await self.publisher.send(entry.message, entry.attributes)
        except PublishError as exc:
            raise OutboxError(f"the completion was neither kept ({cause}) nor published ({exc})") from cause
        return f"completion published without an outbox entry (the {self.outbox.description} failed: {cause})"

    @property
    def sweep_age(self) -> float:
        """Default age for sweeps: older than any run's own publish attempt can still be."""
        return self.publisher.timeout + SWEEP_MARGIN_SECONDS

    async def sweep(self, older_than: float = 0.0) -> SweepReport:
        """Send every pending entry once; safe to run concurrently with other sweeps and runs."""
        report = SweepReport()
        entries = await self.outbox.pending(older_than)
        report.quarantined = list(self.outbox.quarantined)
        report.errors += [f"corrupt outbox entry {name} moved to quarantine" for name in report.quarantined]
        for entry in entries:
            if not await self.outbox.claim(entry):
                report.skipped += 1
                continue
            try:
                await self.publisher.send(entry.message, entry.attributes)
            except PublishError as exc:
                await self.outbox.release(entry)
                report.failed.append(entry.entry_id)
                report.errors.append(str(exc))
                continue
            await self.outbox.mark_sent(entry)
            report.sent.append(entry.entry_id)
        return report


def local_delivery(out: Path, publisher: Publisher | None = None) -> CompletionDelivery:
    """Outbox beside a local output folder; completions appended to `<out>/_events/` by default."""
    return CompletionDelivery(
        LocalOutbox(out / OUTBOX_FOLDER), publisher or JsonLinesPublisher(out / EVENTS_FILE)
    )
