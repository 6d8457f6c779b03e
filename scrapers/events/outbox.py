"""The completion outbox: one entry per run, durable before anything irreversible happens.

An entry's id is the run's execution id, and creating it is create-only, so a run can never have
two completions. The entry is created *owned* by the run's process, in one of two forms:

- an **intent**, written before the run lands its document: the completion the run will send if
  the document lands, with each object path it is about to create and the SHA-256 of its bytes;
- a **final** completion, written once the run knows its result (after landing, or at once for a
  run that lands nothing).

The owner publishes its final entry and marks it sent, or releases it to `pending/` when the
publisher refuses. Sweeps (`scrapers republish`, POST /republish) only take entries nobody owns:
pending ones, and owned ones whose owner died. So a sweep never races a live run's own publish.
An intent found by a sweep belongs to a run that died while landing: the sweep checks which of its
objects exist with the intended bytes, and sends the intent's completion if the document landed,
or a `failed`/`transient` one saying the run was interrupted if it did not.

Local layout (beside the run's output): <out>/_outbox/{pending,claimed,sent,quarantine}/<id>.json.
An owner holds an exclusive flock(2) on its file in `claimed/`; the kernel drops the lock when the
process dies, so a sweeper that can take the lock knows at once that the owner is gone.
GCS layout (in the output bucket): see gcs_outbox.py.

An entry that does not parse (a torn write from another tool, a hand edit) is moved to
`quarantine/` by the sweep that finds it, so it never stops the other entries from being sent.
Sent entries are kept for `COURTSIDE_OUTBOX_RETENTION` (7 days by default), then pruned by sweeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

PENDING, CLAIMED, SENT, QUARANTINE = "pending", "claimed", "sent", "quarantine"
TEMPORARY_GRACE_SECONDS = 60.0


class OutboxError(OSError):
    """The outbox itself cannot be written or read (a landing-class failure)."""


class DuplicateExecution(ValueError):
    """An entry with this execution id exists already: a run has one completion, never two."""


class MalformedEntry(ValueError):
    """An outbox file that is not an entry: quarantined, never sent, never fatal to a sweep."""


@dataclass(frozen=True)
class OutboxEntry:
    entry_id: str  # the run's execution id
    created_at: float  # epoch seconds
    message: Mapping[str, Any]
    attributes: Mapping[str, str]
    # An intent's objects about to be created, relative path -> SHA-256 of the bytes. The first is
    # the document itself; empty for a final entry.
    landing: Mapping[str, str] = field(default_factory=dict)

    @property
    def intent(self) -> bool:
        return bool(self.landing)

    def to_json(self) -> bytes:
        value: dict[str, Any] = {
            "id": self.entry_id,
            "created_at": self.created_at,
            "message": self.message,
            "attributes": self.attributes,
        }
        if self.landing:
            value["landing"] = [[path, digest] for path, digest in self.landing.items()]
        return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> OutboxEntry:
        try:
            value = json.loads(raw)
            return cls(
                str(value["id"]),
                float(value["created_at"]),
                dict(value["message"]),
                dict(value["attributes"]),
                {str(path): str(digest) for path, digest in value.get("landing", [])},
            )
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise MalformedEntry(f"not an outbox entry: {type(exc).__name__}: {exc}") from None


class Outbox(Protocol):
    description: str
    # Entries this process moved to quarantine (their ids), for the sweep's report.
    quarantined: list[str]
    # Entries this process claimed from an owner that died holding them: a final one may have been
    # published just before its owner died.
    taken_over: set[str]

    async def open(self, entry: OutboxEntry) -> None:
        """Create the run's entry, owned by this process. Raises DuplicateExecution if the id
        exists in any state, OutboxError when the storage fails."""
        ...

    async def rewrite(self, entry: OutboxEntry) -> None:
        """Replace an entry this process owns (an intent by its final completion)."""
        ...

    async def pending(self, older_than: float = 0.0) -> list[OutboxEntry]:
        """Entries nobody can still send (pending, or owned by a dead owner) created at least
        `older_than` seconds ago, oldest first."""
        ...

    async def claim(self, entry: OutboxEntry) -> bool:
        """Take the entry for sending; False if another sweeper has it or it was sent."""
        ...

    async def mark_sent(self, entry: OutboxEntry) -> None:
        """Record an entry this process owns as sent."""
        ...

    async def release(self, entry: OutboxEntry) -> None:
        """Give an owned entry back to the sweeps (its publish failed)."""
        ...

    async def prune(self, older_than: float) -> int:
        """Delete sent entries older than `older_than` seconds; returns how many."""
        ...

    async def counts(self) -> dict[str, int]: ...


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
    os.fsync(descriptor)


class LocalOutbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"outbox {root}"
        self.quarantined: list[str] = []
        self.taken_over: set[str] = set()
        # Entries this process owns: id -> the descriptor holding the flock on its claimed/ file.
        self._held: dict[str, int] = {}

    def _path(self, state: str, entry_id: str) -> Path:
        return self.root / state / f"{entry_id}.json"

    # ------------------------------------------------------------------ the owner's side

    async def open(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._open, entry)

    def _open(self, entry: OutboxEntry) -> None:
        if entry.entry_id in self._held or any(
            self._path(state, entry.entry_id).exists() for state in (PENDING, SENT, QUARANTINE)
        ):
            raise DuplicateExecution(f"execution {entry.entry_id} has an outbox entry already")
        descriptor, temporary = self._locked_copy(entry)
        try:
            # link() fails if the name exists: create-only, with the lock already held, so no
            # sweeper ever sees this entry unowned.
            os.link(temporary, self._path(CLAIMED, entry.entry_id))
        except FileExistsError:
            os.close(descriptor)
            raise DuplicateExecution(f"execution {entry.entry_id} has an outbox entry already") from None
        except OSError as exc:
            os.close(descriptor)
            raise OutboxError(
                f"cannot write outbox entry for {entry.entry_id} in {self.root}: {exc}"
            ) from exc
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        self._held[entry.entry_id] = descriptor

    async def rewrite(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._rewrite, entry)

    def _rewrite(self, entry: OutboxEntry) -> None:
        old = self._held[entry.entry_id]
        descriptor, temporary = self._locked_copy(entry)
        try:
            os.replace(temporary, self._path(CLAIMED, entry.entry_id))  # atomic: old or new, never half
        except OSError as exc:
            os.close(descriptor)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise OutboxError(f"cannot rewrite outbox entry {entry.entry_id} in {self.root}: {exc}") from exc
        self._held[entry.entry_id] = descriptor
        os.close(old)

    def _locked_copy(self, entry: OutboxEntry) -> tuple[int, Path]:
        """The entry written and synced to a temporary file in claimed/, locked by this process."""
        folder = self.root / CLAIMED
        temporary = folder / f".{entry.entry_id}.{os.getpid()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise OutboxError(
                f"cannot write outbox entry for {entry.entry_id} in {self.root}: {exc}"
            ) from exc
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _write_all(descriptor, entry.to_json())
        except OSError as exc:
            # A full disk must not leave a stray half entry behind.
            os.close(descriptor)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise OutboxError(
                f"cannot write outbox entry for {entry.entry_id} in {self.root}: {exc}"
            ) from exc
        return descriptor, temporary

    async def mark_sent(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._finish, entry, SENT)

    async def release(self, entry: OutboxEntry) -> None:
        await asyncio.to_thread(self._finish, entry, PENDING)

    def _finish(self, entry: OutboxEntry, state: str) -> None:
        descriptor = self._held.pop(entry.entry_id)
        try:
            target = self._path(state, entry.entry_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self._path(CLAIMED, entry.entry_id), target)
            os.utime(target)  # retention counts from the sending
        except OSError as exc:
            raise OutboxError(f"cannot move outbox entry {entry.entry_id} to {state}/: {exc}") from exc
        finally:
            os.close(descriptor)  # the lock goes with it, after the move

    # ------------------------------------------------------------------ the sweeps' side

    async def pending(self, older_than: float = 0.0) -> list[OutboxEntry]:
        return await asyncio.to_thread(self._pending, older_than)

    def _pending(self, older_than: float) -> list[OutboxEntry]:
        self._remove_orphaned_temporaries()
        cutoff = time.time() - older_than
        entries: list[OutboxEntry] = []
        for state in (CLAIMED, PENDING):
            folder = self.root / state
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                if path.stem in self._held:
                    continue  # ours: a live run of this process, or this sweep's own claim
                entry = self._read(path)
                if entry is not None and entry.created_at <= cutoff:
                    entries.append(entry)
        return sorted(entries, key=lambda entry: entry.created_at)

    def _remove_orphaned_temporaries(self) -> None:
        # A process killed while writing an entry leaves its temporary file; unlocked, it is dead.
        # (A minute old at least: a writer takes its lock a moment after creating the file.)
        folder = self.root / CLAIMED
        for path in folder.glob(".*.tmp") if folder.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                if time.time() - path.stat().st_mtime < TEMPORARY_GRACE_SECONDS:
                    continue
            descriptor = self._lock(path)
            if descriptor is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                os.close(descriptor)

    def _read(self, path: Path) -> OutboxEntry | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None  # claimed or sent by someone else since the listing
        try:
            return OutboxEntry.from_json(raw)
        except MalformedEntry:
            if path.parent.name == CLAIMED and not self._lock(path):
                return None  # its live owner is still writing it (a rewrite in progress)
            self._quarantine(path)
            return None

    def _lock(self, path: Path) -> int | None:
        """A descriptor holding `path`'s lock, or None when a live owner holds it (or it is gone)."""
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Locked, but the name may have moved on meanwhile (sent, rewritten, claimed by another).
            if os.path.samestat(os.fstat(descriptor), os.stat(path)):
                return descriptor
        except OSError:
            pass
        os.close(descriptor)
        return None

    def _quarantine(self, path: Path) -> None:
        target = self.root / QUARANTINE / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return  # another sweeper moved it first
        self.quarantined.append(path.stem)

    async def claim(self, entry: OutboxEntry) -> bool:
        return await asyncio.to_thread(self._claim, entry)

    def _claim(self, entry: OutboxEntry) -> bool:
        claimed = self._path(CLAIMED, entry.entry_id)
        for source in (self._path(PENDING, entry.entry_id), claimed):
            descriptor = self._lock(source)
            if descriptor is None:
                continue
            if source != claimed:
                claimed.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(source, claimed)  # the descriptor (and its lock) follows the file
                except FileNotFoundError:
                    os.close(descriptor)
                    return False
            else:
                self.taken_over.add(entry.entry_id)
            self._held[entry.entry_id] = descriptor
            return True
        return False

    async def prune(self, older_than: float) -> int:
        return await asyncio.to_thread(self._prune, older_than)

    def _prune(self, older_than: float) -> int:
        folder = self.root / SENT
        if not folder.is_dir():
            return 0
        cutoff, removed = time.time() - older_than, 0
        for path in folder.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    async def counts(self) -> dict[str, int]:
        return await asyncio.to_thread(
            lambda: {
                state: len(list((self.root / state).glob("*.json"))) if (self.root / state).is_dir() else 0
                for state in (PENDING, CLAIMED, SENT)
            }
        )
