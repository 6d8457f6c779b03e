"""The completion outbox: written durably before publishing, marked sent after.

Each entry moves pending -> claimed -> sent. Claiming is the only step that must be exclusive,
and both stores make it so with one atomic operation: a rename on a local file system, a
create-only object (`if_generation_match=0`) in GCS. So two `republish` sweeps running at once
never send the same entry twice on a successful sweep. A claim whose owner died (a killed sweep)
is given back after `CLAIM_LEASE_SECONDS`.

Local layout (beside the run's output): <out>/_outbox/{pending,claimed,sent,quarantine}/<id>.json
GCS layout (in the output bucket): <prefix>/_outbox/{pending,sent,quarantine}/<id>.json, _outbox/claims/<id>

An entry that does not parse (a torn write from another tool, a hand edit) is moved to
`quarantine/` by the sweep that finds it, so it never stops the other entries from being sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CLAIM_LEASE_SECONDS = 600.0
PENDING, CLAIMED, SENT, QUARANTINE = "pending", "claimed", "sent", "quarantine"


class OutboxError(OSError):
    """The outbox itself cannot be written or read (a landing-class failure)."""


class MalformedEntry(ValueError):
    """An outbox file that is not an entry: quarantined, never sent, never fatal to a sweep."""


@dataclass(frozen=True)
class OutboxEntry:
    entry_id: str
    created_at: float  # epoch seconds
    message: Mapping[str, Any]
    attributes: Mapping[str, str]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.entry_id,
                "created_at": self.created_at,
                "message": self.message,
                "attributes": self.attributes,
            },
            ensure_ascii=False,
            sort_keys=True,
        ).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> OutboxEntry:
        try:
            value = json.loads(raw)
            return cls(
                str(value["id"]),
                float(value["created_at"]),
                dict(value["message"]),
                dict(value["attributes"]),
            )
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise MalformedEntry(f"not an outbox entry: {type(exc).__name__}: {exc}") from None

    @classmethod
    def new(cls, message: Mapping[str, Any], attributes: Mapping[str, str]) -> OutboxEntry:
        # Time first, so a listing sorts entries in the order they were written.
        moment = time.time()
        return cls(f"{int(moment * 1000):013d}-{uuid.uuid4().hex[:12]}", moment, message, attributes)


class Outbox(Protocol):
    description: str
    # Entries this process moved to quarantine (their ids), for the sweep's report.
    quarantined: list[str]

    async def add(self, entry: OutboxEntry) -> None: ...

    async def pending(self, older_than: float = 0.0) -> list[OutboxEntry]:
        """Pending entries created at least `older_than` seconds ago, oldest first."""
        ...

    async def claim(self, entry: OutboxEntry) -> bool:
        """Take the entry for sending; False if another sweeper has it or it was sent."""
        ...

    async def mark_sent(self, entry: OutboxEntry) -> None:
        """Record the entry as sent, whether a sweep claimed it or its run published it directly."""
        ...

    async def release(self, entry: OutboxEntry) -> None:
        """Give a claimed entry back (its publish failed)."""
        ...

    async def counts(self) -> dict[str, int]: ...


class LocalOutbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"outbox {root}"
        self.quarantined: list[str] = []

    def _path(self, state: str, entry_id: str) -> Path:
        return self.root / state / f"{entry_id}.json"

    async def add(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._add, entry)

    def _add(self, entry: OutboxEntry) -> None:
        target = self._path(PENDING, entry.entry_id)
        temporary = target.with_suffix(".tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as handle:
                handle.write(entry.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)  # a reader never sees half an entry
        except OSError as exc:
            # A full disk must not leave a stray half entry; when even that fails (the folder is
            # not a folder), there is nothing of ours left to remove.
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise OutboxError(f"cannot write outbox entry {target}: {exc}") from exc

    async def pending(self, older_than: float = 0.0) -> list[OutboxEntry]:
        return await asyncio.to_thread(self._pending, older_than)

    def _pending(self, older_than: float) -> list[OutboxEntry]:
        self._return_expired_claims()
        folder = self.root / PENDING
        if not folder.is_dir():
            return []
        cutoff = time.time() - older_than
        entries = []
        for path in sorted(folder.glob("*.json")):
            try:
                entry = OutboxEntry.from_json(path.read_bytes())
            except FileNotFoundError:
                continue  # claimed by another sweeper since the listing
            except MalformedEntry:
                self._quarantine(path)
                continue
            if entry.created_at <= cutoff:
                entries.append(entry)
        return entries

    def _quarantine(self, path: Path) -> None:
        target = self.root / QUARANTINE / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return  # another sweeper moved it first
        self.quarantined.append(path.stem)

    def _return_expired_claims(self) -> None:
        folder = self.root / CLAIMED
        if not folder.is_dir():
            return
        for path in folder.glob("*.json"):
            try:
                if time.time() - path.stat().st_mtime > CLAIM_LEASE_SECONDS:
                    os.rename(path, self.root / PENDING / path.name)
            except FileNotFoundError:
                continue  # finished or returned by someone else meanwhile

    async def claim(self, entry: OutboxEntry) -> bool:
        return await asyncio.to_thread(self._claim, entry)

    def _claim(self, entry: OutboxEntry) -> bool:
        claimed = self._path(CLAIMED, entry.entry_id)
        claimed.parent.mkdir(parents=True, exist_ok=True)
        try:
            # rename() is atomic: of two sweepers, exactly one moves the file.
            os.rename(self._path(PENDING, entry.entry_id), claimed)
        except FileNotFoundError:
            return False
        os.utime(claimed)  # the lease starts now, not when the entry was written
        return True

    async def mark_sent(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._mark_sent, entry)

    def _mark_sent(self, entry: OutboxEntry) -> None:
        try:
            self._move(CLAIMED, SENT, entry)
        except FileNotFoundError:
            self._move(PENDING, SENT, entry)  # published by its own run, never claimed

    async def release(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._move, CLAIMED, PENDING, entry)

    def _move(self, source: str, target: str, entry: OutboxEntry) -> None:
        destination = self._path(target, entry.entry_id)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self._path(source, entry.entry_id), destination)

    async def counts(self) -> dict[str, int]:
        return await asyncio.to_thread(
            lambda: {
                state: len(list((self.root / state).glob("*.json"))) if (self.root / state).is_dir() else 0
                for state in (PENDING, CLAIMED, SENT)
            }
        )
