"""The outbox in the output bucket, for `gs://` runs (see outbox.py for the protocol).

Layout: <prefix>/_outbox/pending/<id>.json (the entry, intent or final), _outbox/claims/<id> (who
owns it now), _outbox/sent/<id>.json, _outbox/quarantine/<id>.json.

Ownership is a create-only claim object (`if_generation_match=0`) that names its owner: of two
claimants exactly one creates it. A run creates its claim *before* its entry, so no sweeper ever
sees a live run's entry unowned. Marking sent writes `sent/<id>` before it removes the pending
object, and a claimant that finds `sent/<id>` only clears the leftovers: an owner that dies
between the two is never sent again. A claim is taken over only when its owner is gone: its lease
(`CLAIM_LEASE_SECONDS`) expired, or the owner was a process of this host that no longer runs. The
takeover deletes the old claim with `if_generation_match`, so only one sweeper can win it.
The winner re-checks that the entry is still pending, because the previous owner may have sent it
and dropped its claim in between. Finishing removes the pending object BEFORE the claim, so a later
claimant always finds the entry gone.
"""

from __future__ import annotations

import contextlib
import time

from scrapers.core.errors import AlreadyLandedError
from scrapers.events.outbox import (
    PENDING,
    QUARANTINE,
    SENT,
    DuplicateExecution,
    MalformedEntry,
    OutboxEntry,
    OutboxError,
)
from scrapers.events.owner import Owner
from scrapers.sinks.gcs import GcsBucket, ObjectInfo

OUTBOX = "_outbox"
CLAIMS = "claims"
# How long a claim holds when its owner cannot be asked (it ran on another host): longer than a
# run can take to land and publish, so a live run's entry is never taken from it.
CLAIM_LEASE_SECONDS = 600.0


