"""Each workflow's record in the state store: its windows and its decisions, one value per workflow.

    namespace `workflows`, key: a digest of the output and the workflow name

    {"workflow": "post_game", "output": "gs://nba-scraped-data", "since": "2024-01-15T12:50:00+00:00",
     "windows": {"2024-01-15": {"state": "done", "decision": "run", "due": "...", "decided_at": "...",
                                "owner": "host:pid:ab12", "until": 1705370000.0, "jobs": 9,
                                "outcome": "9 success"}},
     "decisions": [{"at": "...", "decision": "run", "window": "2024-01-15", "reason": "..."}]}

A window is claimed (`running`, with an owner and a lease) in the same atomic step that checks
nobody has it (the store's read-modify-write: a Redis WATCH/MULTI transaction, a SQLite
`BEGIN IMMEDIATE`), so of two overlapping ticks only one runs a window; the other sees it held, or
done. A tick renews its lease while the window's jobs run; a tick that died stops renewing, and the
window is free again when the lease ends (then a later tick catches it up, if still useful). A window
ends `done` (its jobs ran or were enqueued) or `stale` (missed, and too late to be useful).

`since` is the first moment the workflow was decided for this output: windows before it were never
this deployment's, so they are neither caught up nor reported stale. Windows and decisions older
than the horizon are pruned, so the value stays small. The record is mirrored beside the data as
`_workflows/<workflow>.json` (in the bucket for gs:// output), as the job ledger is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from proxy.state import StateStore, read_modify_write
from scrapers.pipeline.ledger import output_identity, record_key
from scrapers.sinks.base import Sink

NAMESPACE = "workflows"
MIRROR_FOLDER = "_workflows"
KEEP_DECISIONS = 50
KEEP_WINDOWS_FOR = timedelta(days=8)


class State(StrEnum):
    RUNNING = "running"
    DONE = "done"
    STALE = "stale"


@dataclass(frozen=True)
class WindowRecord:
    state: State
    decision: str
    due: str | None
    decided_at: str
    owner: str | None = None
    until: float | None = None  # wall-clock unix time the lease ends
    jobs: int = 0
    outcome: str = ""
    reason: str = ""

    def held(self, now: float) -> bool:
        return self.state is State.RUNNING and (self.until or 0.0) > now

    def to_state(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "decision": self.decision,
            "due": self.due,
            "decided_at": self.decided_at,
            "owner": self.owner,
            "until": self.until,
            "jobs": self.jobs,
            "outcome": self.outcome,
            "reason": self.reason,
        }

    @classmethod
    def from_state(cls, value: Mapping[str, Any]) -> WindowRecord:
        return cls(
            state=State(str(value.get("state", State.DONE.value))),
            decision=str(value.get("decision", "")),
            due=value.get("due"),
            decided_at=str(value.get("decided_at", "")),
            owner=value.get("owner"),
            until=value.get("until"),
            jobs=int(value.get("jobs", 0)),
            outcome=str(value.get("outcome", "")),
            reason=str(value.get("reason", "")),
        )


@dataclass(frozen=True)
class WorkflowRecord:
    workflow: str
    since: datetime | None
    windows: Mapping[str, WindowRecord] = field(default_factory=dict)
    decisions: tuple[Mapping[str, Any], ...] = ()


class Claim(StrEnum):
    WON = "won"  # this tick runs the window
    HELD = "held"  # another tick holds a live lease on it
    DONE = "done"  # another tick ran it (or recorded it stale) already


class WindowBook:
    """The workflows' records of one output, in one state store; `sink` receives the mirror."""

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
        # Leases are between processes: wall time, whatever moment the tick decides for (--at).
        self.wall = wall_clock

    def key(self, workflow: str) -> str:
        return record_key(self.output, workflow)

    async def read(self, workflow: str) -> WorkflowRecord:
        return self._record(workflow, await self.store.get(NAMESPACE, self.key(workflow)))

    def _record(self, workflow: str, value: Mapping[str, Any] | None) -> WorkflowRecord:
        if not value:
            return WorkflowRecord(workflow, None)
        since = value.get("since")
        windows = {
            str(key): WindowRecord.from_state(item)
            for key, item in (value.get("windows") or {}).items()
            if isinstance(item, Mapping)
        }
        return WorkflowRecord(
            workflow,
            datetime.fromisoformat(since) if isinstance(since, str) else None,
            windows,
            tuple(item for item in value.get("decisions") or () if isinstance(item, Mapping)),
        )

    async def _change(self, workflow: str, change: Callable[[dict[str, Any]], bool]) -> WorkflowRecord:
        """Apply `change` to the workflow's value atomically (it returns False to leave it)."""

        def apply(current: dict[str, Any] | None) -> dict[str, Any] | None:
            value = dict(
                current or {"workflow": workflow, "output": self.output, "windows": {}, "decisions": []}
            )
            value["windows"] = dict(value.get("windows") or {})
            return value if change(value) else None

        stored = await read_modify_write(self.store, NAMESPACE, self.key(workflow), apply)
        return self._record(workflow, stored)

    async def begin(self, workflow: str, since: datetime) -> WorkflowRecord:
        """The record, with `since` set if this is the workflow's first tick for this output."""

        def change(value: dict[str, Any]) -> bool:
            if value.get("since"):
                return False
            value["since"] = since.isoformat()
            return True

        return await self._change(workflow, change)

    async def claim(
        self, workflow: str, window: str, owner: str, lease_seconds: float, record: WindowRecord
    ) -> tuple[Claim, WindowRecord | None]:
        """Take the window for `owner` unless it is done, stale or held by another live lease."""
        now = self.wall()
        found = Claim.WON

        def change(value: dict[str, Any]) -> bool:
            nonlocal found
            current = value["windows"].get(window)
            if current is not None:
                existing = WindowRecord.from_state(current)
                if existing.state is not State.RUNNING:
                    found = Claim.DONE
                    return False
                if existing.held(now) and existing.owner != owner:
                    found = Claim.HELD
                    return False
            found = Claim.WON
            claimed = {
                **record.to_state(),
                "state": State.RUNNING.value,
                "owner": owner,
                "until": now + lease_seconds,
            }
            value["windows"][window] = claimed
            return True

        stored = await self._change(workflow, change)
        return found, stored.windows.get(window)

    async def renew(self, workflow: str, window: str, owner: str, lease_seconds: float) -> bool:
        """Extend our lease; False when the window is no longer ours."""
        now = self.wall()
        ours = False

        def change(value: dict[str, Any]) -> bool:
            nonlocal ours
            current = value["windows"].get(window)
            ours = bool(current) and current.get("owner") == owner and current.get("state") == State.RUNNING
            if ours:
                value["windows"][window] = {**current, "until": now + lease_seconds}
            return ours

        await self._change(workflow, change)
        return ours

    async def finish(self, workflow: str, window: str, owner: str, jobs: int, outcome: str) -> None:
        """The window's jobs ran (or were enqueued): done, if the window is still ours."""

        def change(value: dict[str, Any]) -> bool:
            current = value["windows"].get(window)
            if not current or current.get("owner") != owner:
                return False
            value["windows"][window] = {
                **current,
                "state": State.DONE.value,
                "until": None,
                "jobs": jobs,
                "outcome": outcome,
            }
            return True

        await self._change(workflow, change)

    async def release(self, workflow: str, window: str, owner: str) -> None:
        """Give an unfinished window back (an interrupted tick): a later tick catches it up."""

        def change(value: dict[str, Any]) -> bool:
            current = value["windows"].get(window)
            if not current or current.get("owner") != owner or current.get("state") != State.RUNNING:
                return False
            del value["windows"][window]
            return True

        await self._change(workflow, change)

    async def settle(self, workflow: str, records: Mapping[str, WindowRecord]) -> None:
        """Record windows decided without running (stale; a recovery with nothing to do), unless
        another tick recorded them first."""
        if not records:
            return

        def change(value: dict[str, Any]) -> bool:
            added = False
            for window, record in records.items():
                if window not in value["windows"]:
                    value["windows"][window] = record.to_state()
                    added = True
            return added

        await self._change(workflow, change)

    async def log(self, workflow: str, decisions: list[Mapping[str, Any]], now: datetime) -> WorkflowRecord:
        """Append this tick's decisions (the last KEEP_DECISIONS are kept) and prune old windows."""
        horizon = now - KEEP_WINDOWS_FOR

        def change(value: dict[str, Any]) -> bool:
            value["decisions"] = [*(value.get("decisions") or []), *decisions][-KEEP_DECISIONS:]
            value["windows"] = {
                key: item
                for key, item in value["windows"].items()
                if not item.get("due") or datetime.fromisoformat(item["due"]) >= horizon
            }
            return True

        return await self._change(workflow, change)

    async def mirror(self, workflow: str) -> None:
        """Write the record beside the data (raises OSError when the sink fails)."""
        if self.sink is None:
            return
        value = await self.store.get(NAMESPACE, self.key(workflow))
        if not value:
            return
        body = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        await self.sink.write(f"{MIRROR_FOLDER}/{workflow}.json", body, "application/json")
