"""Runs in progress and their results, by id: what POST /scrape, /batch and GET /runs/{id} share.

Every admitted run is a task of this manager, never of a request handler, so a client that hangs
up does not cancel a run, and shutdown can wait for every run in one place. Every admitted run ends
with a completion: its own, or (cut off by its deadline or by shutdown) a `failed` / `transient`
one that says so, published through the same outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from proxy.state import StateStore, StateStoreError
from scrapers.core.clock import eastern_today
from scrapers.core.errors import (
    BadConfiguration,
    InvalidOptions,
    OptionError,
    ReplayMissError,
    UnknownScraperError,
)
from scrapers.core.fanout import Child
from scrapers.core.logs import OUTCOME_LOGGER, RUN_ID, run_level
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.result import RunResult
from scrapers.http.attempts import AttemptLog
from scrapers.http.policy import SourcePolicy
from scrapers.metrics.runs import record_run
from scrapers.pipeline.admission import InFlightGate, ScraperSlots
from scrapers.pipeline.fanout import child_options_for, expand
from scrapers.pipeline.jobs import JobRequest, PlannedJob
from scrapers.pipeline.ledger import JobId
from scrapers.pipeline.runner import Job, RunContext, completion_message, prepare, run_job
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import Core

log = logging.getLogger("scrapers.runs")
# A run's start and outcome (a job command in text mode leaves them out: its table says the same).
outcomes = logging.getLogger(OUTCOME_LOGGER)

RUN_ID_HEX = 16
# What a run that could not run at all logs at: the caller's input is a warning, ours an error.
_ERROR_LEVELS = {"invalid_options": logging.WARNING, "replay_miss": logging.WARNING}


class RunState(StrEnum):
    QUEUED = "queued"  # admitted, waiting for a slot of its scraper
    RUNNING = "running"  # fetching, parsing, landing; or a fan-out parent waiting for its children
    DONE = "done"


@dataclass(frozen=True)
class RunError:
    """A run that ended without a result: it could not run at all."""

    type: str  # invalid_options, replay_miss, unavailable, configuration, internal
    message: str
    http_status: int


@dataclass
class RunRecord:
    run_id: str
    scraper: str
    options: dict[str, Any]
    submitted_at: float
    label: str | None = None  # a fan-out child's game code or event id
    parent_id: str | None = None
    state: RunState = RunState.QUEUED
    started_at: float | None = None
    finished_at: float | None = None
    result: RunResult | None = None
    error: RunError | None = None
    child_scraper: str | None = None  # set for a fan-out parent: its children's scrapers, `a, b`
    children: list[RunRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def own_status(self) -> int | None:
        if self.result is not None:
            failure = self.result.failure_class
            return Outcome.OK.http_status if self.result.ok or failure is None else failure.http_status
        return self.error.http_status if self.error else None

    @property
    def http_status(self) -> int | None:
        """What a waiting request answers: the highest code among the run and its children."""
        if self.state is not RunState.DONE:
            return None
        codes = [code for code in (self.own_status, *(c.http_status for c in self.children)) if code]
        return max(codes) if codes else None

    def walk(self) -> Iterable[RunRecord]:
        yield self
        for child in self.children:
            yield from child.walk()

    def view(self) -> dict[str, Any]:
        """The JSON of GET /runs/{id} and of a waited POST /scrape."""
        body: dict[str, Any] = {
            "run_id": self.run_id,
            "scraper": self.scraper,
            "state": self.state.value,
            "status": self.result.status.value if self.result else None,
            "http_status": self.http_status,
            "options": self.options,
            "submitted_at": _iso(self.submitted_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "result": self.result.to_dict() if self.result else None,
            "error": {"type": self.error.type, "message": self.error.message} if self.error else None,
        }
        if self.parent_id is not None:
            body["parent_id"] = self.parent_id
            body["label"] = self.label
        if self.child_scraper is not None:
            states = [child.state for child in self.children]
            body["children"] = {
                "scraper": self.child_scraper,
                "total": len(self.children),
                "queued": states.count(RunState.QUEUED),
                "running": states.count(RunState.RUNNING),
                "done": states.count(RunState.DONE),
                "succeeded": sum(1 for c in self.children if c.result is not None and c.result.ok),
                "failed": sum(
                    1
                    for c in self.children
                    if c.state is RunState.DONE and c.own_status != Outcome.OK.http_status
                ),
                "skipped": list(self.skipped),
                "runs": [child.view() for child in self.children],
            }
        return body


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


Listener = Callable[[RunRecord], None]
LandingHook = Callable[[RunResult, Sequence[str], str], Awaitable[None]]
_UNBOUNDED = contextlib.nullcontext()


class RunBoard:
    """Every run's view, written to the shared state store on every change, so any replica behind
    a load balancer answers GET /runs/{id} (the service uses it when the store is Redis).

    Writes go out one at a time in the order of the changes, and a view changed again before its
    write left is written once, in its latest form: a slow store delays views but never reorders
    them. A store that cannot be written is logged once per outage; the run itself goes on, and
    the replica that runs it still answers from memory.
    """

    NAMESPACE = "runs"

    def __init__(self, store: StateStore, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._pending: dict[str, dict[str, Any]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._failing = False

    def publish(self, record: RunRecord) -> None:
        self._pending[record.run_id] = record.view()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="run-board")

    async def flush(self) -> None:
        """Return once every view published so far is written (or its write failed)."""
        while self._writer is not None and not self._writer.done():
            # shielded: a request that stops waiting does not stop the writes
            await asyncio.shield(self._writer)

    async def lookup(self, run_id: str) -> dict[str, Any] | None:
        """A run's last written view; StateStoreError when the store cannot be read."""
        return await self.store.get(self.NAMESPACE, run_id)

    async def _write(self) -> None:
        while self._pending:
            run_id = next(iter(self._pending))
            view = self._pending.pop(run_id)
            try:
                await self.store.put(self.NAMESPACE, run_id, view, self.ttl_seconds)
            except StateStoreError as exc:
                if not self._failing:
                    log.warning("run state not shared: other replicas answer 404 for it: %s", exc)
                self._failing = True
            else:
                self._failing = False