class GcsOutbox:
    def __init__(self, bucket: GcsBucket) -> None:
        self.bucket = bucket
        self.description = f"outbox {bucket.location.uri(OUTBOX)}"
        self.quarantined: list[str] = []
        self.taken_over: set[str] = set()
        self._held: set[str] = set()  # ids whose claim this process holds

    def _name(self, state: str, entry_id: str) -> str:
        suffix = "" if state == CLAIMS else ".json"
        return self.bucket.location.name(f"{OUTBOX}/{state}/{entry_id}{suffix}")

    def _prefix(self, state: str) -> str:
        return self.bucket.location.name(f"{OUTBOX}/{state}/")

    # ------------------------------------------------------------------ the owner's side

    async def open(self, entry: OutboxEntry) -> None:
        try:
            if await self.bucket.info(self._name(SENT, entry.entry_id)) is not None:
                raise DuplicateExecution(f"execution {entry.entry_id} was sent already")
            try:
                await self._create_claim(entry.entry_id)
            except AlreadyLandedError:
                raise DuplicateExecution(f"execution {entry.entry_id} has an outbox entry already") from None
            try:
                await self.bucket.create(
                    self._name(PENDING, entry.entry_id), entry.to_json(), "application/json"
                )
            except AlreadyLandedError:
                await self.bucket.delete(self._name(CLAIMS, entry.entry_id))
                raise DuplicateExecution(f"execution {entry.entry_id} has an outbox entry already") from None
        except OSError as exc:
            # A claim without its entry is harmless: a sweep deletes it once its owner is gone.
            raise OutboxError(
                f"cannot write outbox entry {entry.entry_id} to the {self.description}: {exc}"
            ) from exc
        self._held.add(entry.entry_id)

    async def rewrite(self, entry: OutboxEntry) -> None:
        try:
            await self.bucket.write(self._name(PENDING, entry.entry_id), entry.to_json(), "application/json")
        except OSError as exc:
            raise OutboxError(f"cannot rewrite outbox entry {entry.entry_id}: {exc}") from exc

    async def _create_claim(self, entry_id: str) -> None:
        await self.bucket.create(
            self._name(CLAIMS, entry_id), Owner.me(CLAIM_LEASE_SECONDS).to_json(), "application/json"
        )

    async def mark_sent(self, entry: OutboxEntry) -> None:
        # The record of sending first: an owner that dies after it leaves a pending entry that the
        # next claimant finds sent already, instead of one it would send again.
        self._held.discard(entry.entry_id)
        with contextlib.suppress(AlreadyLandedError):  # the record of sending may exist already
            await self.bucket.create(self._name(SENT, entry.entry_id), entry.to_json(), "application/json")
        await self._clear(entry.entry_id)

    async def _clear(self, entry_id: str) -> None:
        # The pending object before the claim, so a later claimant always finds the entry gone.
        await self.bucket.delete(self._name(PENDING, entry_id))
        await self.bucket.delete(self._name(CLAIMS, entry_id))

    async def release(self, entry: OutboxEntry) -> None:
        self._held.discard(entry.entry_id)
        await self.bucket.delete(self._name(CLAIMS, entry.entry_id))

    # ------------------------------------------------------------------ the sweeps' side

    async def pending(self, older_than: float = 0.0) -> list[OutboxEntry]:
        cutoff = time.time() - older_than
        names = await self.bucket.list(self._prefix(PENDING))
        await self._remove_orphaned_claims({name.rsplit("/", 1)[-1].removesuffix(".json") for name in names})
        entries = []
        for name in names:
            raw = await self.bucket.read(name)
            if raw is None:
                continue  # sent by another sweeper since the listing
            try:
                entry = OutboxEntry.from_json(raw)
            except MalformedEntry:
                await self._quarantine(name, raw)
                continue
            if entry.created_at <= cutoff and entry.entry_id not in self._held:
                entries.append(entry)
        return sorted(entries, key=lambda entry: entry.created_at)

    async def _remove_orphaned_claims(self, pending_ids: set[str]) -> None:
        """A claim whose entry is gone and whose owner is gone too (killed between creating the
        claim and the entry, or between removing the entry and the claim) is deleted."""
        for info in await self.bucket.entries(self._prefix(CLAIMS)):
            entry_id = info.name.rsplit("/", 1)[-1]
            if entry_id not in pending_ids and entry_id not in self._held and await self._gone(info):
                await self.bucket.delete(info.name, if_generation_match=info.generation)

    async def _quarantine(self, name: str, raw: bytes) -> None:
        entry_id = name.rsplit("/", 1)[-1].removesuffix(".json")
        with contextlib.suppress(AlreadyLandedError):  # another sweeper copied it first
            await self.bucket.create(self._name(QUARANTINE, entry_id), raw, "application/octet-stream")
        if await self.bucket.delete(name):
            self.quarantined.append(entry_id)

    async def claim(self, entry: OutboxEntry) -> bool:
        name = self._name(CLAIMS, entry.entry_id)
        try:
            await self._create_claim(entry.entry_id)
        except AlreadyLandedError:
            if not await self._take_over(name, entry.entry_id):
                return False
            self.taken_over.add(entry.entry_id)
        if await self.bucket.info(self._name(PENDING, entry.entry_id)) is None:
            await self.bucket.delete(name)
            return False
        if await self.bucket.info(self._name(SENT, entry.entry_id)) is not None:
            await self._clear(entry.entry_id)  # its owner recorded the sending, then died
            return False
        self._held.add(entry.entry_id)
        return True

    async def _gone(self, info: ObjectInfo) -> bool:
        raw = await self.bucket.read(info.name)
        if raw is None:
            return False  # released meanwhile: nothing to take over
        owner = Owner.from_json(raw)
        if owner is not None:
            return owner.gone()
        # A claim that names no owner: only its age can tell.
        return info.updated is not None and time.time() - info.updated.timestamp() > CLAIM_LEASE_SECONDS

    async def _take_over(self, name: str, entry_id: str) -> bool:
        info = await self.bucket.info(name)
        if info is None or not await self._gone(info):
            return False
        if not await self.bucket.delete(name, if_generation_match=info.generation):
            return False
        try:
            await self._create_claim(entry_id)
        except AlreadyLandedError:
            return False
        return True

    async def prune(self, older_than: float) -> int:
        cutoff, removed = time.time() - older_than, 0
        for info in await self.bucket.entries(self._prefix(SENT)):
            if info.updated is not None and info.updated.timestamp() < cutoff:
                removed += await self.bucket.delete(info.name, if_generation_match=info.generation)
        return removed

    async def counts(self) -> dict[str, int]:
        result = {}
        for state in (PENDING, CLAIMS, SENT):
            result["claimed" if state == CLAIMS else state] = len(await self.bucket.list(self._prefix(state)))
        return result
