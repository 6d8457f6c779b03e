"""The outbox in the output bucket, for `gs://` runs (see outbox.py for the protocol).

A claim is a create-only object `_outbox/claims/<id>`: of two sweepers exactly one creates it.
The winner re-checks that the entry is still pending, because the previous owner may have sent it
and dropped its claim in between. Finishing removes the pending object BEFORE the claim, so a
later claimant always finds the entry gone. An expired claim (its sweeper died) is deleted with
`if_generation_match`, so only one sweeper can take it over.
"""

from __future__ import annotations

import contextlib
import time

from scrapers.core.errors import AlreadyLandedError
from scrapers.events.outbox import CLAIM_LEASE_SECONDS, PENDING, QUARANTINE, SENT, MalformedEntry, OutboxEntry
from scrapers.sinks.gcs import GcsBucket

OUTBOX = "_outbox"
CLAIMS = "claims"


class GcsOutbox:
    def __init__(self, bucket: GcsBucket) -> None:
        self.bucket = bucket
        self.description = f"outbox {bucket.location.uri(OUTBOX)}"
        self.quarantined: list[str] = []

    def _name(self, state: str, entry_id: str) -> str:
        suffix = "" if state == CLAIMS else ".json"
        return self.bucket.location.name(f"{OUTBOX}/{state}/{entry_id}{suffix}")

    async def add(self, entry: OutboxEntry) -> None:
        await self.bucket.create(self._name(PENDING, entry.entry_id), entry.to_json(), "application/json")

    async def pending(self, older_than: float = 0.0) -> list[OutboxEntry]:
        cutoff = time.time() - older_than
        entries = []
        for name in await self.bucket.list(self._name(PENDING, "")[: -len(".json")]):
            raw = await self.bucket.read(name)
            if raw is None:
                continue  # sent by another sweeper since the listing
            try:
                entry = OutboxEntry.from_json(raw)
            except MalformedEntry:
                await self._quarantine(name, raw)
                continue
            if entry.created_at <= cutoff:
                entries.append(entry)
        return entries

    async def _quarantine(self, name: str, raw: bytes) -> None:
        entry_id = name.rsplit("/", 1)[-1].removesuffix(".json")
        with contextlib.suppress(AlreadyLandedError):  # another sweeper copied it first
            await self.bucket.create(self._name(QUARANTINE, entry_id), raw, "application/octet-stream")
        if await self.bucket.delete(name):
            self.quarantined.append(entry_id)

    async def claim(self, entry: OutboxEntry) -> bool:
        name = self._name(CLAIMS, entry.entry_id)
        try:
            await self.bucket.create(name, str(time.time()).encode(), "text/plain")
        except AlreadyLandedError:
            if not await self._take_over_expired(name):
                return False
        if await self.bucket.info(self._name(PENDING, entry.entry_id)) is None:
            await self.bucket.delete(name)
            return False
        return True

    async def _take_over_expired(self, name: str) -> bool:
        info = await self.bucket.info(name)
        if info is None or info.updated is None:
            return False
        if time.time() - info.updated.timestamp() <= CLAIM_LEASE_SECONDS:
            return False
        if not await self.bucket.delete(name, if_generation_match=info.generation):
            return False
        try:
            await self.bucket.create(name, str(time.time()).encode(), "text/plain")
        except AlreadyLandedError:
            return False
        return True

    async def mark_sent(self, entry: OutboxEntry) -> None:
        await self.bucket.delete(self._name(PENDING, entry.entry_id))
        with contextlib.suppress(AlreadyLandedError):  # the record of sending may exist already
            await self.bucket.create(self._name(SENT, entry.entry_id), entry.to_json(), "application/json")
        await self.bucket.delete(self._name(CLAIMS, entry.entry_id))

    async def release(self, entry: OutboxEntry) -> None:
        await self.bucket.delete(self._name(CLAIMS, entry.entry_id))

    async def counts(self) -> dict[str, int]:
        result = {}
        for state in (PENDING, CLAIMS, SENT):
            prefix = self.bucket.location.name(f"{OUTBOX}/{state}/")
            result["claimed" if state == CLAIMS else state] = len(await self.bucket.list(prefix))
        return result