class RunManager:
    def __init__(
        self,
        core: Core,
        settings: ServiceSettings,
        *,
        trigger_source: str,
        on_change: Listener | None = None,
        push_metrics: bool = False,
        board: RunBoard | None = None,
    ) -> None:
        self.core = core
        self.board = board
        # One-job containers push their metrics to the Pushgateway after each run; a service and
        # run-many expose or print theirs instead.
        self.push_metrics = push_metrics
        self.settings = settings
        self.trigger_source = trigger_source
        self.gate = InFlightGate(settings.max_in_flight)
        self.slots = ScraperSlots(settings.scraper_concurrency, settings.scraper_concurrency_overrides)
        self.accepting = True
        # What a cut-off completion says stopped the run: "shutdown" (the service), or the signal.
        self.stopped_by = "shutdown"
        # When that stop was asked (time.monotonic()): a push after it gets what is left of the
        # stop's time (`push_budget`), not the full push timeouts.
        self.stop_requested_at: float | None = None
        # The scrapers whose runs ended here (with a result, cut off included): the groups a push
        # by scraper may replace (`push_by_scraper`).
        self.scrapers_ran: set[str] = set()
        self._on_change = on_change
        self._runs: OrderedDict[str, RunRecord] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._landing_hooks: dict[str, LandingHook] = {}
        self._landing_stamps: dict[str, str] = {}

    # ------------------------------------------------------------------ admission and lookup

    def try_admit(self, count: int = 1) -> bool:
        return self.accepting and self.gate.try_acquire(count)

    def submit(
        self,
        planned: PlannedJob,
        *,
        on_landing: LandingHook | None = None,
        landing_stamp: str | None = None,
    ) -> RunRecord:
        """Start an admitted job (the caller holds one slot of the gate, released when it ends).

        `on_landing` hears the intended result, the object paths and their timestamp before the run
        lands anything (the job ledger of a claimed job keeps them; see RunContext.landing_hook);
        `landing_stamp` names the objects as a dead run of the job did (RunContext.landing_stamp)."""
        record = self._record(planned.job.entry.name, planned.job.option_texts())
        if on_landing is not None:
            self._landing_hooks[record.run_id] = on_landing
        if landing_stamp is not None:
            self._landing_stamps[record.run_id] = landing_stamp
        if planned.fan_out:
            record.child_scraper = ", ".join(fan_out.child for fan_out in planned.fan_out)
        task = asyncio.create_task(self._top_level(record, planned), name=f"run-{record.run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.board is not None:
            self.board.publish(record)  # queued: known to every replica from the start
        return record

    def get(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)

    async def view(self, run_id: str) -> dict[str, Any] | None:
        """A run's view: from memory when it runs here, else from the shared store (another
        replica's run); None when neither knows it. StateStoreError when the store cannot be read."""
        record = self._runs.get(run_id)
        if record is not None:
            return record.view()
        if self.board is None:
            return None
        return await self.board.lookup(run_id)

    @property
    def in_flight(self) -> int:
        return self.gate.in_use

    async def drain(self, timeout: float, *, now: asyncio.Event | None = None) -> int:
        """Stop admitting; wait up to `timeout` for every run (or until `now` is set), then cut the
        rest off. Returns that count."""
        self.accepting = False
        tasks = set(self._tasks)
        if not tasks:
            if self.board is not None:
                await self.board.flush()
            return 0
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(asyncio.wait(tasks))}
        if now is not None:
            waits.add(asyncio.ensure_future(now.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:  # the waits only: cancelling them leaves the runs alone
                wait.cancel()
        pending = {task for task in tasks if not task.done()}
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.board is not None:
            await self.board.flush()  # the final views, before the store closes
        return len(pending)

    # ------------------------------------------------------------------ running

    def _record(
        self,
        scraper: str,
        options: dict[str, Any],
        *,
        parent: RunRecord | None = None,
        label: str | None = None,
    ) -> RunRecord:
        record = RunRecord(
            run_id=uuid.uuid4().hex[:RUN_ID_HEX],
            scraper=scraper,
            options=options,
            submitted_at=time.time(),
            label=label,
            parent_id=parent.run_id if parent else None,
        )
        self._runs[record.run_id] = record
        self._forget_old()
        return record

    def _forget_old(self) -> None:
        excess = len(self._runs) - self.settings.retained_runs
        if excess > 0:
            finished = [run_id for run_id, record in self._runs.items() if record.state is RunState.DONE]
            for run_id in finished[:excess]:
                del self._runs[run_id]

    async def _top_level(self, record: RunRecord, planned: PlannedJob) -> None:
        try:
            await self._run(record, planned.job, planned.request)
            if planned.fan_out and record.result is not None and record.result.ok:
                children: list[tuple[str, Child]] = []
                for fan_out in planned.fan_out:
                    extra = child_options_for(
                        self.core.context.registry, fan_out, planned.request.child_options
                    )
                    planned_children, skipped = expand(fan_out, planned.job, record.result.fan_out, extra)
                    children.extend((fan_out.child, child) for child in planned_children)
                    record.skipped.extend(skipped)
                await self._fan_out(record, planned, children)
        except Exception as exc:  # a bug outside the run itself: reported on the run, never lost in a task
            log.exception("run manager error", extra={"scraper": record.scraper})
            if record.error is None and record.result is None:
                record.error = RunError("internal", self.core.redactor(f"{type(exc).__name__}: {exc}"), 500)
        finally:
            self._landing_hooks.pop(record.run_id, None)
            self._landing_stamps.pop(record.run_id, None)
            self._finish(record)
            self.gate.release()

    async def _fan_out(
        self, parent: RunRecord, planned: PlannedJob, children: list[tuple[str, Child]]
    ) -> None:
        bound = asyncio.Semaphore(self.settings.fan_out_concurrency)
        jobs: list[tuple[RunRecord, Job | None]] = []
        for scraper, child in children:
            try:
                job = prepare(self.core.context.registry, scraper, child.options, self.core.context.clock)
            except (InvalidOptions, OptionError, UnknownScraperError) as exc:
                # The parent's ids do not make a valid child (an upstream oddity): reported, not run.
                texts = {name: str(value) for name, value in child.options.items()}
                record = self._record(scraper, texts, parent=parent, label=child.label)
                record.error = RunError("invalid_options", self.core.redactor(str(exc)), 400)
                jobs.append((record, None))
            else:
                jobs.append(
                    (self._record(job.entry.name, job.option_texts(), parent=parent, label=child.label), job)
                )
        parent.children = [record for record, _ in jobs]
        self._changed(parent)

        async def one(record: RunRecord, job: Job | None) -> None:
            try:
                if job is not None:
                    await self._run(record, job, planned.request, bound)
            finally:
                self._finish(record)

        await asyncio.gather(*(one(record, job) for record, job in jobs))

    async def _run(
        self, record: RunRecord, job: Job, request: JobRequest, bound: asyncio.Semaphore | None = None
    ) -> None:
        """Wait for a slot (the fan-out's bound, then the scraper's), run, and leave a result or an error."""
        token = RUN_ID.set(record.run_id)
        limit = self.settings.job_deadline_seconds
        seconds = min(request.deadline_seconds or limit, limit)
        values: dict[str, Any] = {
            f.name: getattr(self.core.context, f.name) for f in dataclasses.fields(RunContext)
        }
        values.update(
            landing_hook=self._landing_hooks.get(record.run_id),
            landing_stamp=self._landing_stamps.get(record.run_id),
            new_run_id=lambda: record.run_id,
            trigger_source=request.trigger or self.trigger_source,
            workflow=request.workflow,
        )
        ctx = _DeadlineContext(**values, deadline_seconds=seconds)
        try:
            async with bound or _UNBOUNDED, self.slots(job.entry.name):
                record.state, record.started_at = RunState.RUNNING, time.time()
                self._changed(record)
                outcomes.info("run started", extra={"scraper": record.scraper, "options": record.options})
                await self._attempt(record, job, ctx, seconds)
            self._changed(record)
        except asyncio.CancelledError:
            # Shutdown: the run still ends with a completion, so nothing admitted is lost silently.
            if record.result is None and record.error is None:
                where = "while running" if record.state is RunState.RUNNING else "before it started"
                reason = f"interrupted by {self.stopped_by} {where}"
                record.result = await self._cut_off(record, job, ctx, reason)
                await self._after_run(record.result, job)
            raise
        finally:
            RUN_ID.reset(token)

    async def _attempt(self, record: RunRecord, job: Job, ctx: RunContext, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds + self.settings.deadline_grace_seconds):
                result = await run_job(job, ctx)
        except TimeoutError:
            record.result = await self._cut_off(
                record, job, ctx, f"the run exceeded its deadline of {seconds:g}s"
            )
        except ReplayMissError as exc:
            record.error = RunError("replay_miss", self.core.redactor(str(exc)), exc.http_status)
        except StateStoreError as exc:
            record.error = RunError("unavailable", self.core.redactor(f"state store: {exc}"), 503)
        except BadConfiguration as exc:
            # The deployment lacks a setting (a proxy file, the state store, an API key): nothing
            # was sent and no completion goes downstream; the caller sees what to configure.
            record.error = RunError("configuration", self.core.redactor(str(exc)), exc.http_status)
        except Exception as exc:  # a bug: reported on the run and logged with its traceback
            log.exception("run failed with an internal error", extra={"scraper": record.scraper})
            record.error = RunError("internal", self.core.redactor(f"{type(exc).__name__}: {exc}"), 500)
        else:
            record.result = result
        if record.error is not None:
            await self._record_error(record, job)
            # The run's view carries the error; a bad input is the caller's (WARNING), the rest ours.
            outcomes.log(
                _ERROR_LEVELS.get(record.error.type, logging.ERROR),
                "run could not be completed: %s",
                record.error.message,
                extra={
                    "scraper": record.scraper,
                    "error_type": record.error.type,
                    "error_message": record.error.message,
                },
            )
            return
        assert record.result is not None
        await self._after_run(record.result, job)
        _log_outcome(record.result)

    async def _after_run(self, result: RunResult, job: Job) -> None:
        self.scrapers_ran.add(result.scraper)
        await self.core.after_run(
            result,
            _warn,
            push_metrics=self.push_metrics,
            job=JobId.of(job),
            push_budget=push_budget(self.stop_requested_at),
        )

    async def _record_error(self, record: RunRecord, job: Job) -> None:
        """A run that could not be carried out is the job's latest status too (a replay miss, a
        missing key): `backfill status` counts it failed, and a retry may follow."""
        ledger, error = self.core.ledger, record.error
        if ledger is None or error is None:
            return
        try:
            await ledger.record_error(JobId.of(job), record.run_id, error.type, error.http_status)
        except StateStoreError as exc:
            _warn(self.core.redactor(f"job ledger not written to the state store: {exc}"))

    async def _cut_off(self, record: RunRecord, job: Job, ctx: RunContext, reason: str) -> RunResult:
        """A run stopped from outside still reports: a failed result and its completion."""
        scraper = job.entry.create()
        date_option = scraper.date_option
        started = record.started_at or time.time()
        game_date = record.options.get(date_option) if date_option else None
        result = RunResult(
            run_id=record.run_id,
            scraper=job.entry.name,
            source=job.entry.source,
            status=RunStatus.FAILED,
            record_count=0,
            options=record.options,
            game_date=str(game_date) if game_date else eastern_today(ctx.clock).isoformat(),
            started_at=datetime.fromtimestamp(started, UTC).isoformat(),
            duration_seconds=time.time() - started,
            attempts=AttemptLog().summary(),
            failure_class=Outcome.TRANSIENT,
            error_type=Outcome.TRANSIENT.value,
            error_message=reason,
        )
        try:
            # The run may have got as far as landing or publishing: the delivery finishes what it
            # started instead of sending a second completion, and says which one went out.
            delivered = await ctx.events.interrupted(completion_message(result, job, ctx), result.source)
            result = _as_delivered(result, delivered.message)
            warning = delivered.warning
        except OSError as exc:
            warning = f"the completion of an interrupted run was not written: {exc}"
        try:
            if ctx.metrics:
                await record_run(ctx.metrics, ctx.fetcher.store, result, job.key, AttemptLog(), 0)
        except StateStoreError as exc:
            warning = "; ".join(
                filter(None, (warning, f"run bookkeeping not written to the state store: {exc}"))
            )
        log.warning("run cut off", extra={"scraper": record.scraper, "reason": reason})
        if warning:
            result = dataclasses.replace(result, warnings=(warning,))
        return result

    def _finish(self, record: RunRecord) -> None:
        record.state, record.finished_at = RunState.DONE, time.time()
        record.finished.set()
        self._changed(record)

    def _changed(self, record: RunRecord) -> None:
        if self._on_change is not None:
            self._on_change(record)
        if self.board is not None:
            # A child's change is its parent's too (the parent's view counts its children).
            current: RunRecord | None = record
            while current is not None:
                self.board.publish(current)
                current = self._runs.get(current.parent_id) if current.parent_id else None


@dataclass
class _DeadlineContext(RunContext):
    """The run's context with the job deadline applied to the fetch budget of every source."""

    deadline_seconds: float | None = None

    def policy(self, source: str) -> SourcePolicy:
        policy = super().policy(source)
        if self.deadline_seconds is None or self.deadline_seconds >= policy.deadline_seconds:
            return policy
        return dataclasses.replace(policy, deadline_seconds=self.deadline_seconds)


def _as_delivered(result: RunResult, message: Mapping[str, Any]) -> RunResult:
    """The cut-off result, corrected to the completion that went out: a run stopped after its
    document landed reports that document, so its summary and its completion agree."""
    if message.get("status") == result.status.value:
        return result
    metadata = message.get("metadata", {})
    return dataclasses.replace(
        result,
        status=RunStatus(message["status"]),
        record_count=int(message.get("record_count", 0)),
        landed=tuple(metadata.get("landed_paths", ())),
        failure_class=None,
        error_type=None,
        error_message=None,
    )


def _warn(text: str) -> None:
    log.warning(text)


def _log_outcome(result: RunResult) -> None:
    """One line per finished run, at the severity of its outcome, saying why it ended as it did."""
    status = result.status.value
    if not result.ok:
        summary = f"{status} ({result.error_type}): {result.error_message or '-'}"
    elif result.status is RunStatus.NO_DATA:
        summary = f"{status}: {result.no_data_reason or '-'}"
    else:
        summary = f"{status}, {result.record_count} records"
    fields = {
        "scraper": result.scraper,
        "status": status,
        "record_count": result.record_count,
        "failure_class": result.error_type,
        "error_message": result.error_message,
        "no_data_reason": result.no_data_reason,
        "duration_seconds": round(result.duration_seconds, 3),
    }
    outcomes.log(
        run_level(result.status, result.failure_class),
        "run finished: %s",
        summary,
        extra={name: value for name, value in fields.items() if value is not None},
    )


# Cloud Run sends SIGKILL this long after SIGTERM: a stop (the service's shutdown, a command's
# interrupt) plans to be done by then, keeping CLOSE_SECONDS for closing its clients and stores and
# the interpreter's exit (measured: 0.35 s for the service on gs://).
STOP_SECONDS = 10.0
CLOSE_SECONDS = 1.0
# A metrics push after a stop's drain gets at least this long, even when the drain used up the
# rest: the metrics come before anything else that is left.
MIN_PUSH_SECONDS = 1.0


def push_budget(stop_requested_at: float | None) -> float | None:
    """How long a metrics push may take: None (its own timeouts) unless a stop was asked at
    `stop_requested_at` (time.monotonic()); then what is left of Cloud Run's 10 s before closing
    (a longer grace, as on Kubernetes, has a later kill, and MIN_PUSH_SECONDS then)."""
    if stop_requested_at is None:
        return None
    since = time.monotonic() - stop_requested_at
    return max(MIN_PUSH_SECONDS, STOP_SECONDS - CLOSE_SECONDS - since)


@dataclass
class Interrupt:
    """A stop asked from outside the runs (the CLI's SIGTERM or SIGINT), as the service's shutdown
    drains: the first stops admitting and gives runs in flight `grace_seconds`, a second cuts them
    off at once. Either way each run still ends with exactly one completion."""

    grace_seconds: float
    requested: asyncio.Event = field(default_factory=asyncio.Event)
    now: asyncio.Event = field(default_factory=asyncio.Event)
    cause: str = "shutdown"
    # When the first request came (time.monotonic()): what follows the drain counts from it.
    requested_at: float | None = None

    def request(self, cause: str) -> None:
        if self.requested.is_set():
            self.now.set()
            return
        self.cause = cause
        self.requested_at = time.monotonic()
        self.requested.set()


async def run_all(
    core: Core,
    planned: Sequence[PlannedJob],
    settings: ServiceSettings,
    *,
    on_change: Listener | None = None,
    push_metrics: bool = False,
    interrupt: Interrupt | None = None,
) -> list[RunRecord]:
    """Every planned job through one run manager, to the end (or to an `interrupt` and its drain):
    the one run path of the CLI.

    `scrapers run`, `record`, `demo` and `run-many` all come here, and the service submits to the
    same RunManager, so deadlines, cut-off completions, error mapping, metrics and run summaries
    are the same in every mode.
    """
    manager = RunManager(
        core,
        settings,
        trigger_source=core.context.trigger_source,
        on_change=on_change,
        push_metrics=push_metrics,
    )
    try:
        if not manager.try_admit(len(planned)):
            raise AssertionError("every planned job fits: the cap is their count")
        records = [manager.submit(job) for job in planned]
        finished = asyncio.gather(*(record.finished.wait() for record in records))
        if interrupt is not None:
            stop = asyncio.ensure_future(interrupt.requested.wait())
            either: set[asyncio.Future[Any]] = {finished, stop}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not finished.done():
                manager.stopped_by = interrupt.cause
                manager.stop_requested_at = interrupt.requested_at
                cut = await manager.drain(interrupt.grace_seconds, now=interrupt.now)
                log.warning("%s: %d run(s) cut off", interrupt.cause, cut)
        await finished
        return records
    finally:
        await manager.drain(0.0)
