"""The job ledger: what became of each job key, so a finished job is never fetched or landed twice.

A backfill, a redelivered jobs-topic message or a second worker given the same message asks the
ledger first; `scrapers backfill status` reads it to say what is left. One entry per output and job
key (`Job.key`: the scraper and its resolved options) in the state store, namespace
`ledger.<scraper>`:

    {"key": "nbac_gamebook_pdf:{...}", "scraper": "nbac_gamebook_pdf", "options": {...},
     "output": "/abs/data", "status": "success", "failure_class": null, "retryable": false,
     "attempts": 2, "failed_in_a_row": 0, "execution_ids": ["9f1c...", "b0e2..."],
     "landed": ["/abs/data/nba-com/..."], "updated_at": "2024-01-16T03:00:04+00:00",
     "claim": null, "force": null, "dead_letter": null, "landing": null, "fan_out": [...]}

`status` is the latest terminal status of the job (`success`, `no_data` and `partial` are done;
`failed` carries its class and whether a retry may help). Every run through the one run path
records here (Core.after_run), whatever started it. A job is done only when everything its run
declared landed: the runner lands a document last (after its PDF), and a dead run is settled
from what it landed only when all of it is there.

`failed_in_a_row` counts retryable failures since the job last ended otherwise: past
COURTSIDE_JOBS_MAX_ATTEMPTS a worker (or the push route) moves the job's message to the
dead-letter topic and records it in `dead_letter` (the message id, topic, time, class), so a
redelivery of that message is acknowledged without a run and `backfill status` counts it. A later
run (a new message, a local backfill) clears it.

`force` is the token of a `--force` pass (backfill, enqueue) the latest done status was recorded
under: a forced job runs again although it is done, once per token, so a redelivered forced
message is still never fetched twice.

Exactly once per key: a worker or a backfill claims the entry before it runs the job, in the same
atomic step that checks the job is not done (`read_modify_write`), so of two workers given one
redelivered message only one runs it. A claim expires (the job deadline plus its grace and a
margin), so a worker killed mid-run frees its job for a redelivery.

The output is part of the entry's identity: the same job landing in another folder or bucket is
another fact. The entry is mirrored as JSON beside the data (`_ledger/<scraper>/<digest>.json`),
so a bucket shows what was fetched into it; the state store stays the authority.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from proxy.state import StateStore, read_modify_write
from scrapers.core.outcome import RunStatus
from scrapers.core.result import RunResult
from scrapers.pipeline.runner import Job
from scrapers.sinks.base import Sink
from scrapers.sinks.gcs import SCHEME

NAMESPACE_PREFIX = "ledger"
LEDGER_FOLDER = "_ledger"  # the mirror, beside the landed documents
DONE = frozenset({RunStatus.SUCCESS.value, RunStatus.NO_DATA.value, RunStatus.PARTIAL.value})
# HTTP statuses that say "retry" (Outcome.http_status: our egress, the upstream's limits, our own
# storage, a timeout) and a run error's 500 (a bug: redelivered until the dead-letter topic takes it).
RETRYABLE_HTTP = frozenset({500, 503, 504})
# An entry keeps the last few execution ids and landed paths: a job retried for weeks must not
# grow one state value without bound.
KEPT = 20


class Claimed(StrEnum):
    """What a claim found."""

    CLAIMED = "claimed"  # the caller runs the job now and releases the claim after
    DONE = "done"  # the job already succeeded (or has no data): nothing to run
    BUSY = "busy"  # another worker holds a live claim on it
    DEAD_LETTERED = "dead_lettered"  # this very message went to the dead-letter topic already


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    scraper: str
    options: Mapping[str, Any]
    output: str
    status: str | None = None  # None: claimed or recorded as pending, never finished
    failure_class: str | None = None
    retryable: bool = False
    attempts: int = 0
    execution_ids: tuple[str, ...] = ()
    landed: tuple[str, ...] = ()
    updated_at: str | None = None
    claim_owner: str | None = None
    claim_until: float | None = None  # unix time
    claim_force: str | None = None  # the --force token the claim runs the job under
    failed_in_a_row: int = 0  # retryable failures since the job last ended otherwise
    force: str | None = None  # the --force token the latest done status was recorded under
    # The message moved to the dead-letter topic: {"message_id", "topic", "at", "attempts",
    # "failure_class"}; None when the job was not dead-lettered since its last run.
    dead_letter: Mapping[str, Any] | None = None
    # The per-game / per-event ids of the latest successful run, so the children of a finished
    # parent can be planned again (a resumed backfill, a redelivered fan-out) without fetching it.
    fan_out: tuple[Mapping[str, Any], ...] = ()
    # What a run was about to land (its id, intended status, object paths and the timestamp
    # naming them), until a done status is recorded: after a crash, the next claimant settles the
    # job by what landed instead of fetching and landing it again, or lands the rest under the
    # same names.
    landing: Mapping[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE

    @property
    def dead_lettered(self) -> bool:
        return self.dead_letter is not None and not self.done

    def done_for(self, force: str | None) -> bool:
        """Done, and nothing asks to run it again: no force token, or the one it was done under."""
        return self.done and (force is None or self.force == force)

    def claimed(self, now: float) -> bool:
        return self.claim_owner is not None and (self.claim_until or 0.0) > now

    def to_state(self) -> dict[str, Any]:
        claim = (
            {"owner": self.claim_owner, "until": self.claim_until, "force": self.claim_force}
            if self.claim_owner is not None
            else None
        )
        return {
            "key": self.key,
            "scraper": self.scraper,
            "options": dict(self.options),
            "output": self.output,
            "status": self.status,
            "failure_class": self.failure_class,
            "retryable": self.retryable,
            "attempts": self.attempts,
            "failed_in_a_row": self.failed_in_a_row,
            "execution_ids": list(self.execution_ids),
            "landed": list(self.landed),
            "updated_at": self.updated_at,
            "claim": claim,
            "force": self.force,
            "dead_letter": dict(self.dead_letter) if self.dead_letter else None,
            "fan_out": [dict(ref) for ref in self.fan_out],
            "landing": dict(self.landing) if self.landing else None,
        }

    @classmethod
    def from_state(cls, value: Mapping[str, Any]) -> LedgerEntry:
        claim = value.get("claim") or {}
        return cls(
            key=str(value["key"]),
            scraper=str(value["scraper"]),
            options=dict(value.get("options") or {}),
            output=str(value.get("output", "")),
            status=value.get("status"),
            failure_class=value.get("failure_class"),
            retryable=bool(value.get("retryable", False)),
            attempts=int(value.get("attempts", 0)),
            failed_in_a_row=int(value.get("failed_in_a_row", 0)),
            execution_ids=tuple(value.get("execution_ids") or ()),
            landed=tuple(value.get("landed") or ()),
            updated_at=value.get("updated_at"),
            claim_owner=claim.get("owner"),
            claim_until=claim.get("until"),
            claim_force=claim.get("force"),
            force=value.get("force"),
            dead_letter=value.get("dead_letter") or None,
            fan_out=tuple(value.get("fan_out") or ()),
            landing=value.get("landing") or None,
        )

    @property
    def unsettled_landing(self) -> Mapping[str, Any] | None:
        """The landing of a run that never recorded its status (it died), if any."""
        if self.landing and self.landing.get("run_id") not in self.execution_ids:
            return self.landing
        return None


@dataclass(frozen=True)
class JobId:
    """What the ledger needs of a job: its key, its scraper, and its options for people to read."""

    key: str
    scraper: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, job: Job) -> JobId:
        return cls(job.key, job.entry.name, job.option_texts())


def output_identity(out: str) -> str:
    """One spelling per output: `./data`, `data` and `/abs/data` are the same folder."""
    if out.startswith(SCHEME):
        return out.rstrip("/")
    return str(Path(out).resolve())


def record_key(output: str, name: str) -> str:
    """The state-store key of one output's record `name` (a job key, a workflow): bounded, and
    the same output spelled differently shares it (`output` is an `output_identity`)."""
    return hashlib.sha256(f"{output}\n{name}".encode()).hexdigest()[:32]


def retryable_result(result: RunResult) -> bool:
    return (
        result.status is RunStatus.FAILED
        and result.failure_class is not None
        and result.failure_class.http_status in RETRYABLE_HTTP
    )


class Ledger:
    """The ledger of one output, in one state store; `sink` (the output's) receives the mirror."""

    def __init__(
        self,
        store: StateStore,
        output: str,
        sink: Sink | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.output = output_identity(output)
        self.sink = sink
        # Claims are real leases between processes: wall time, whatever clock the runs use (a
        # replay freezes its clock at the recorded day).
        self._now = wall_clock

    def digest(self, key: str) -> str:
        return record_key(self.output, key)

    @staticmethod
    def namespace(scraper: str) -> str:
        return f"{NAMESPACE_PREFIX}.{scraper}"

    def mirror_path(self, scraper: str, key: str) -> str:
        return f"{LEDGER_FOLDER}/{scraper}/{self.digest(key)}.json"

    async def get(self, job: JobId) -> LedgerEntry | None:
        value = await self.store.get(self.namespace(job.scraper), self.digest(job.key))
        return LedgerEntry.from_state(value) if value else None

    async def entries(self, scraper: str) -> dict[str, LedgerEntry]:
        """Every entry of `scraper` in this output, by job key."""
        values = await self.store.items(self.namespace(scraper))
        entries = (LedgerEntry.from_state(value) for value in values.values())
        return {entry.key: entry for entry in entries if entry.output == self.output}

    async def claim(
        self,
        job: JobId,
        owner: str,
        ttl_seconds: float,
        *,
        force: str | None = None,
        message_id: str | None = None,
    ) -> tuple[Claimed, LedgerEntry]:
        """Claim the job for `owner` unless it is done (and `force` does not ask for it again),
        `message_id` went to the dead-letter topic already, or someone else holds a live claim."""
        now = self._now()
        found = Claimed.CLAIMED

        def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
            nonlocal found
            entry = self._entry(current, job)
            if entry.done_for(force):
                found = Claimed.DONE
                return None
            if message_id is not None and (entry.dead_letter or {}).get("message_id") == message_id:
                found = Claimed.DEAD_LETTERED
                return None
            if entry.claimed(now) and entry.claim_owner != owner:
                found = Claimed.BUSY
                return None
            found = Claimed.CLAIMED
            state = entry.to_state()
            state["claim"] = {"owner": owner, "until": now + ttl_seconds, "force": force}
            return state

        stored = await read_modify_write(
            self.store, self.namespace(job.scraper), self.digest(job.key), change
        )
        return found, self._entry(stored, job)

    async def plan(self, job: JobId) -> None:
        """Known as pending (status None) unless the ledger has it already."""

        def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if current else self._entry(None, job).to_state()

        await read_modify_write(self.store, self.namespace(job.scraper), self.digest(job.key), change)

    async def release(self, job: JobId, owner: str) -> None:
        """Give the claim back, if `owner` still holds it (an expired and re-taken claim is not ours)."""

        def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if not current or (current.get("claim") or {}).get("owner") != owner:
                return None
            return {**current, "claim": None}

        await read_modify_write(self.store, self.namespace(job.scraper), self.digest(job.key), change)

    async def record(self, job: JobId, result: RunResult) -> LedgerEntry:
        """A run of the job ended with `result`: its status becomes the job's latest."""
        return await self._record(
            job,
            status=result.status.value,
            failure_class=result.failure_class.value if result.failure_class else None,
            retryable=retryable_result(result),
            run_id=result.run_id,
            landed=result.landed,
            fan_out=[ref.to_dict() for ref in result.fan_out] if result.ok else None,
        )

    async def intend_landing(self, job: JobId, intended: RunResult, paths: Sequence[str], stamp: str) -> None:
        """A run is about to land `paths` (relative to the output, named by `stamp`), meaning to
        end as `intended`."""
        landing = {
            "run_id": intended.run_id,
            "status": intended.status.value,
            "paths": list(paths),
            "stamp": stamp,
            "fan_out": [ref.to_dict() for ref in intended.fan_out],
        }

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            state = self._entry(current, job).to_state()
            state["landing"] = landing
            return state

        await read_modify_write(self.store, self.namespace(job.scraper), self.digest(job.key), change)

    async def settle_landing(self, job: JobId, entry: LedgerEntry) -> LedgerEntry | None:
        """The entry of a job whose dead run landed everything it declared, now recorded with the
        status that run meant to send; None when there is nothing to settle or something is
        missing (then the job runs again, under the dead run's names: `resume_stamp`). The dead
        run's completion is in the outbox, for a sweep."""
        landing = entry.unsettled_landing
        if landing is None or self.sink is None or not landing.get("paths"):
            return None
        paths = [str(path) for path in landing["paths"]]
        # Every object, not just the document: a job is done only when all it declared landed.
        # (The runner lands the document last, so a present document means the rest is there;
        # this also holds for objects landed before that order.)
        present = [path for path in paths if await self.sink.read(path) is not None]
        if len(present) != len(paths):
            return None
        return await self._record(
            job,
            status=str(landing.get("status") or RunStatus.SUCCESS.value),
            failure_class=None,
            retryable=False,
            run_id=str(landing["run_id"]),
            landed=[self.sink.uri(path) for path in present],
            fan_out=list(landing.get("fan_out") or ()),
        )

    async def resume_stamp(self, entry: LedgerEntry) -> str | None:
        """The timestamp that named the objects of the job's last landing when some of them are
        there (a run died or failed between its PDF and its document): the next run lands under
        the same names, adopting what landed. None when nothing of it landed: a fresh name then
        (a stale timestamp would misplace the document among newer ones)."""
        landing = entry.landing
        if not landing or self.sink is None or not landing.get("stamp"):
            return None
        for path in landing.get("paths") or ():
            if await self.sink.read(str(path)) is not None:
                return str(landing["stamp"])
        return None

    async def dead_letter(
        self, job: JobId, *, message_id: str | None, topic: str, failure_class: str | None
    ) -> LedgerEntry:
        """The job's message went to the dead-letter topic `topic`: recorded, and its count of
        failures in a row starts again (a new message for the job gets the full number of tries)."""
        at = datetime.fromtimestamp(self._now(), UTC).isoformat(timespec="seconds")

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            entry = self._entry(current, job)
            state = entry.to_state()
            state["dead_letter"] = {
                "message_id": message_id,
                "topic": topic,
                "at": at,
                "attempts": entry.failed_in_a_row,
                "failure_class": failure_class or entry.failure_class,
            }
            state["failed_in_a_row"] = 0
            return state

        stored = await read_modify_write(
            self.store, self.namespace(job.scraper), self.digest(job.key), change
        )
        return self._entry(stored, job)

    async def record_error(self, job: JobId, run_id: str, error_type: str, http_status: int) -> LedgerEntry:
        """A run that could not be carried out at all (no result): failed, with the error's type."""
        return await self._record(
            job,
            status=RunStatus.FAILED.value,
            failure_class=error_type,
            retryable=http_status in RETRYABLE_HTTP,
            run_id=run_id,
            landed=(),
        )

    async def _record(
        self,
        job: JobId,
        *,
        status: str,
        failure_class: str | None,
        retryable: bool,
        run_id: str,
        landed: Iterable[str],
        fan_out: list[dict[str, Any]] | None = None,
    ) -> LedgerEntry:
        at = datetime.fromtimestamp(self._now(), UTC).isoformat(timespec="seconds")

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            entry = self._entry(current, job)
            done = status in DONE
            # The claim stays: its holder releases it after this, and until then the status
            # written here already answers anyone who asks.
            state = entry.to_state()
            state.update(
                status=status,
                failure_class=failure_class,
                retryable=retryable,
                attempts=entry.attempts + 1,
                failed_in_a_row=entry.failed_in_a_row + 1 if retryable else 0,
                execution_ids=[*entry.execution_ids, run_id][-KEPT:],
                landed=_kept([*entry.landed, *landed]),
                updated_at=at,
                dead_letter=None,
                # Done: nothing is left to resume. Not done: the landing's names stay, for a next
                # run to land the rest under them (Ledger.resume_stamp).
                landing=None if done else state["landing"],
                # The claim's --force token, if the job is done under it (None: an ordinary run).
                force=entry.claim_force if done else entry.force,
            )
            if fan_out is not None:
                state["fan_out"] = fan_out
            return state

        stored = await read_modify_write(
            self.store, self.namespace(job.scraper), self.digest(job.key), change
        )
        return self._entry(stored, job)

    async def mirror(self, entry: LedgerEntry) -> None:
        """Write the entry beside the data (raises OSError when the sink fails)."""
        if self.sink is None:
            return
        state = entry.to_state()
        state.pop("claim")  # a lease between processes, not a fact about the data
        body = json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        await self.sink.write(self.mirror_path(entry.scraper, entry.key), body, "application/json")

    def _entry(self, value: Mapping[str, Any] | None, job: JobId) -> LedgerEntry:
        if value:
            return LedgerEntry.from_state(value)
        return LedgerEntry(key=job.key, scraper=job.scraper, options=dict(job.options), output=self.output)


def _kept(paths: list[str]) -> list[str]:
    """Distinct, in order, the last KEPT."""
    return list(dict.fromkeys(paths))[-KEPT:]
