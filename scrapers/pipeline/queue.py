"""The work queue: job messages on a Pub/Sub jobs topic, drained by `scrapers worker`.

A message is one job, JSON:

    {"scraper": "nbac_scoreboard_v2", "options": {"game_date": "2024-01-15"},
     "key": "nbac_scoreboard_v2:{\"game_date\":\"2024-01-15\"}", "fan_out": true,
     "child_options": {}, "trigger": "backfill", "force": null}

`options` are resolved texts (dates absolute), so a message means the same job whenever it runs;
`key` is the job key (`Job.key`) for people and filters, recomputed by the worker; `fan_out` is
false, true (the parent's default children) or a list of child names; `force` is the token of a
`--force` pass (the job runs although the ledger says it is done, once per token); optional
`deadline_seconds` and `workflow` as in a POST /scrape body. A POST /scrape body
(`{"scraper": ..., "game_date": ..., "fan_out": true}`, options at the top level) is read as the
same job, so a scheduler's messages and the queue's are one format to a worker. Attributes:
`scraper` and `job` (a digest of the key), for subscription filters.

What a worker (and the service's push route) does with one (Worker.handle), and what Pub/Sub does:

| the message                                              | answer (push) | Pub/Sub               |
|----------------------------------------------------------|---------------|-----------------------|
| the ledger says done (success, no_data, partial)         | ack (200)     | gone: nothing fetched |
| ran: success / no_data / partial, or failed not_found,   | ack (200)     | gone (children        |
|   auth, structural, infeasible                           |               | published first)      |
| ran: failed blocked, proxy, rate_limited, landing,       | nack (the     | redelivered with the  |
|   transient; could not run (state store, a bug)          | run's 5xx)    | subscription's backoff|
| ... the COURTSIDE_JOBS_MAX_ATTEMPTS-th such failure in a | ack (200)     | gone: published to    |
|   row (the ledger counts them)                           |               | the dead-letter topic |
| another worker holds the job's claim                     | nack (409)    | redelivered: by then  |
|                                                          |               | done                  |
| the worker or service is full / draining                 | nack (429/503)| redelivered           |
| not JSON, not a job, invalid options, unknown scraper    | ack (204)     | logged: never runs    |

Dead-lettering is the worker's own, counted in the ledger, not left to the subscription's
dead_letter_policy: Pub/Sub counts every delivery (a nack for a job another worker holds, a lease
lost with a killed worker) and would move aside a job that never failed, without the ledger
knowing. A subscription policy with a higher maximum still catches a message that crashes the
worker before any verdict. A fan-out child is its own message, so a 30-game fan-out spreads over
every worker, and each child is exactly once per key like any job.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from proxy.state import StateStoreError
from scrapers.core.clock import Clock
from scrapers.core.errors import BadConfiguration, InvalidOptions, OptionError, UnknownScraperError
from scrapers.core.registry import Registry
from scrapers.events.publishers import PublishError, PubSubPublisher
from scrapers.pipeline.fanout import select_fan_outs
from scrapers.pipeline.jobs import JobRequest, MalformedJob, PlannedJob, read_job
from scrapers.pipeline.ledger import JobId
from scrapers.pipeline.once import Done, NotAdmitted, OnceResult, OnceRunner
from scrapers.pipeline.runner import Job, prepare

log = logging.getLogger("scrapers.worker")
WORKER_TRIGGER = "worker"
ACK, ACK_NOTHING_TO_RUN = 200, 204
BUSY_STATUS, FULL_STATUS, UNAVAILABLE_STATUS = 409, 429, 503
# What became of a message (the `result` label of scraper_queue_jobs_total).
# `unavailable`: nothing ran because something it needs failed (the ledger, the dead-letter topic,
# a bug): nacked and redelivered, and not counted as a run.
JOB_RESULTS = (
    "ran",
    "done_already",
    "settled",
    "busy",
    "dead_lettered",
    "refused",
    "not_admitted",
    "unavailable",
)


@dataclass(frozen=True)
class JobMessage:
    scraper: str
    options: Mapping[str, Any]
    key: str | None = None
    fan_out: bool | tuple[str, ...] = False
    child_options: Mapping[str, Any] = field(default_factory=dict)
    trigger: str | None = None
    force: str | None = None
    deadline_seconds: float | None = None
    workflow: str | None = None

    @classmethod
    def of(
        cls,
        job: Job,
        *,
        fan_out: bool | Sequence[str] = False,
        child_options: Mapping[str, Any] | None = None,
        trigger: str | None = None,
        force: str | None = None,
    ) -> JobMessage:
        selection = fan_out if isinstance(fan_out, bool) else tuple(fan_out)
        return cls(
            job.entry.name, job.option_texts(), job.key, selection, dict(child_options or {}), trigger, force
        )

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"scraper": self.scraper, "options": dict(self.options), "key": self.key}
        if self.fan_out:
            body["fan_out"] = self.fan_out if isinstance(self.fan_out, bool) else list(self.fan_out)
        if self.child_options:
            body["child_options"] = dict(self.child_options)
        optional = {
            "trigger": self.trigger,
            "force": self.force,
            "deadline_seconds": self.deadline_seconds,
            "workflow": self.workflow,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return body

    def attributes(self) -> dict[str, str]:
        digest = hashlib.sha256((self.key or "").encode()).hexdigest()[:16]
        return {"scraper": self.scraper, "job": digest}

    @classmethod
    def from_bytes(cls, data: bytes) -> JobMessage:
        """The message in `data` (either form, see the module doc), or MalformedJob saying what is
        wrong."""
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedJob('a job message is JSON: {"scraper": NAME, "options": {...}}') from None
        if not isinstance(body, Mapping):
            raise MalformedJob("a job message is a JSON object")
        if not isinstance(body.get("options"), Mapping):
            return cls._from_request(body)
        scraper, options = body.get("scraper"), body["options"]
        if not isinstance(scraper, str) or not scraper:
            raise MalformedJob("a job message names its 'scraper'")
        # The service keys are checked as a POST /scrape body's are, by the same reader.
        request = read_job({key: value for key, value in body.items() if key != "options"}, [])
        key, force = body.get("key"), body.get("force")
        if force is not None and not (isinstance(force, str) and force):
            raise MalformedJob("'force' is the token of a --force pass (text)")
        return cls(
            scraper,
            dict(options),
            key if isinstance(key, str) else None,
            request.fan_out,
            dict(request.child_options),
            request.trigger or _text(body.get("trigger")),
            force,
            request.deadline_seconds,
            request.workflow,
        )

    @classmethod
    def _from_request(cls, body: Mapping[str, Any]) -> JobMessage:
        """A POST /scrape body: options at the top level, `source` as the trigger."""
        request = read_job(body, [])
        return cls(
            request.scraper,
            dict(request.options),
            None,
            request.fan_out,
            dict(request.child_options),
            request.trigger,
            None,
            request.deadline_seconds,
            request.workflow,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class JobsTopic(Protocol):
    description: str

    async def publish(self, message: JobMessage, attributes: Mapping[str, str] | None = None) -> None:
        """Deliver (with `attributes` beside the message's own) or raise PublishError."""
        ...


class PubSubJobsTopic:
    """A topic of job messages on Pub/Sub (the jobs topic, its dead-letter topic), through the
    completions' publisher (its bounded retries)."""

    def __init__(self, project: str, topic: str, timeout: float, *, what: str = "jobs topic") -> None:
        self._publisher = PubSubPublisher(project, topic, timeout)
        self.description = self._publisher.description.replace("Pub/Sub topic", what)

    async def publish(self, message: JobMessage, attributes: Mapping[str, str] | None = None) -> None:
        await self._publisher.send(message.to_dict(), {**message.attributes(), **(attributes or {})})

    def close(self) -> None:
        self._publisher.close()


class LazyJobsTopic:
    """A PubSubJobsTopic opened at its first publish: a service whose push route never fans out nor
    dead-letters needs no Pub/Sub client (nor credentials) to start."""

    def __init__(self, project: str, topic: str, timeout: float, *, what: str = "jobs topic") -> None:
        self._args = (project, topic, timeout, what)
        self._topic: PubSubJobsTopic | None = None
        self.description = f"{what} projects/{project}/topics/{topic}"

    async def publish(self, message: JobMessage, attributes: Mapping[str, str] | None = None) -> None:
        if self._topic is None:
            from google.api_core.exceptions import GoogleAPIError
            from google.auth.exceptions import GoogleAuthError

            project, topic, timeout, what = self._args
            try:
                self._topic = PubSubJobsTopic(project, topic, timeout, what=what)
            except (GoogleAuthError, GoogleAPIError) as exc:
                raise PublishError(
                    f"{self.description} cannot be opened: {type(exc).__name__}: {exc}"
                ) from None
        await self._topic.publish(message, attributes)

    def close(self) -> None:
        if self._topic is not None:
            self._topic.close()


@dataclass(frozen=True)
class DeadLetter:
    """Where a job goes after `max_attempts` retryable failures in a row (the ledger's count)."""

    topic: JobsTopic
    max_attempts: int


class QueueMetrics:
    """What became of the job messages a worker or the push route handled (Prometheus)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.jobs = Counter(
            "scraper_queue_jobs",
            "Job messages handled, by what became of them: ran, done_already and settled (nothing "
            "sent: the ledger has the job done or this message dead-lettered before, or a dead run's "
            "landing was complete), busy (another delivery holds it), dead_lettered (moved to the "
            "dead-letter topic now), refused (never a valid job), not_admitted (full or draining)",
            ["result"],
            registry=registry,
        )
        self.answers = Counter(
            "scraper_queue_answers",
            "Job messages acknowledged (ack) or left for a redelivery (nack)",
            ["answer"],
            registry=registry,
        )
        self.in_hand = Gauge(
            "scraper_queue_jobs_in_hand", "Job messages being handled now", registry=registry
        )
        for result in JOB_RESULTS:
            self.jobs.labels(result)
        for answer in ("ack", "nack"):
            self.answers.labels(answer)


@dataclass(frozen=True)
class Handled:
    """What became of one message: ack or nack, a line saying why, and the push route's answer."""

    ack: bool
    line: str
    http_status: int = ACK
    result: OnceResult | None = None
    outcome: str = "ran"  # one of JOB_RESULTS


_OUTCOMES = {
    Done.RAN: "ran",
    Done.DONE: "done_already",
    Done.RECOVERED: "settled",
    Done.BUSY: "busy",
    Done.DEAD_LETTERED: "done_already",  # moved aside before: nothing to do with it again
}


class Worker:
    """Runs one message through OnceRunner; the caller acks or nacks as `Handled` says."""

    def __init__(
        self,
        once: OnceRunner,
        registry: Registry,
        clock: Clock,
        topic: JobsTopic,
        *,
        dead_letter: DeadLetter | None = None,
        metrics: QueueMetrics | None = None,
        default_trigger: str = WORKER_TRIGGER,
    ) -> None:
        self.once = once
        self.default_trigger = default_trigger  # the completions' trigger_source, unless a job names one
        self.registry = registry
        self.clock = clock
        self.topic = topic
        self.dead_letter = dead_letter
        self.metrics = metrics
        self.in_hand = 0  # messages being handled now

    async def handle(self, data: bytes, message_id: str | None = None) -> Handled:
        """One message (`message_id`: Pub/Sub's, the same on every delivery of it)."""
        self.in_hand += 1
        if self.metrics is not None:
            self.metrics.in_hand.inc()
        try:
            handled = await self._handle(data, message_id)
        finally:
            self.in_hand -= 1
            if self.metrics is not None:
                self.metrics.in_hand.dec()
        if self.metrics is not None:
            self.metrics.jobs.labels(handled.outcome).inc()
            self.metrics.answers.labels("ack" if handled.ack else "nack").inc()
        return handled

    async def _handle(self, data: bytes, message_id: str | None) -> Handled:
        refused: str | None = None
        try:
            message = JobMessage.from_bytes(data)
            job = prepare(self.registry, message.scraper, message.options, self.clock)
            fan_out = select_fan_outs(self.registry.get(message.scraper), message.fan_out)
        except (MalformedJob, InvalidOptions, OptionError, UnknownScraperError) as exc:
            refused = str(exc)
        if refused is not None:
            # A redelivery cannot make it valid: acknowledged, and said loudly.
            log.error(
                "job message refused: %s", refused, extra={"body": data[:500].decode("utf-8", "replace")}
            )
            return Handled(True, f"refused: {refused}: ack", ACK_NOTHING_TO_RUN, outcome="refused")
        trigger = message.trigger or self.default_trigger
        request = JobRequest(
            job.entry.name,
            job.option_texts(),
            trigger=trigger,
            deadline_seconds=message.deadline_seconds,
            workflow=message.workflow,
        )
        what = f"{job.entry.name} " + " ".join(f"{key}={value}" for key, value in job.option_texts().items())
        try:
            result = await self.once.run(
                PlannedJob(request, job, ()),
                fan_out,
                message.child_options,
                force=message.force,
                message_id=message_id,
            )
        except NotAdmitted as exc:
            status = UNAVAILABLE_STATUS if exc.draining else FULL_STATUS
            return Handled(False, f"{what}: not run ({exc}): nack", status, outcome="not_admitted")
        except StateStoreError as exc:
            log.warning("job not run, the ledger cannot be reached: %s", exc, extra={"job": job.key})
            return Handled(
                False,
                f"{what}: not run (state store: {exc}): nack",
                UNAVAILABLE_STATUS,
                outcome="unavailable",
            )
        self._log(result)
        outcome = _OUTCOMES[result.done]
        if result.children:
            try:
                await self._publish_children(result, trigger, message.force, message.workflow)
            except PublishError as exc:
                # The parent is recorded done: its redelivery plans the children again from the
                # ledger (nothing is fetched twice), and publishes them then.
                log.warning("fan-out children not published, the parent is redelivered: %s", exc)
                return Handled(
                    False,
                    f"{what}: {result.status}, children not published: nack",
                    UNAVAILABLE_STATUS,
                    result,
                    outcome,
                )
        if self._exhausted(result):
            return await self._dead_letter(message, result, message_id, what)
        ack = not result.retryable
        done = (
            "" if result.done is Done.RAN or result.status == result.done.value else f" ({result.done.value})"
        )
        children = f", {len(result.children)} children published" if result.children else ""
        status = ACK if ack else result.http_status
        return Handled(
            ack,
            f"{what}: {result.status}{done}{children}: {'ack' if ack else 'nack'}",
            status,
            result,
            outcome,
        )

    def _exhausted(self, result: OnceResult) -> bool:
        """A failed run that says retry, and the ledger counts the maximum of those in a row."""
        return (
            self.dead_letter is not None
            and result.done is Done.RAN
            and result.retryable
            and result.entry is not None
            and result.entry.failed_in_a_row >= self.dead_letter.max_attempts
        )

    async def _dead_letter(
        self, message: JobMessage, result: OnceResult, message_id: str | None, what: str
    ) -> Handled:
        assert self.dead_letter is not None
        assert result.entry is not None
        entry = result.entry
        attributes = {
            "failure_class": entry.failure_class or "failed",
            "attempts": str(entry.failed_in_a_row),
            "message_id": message_id or "",
        }
        try:
            # The message as it came (its force token too): republished to the jobs topic once
            # the cause is fixed, it runs as it would have.
            await self.dead_letter.topic.publish(message, attributes)
        except PublishError as exc:
            log.warning(
                "job not moved to the dead-letter topic, redelivered: %s", exc, extra={"job": entry.key}
            )
            return Handled(
                False,
                f"{what}: {result.status}, dead-letter publish failed: nack",
                UNAVAILABLE_STATUS,
                result,
                "unavailable",
            )
        ident = JobId.of(result.job)
        try:
            marked = await self.once.ledger.dead_letter(
                ident,
                message_id=message_id,
                topic=self.dead_letter.topic.description,
                failure_class=entry.failure_class,
            )
            try:
                await self.once.ledger.mirror(marked)  # the bucket shows it too
            except OSError as exc:
                log.warning(
                    "dead-lettered job not mirrored beside the data: %s", exc, extra={"job": entry.key}
                )
        except StateStoreError as exc:
            # On the dead-letter topic already: acked all the same, or it would go there twice.
            log.warning("dead-lettered job not marked in the ledger: %s", exc, extra={"job": entry.key})
        log.error(
            "job moved to the dead-letter topic after %d failures in a row",
            entry.failed_in_a_row,
            extra={
                "job": entry.key,
                "failure_class": entry.failure_class,
                "topic": self.dead_letter.topic.description,
            },
        )
        return Handled(
            True,
            f"{what}: {result.status}, {entry.failed_in_a_row} failures in a row: dead-lettered: ack",
            ACK,
            result,
            "dead_lettered",
        )

    async def _publish_children(
        self, result: OnceResult, trigger: str, force: str | None, workflow: str | None = None
    ) -> None:
        for child in result.children:
            refused: str | None = None
            try:
                job = prepare(self.registry, child.scraper, child.options, self.clock)
            except (InvalidOptions, OptionError, UnknownScraperError) as exc:
                refused = str(exc)
            if refused is not None:
                fields = {"scraper": child.scraper, "label": child.label, "parent": result.job.key}
                log.error("fan-out child refused: %s", refused, extra=fields)
                continue
            # The parent's workflow too (a tick's window): the child's completion names it.
            message = JobMessage.of(job, trigger=trigger, force=force)
            await self.topic.publish(replace(message, workflow=workflow))

    @staticmethod
    def _log(result: OnceResult) -> None:
        fields = {"scraper": result.job.entry.name, "job": result.job.key, "status": result.status}
        if result.done is Done.BUSY:
            log.info("job held by another worker: redelivered later", extra=fields)
        elif result.done is Done.DEAD_LETTERED:
            log.info("message dead-lettered already: acknowledged", extra=fields)
        elif result.done is not Done.RAN:
            log.info("job done already: nothing sent", extra={**fields, "done": result.done.value})


class NoSubscription(BadConfiguration):
    """The worker's subscription does not exist (exit 2): the deployment misses a resource."""


class PullLoop:
    """Drain a pull subscription with unary Pull: never more messages in hand than free run slots.

    Why not the client library's streaming pull: its FlowControl bounds the callbacks running, not
    the messages a subscriber holds. Measured against the emulator with `max_messages=2`, the first
    worker to connect took all 16 messages of a backfill and held 14 on lease while the other two
    workers idled; and a worker killed with messages on hold stranded them (the emulator never
    redelivered them: its stream reset handler fails). A unary Pull of exactly the free slots gives
    every worker a fair share, and a killed worker's messages come back when their lease (renewed
    here every LEASE_SECONDS / 3 while a run is in flight) runs out.
    """

    # Pub/Sub's shortest ack deadline: a killed worker's messages come back this soon; a live one
    # renews every third of it while its runs are in flight.
    LEASE_SECONDS = 10
    PULL_WAIT_SECONDS = 1.0  # an idle worker asks again this often
    PULL_TIMEOUT_SECONDS = 60.0  # a Pull answers at once; this only bounds a broken connection

    def __init__(self, worker: Worker, subscriber: Any, subscription: str, concurrency: int) -> None:
        self.worker = worker
        self.subscriber = subscriber
        self.subscription = subscription
        self.concurrency = concurrency
        self.in_hand: dict[asyncio.Task[None], str] = {}  # run -> its message's ack id
        self.on_handled: Callable[[Handled], None] = lambda handled: None

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: pull, run, answer. Then answer what is in hand (runs were drained by the
        caller meanwhile) and return."""
        lease = asyncio.create_task(self._keep_leases())
        try:
            while not stop.is_set():
                free = self.concurrency - len(self.in_hand)
                if free <= 0:
                    await self._until_a_slot_or(stop)
                    continue
                received = await self._pull(free)
                if stop.is_set():
                    await self._answer([m.ack_id for m in received], ack=False)  # another worker takes them
                    break
                for message in received:
                    task = asyncio.create_task(
                        self._handle(message.ack_id, bytes(message.message.data), message.message.message_id)
                    )
                    self.in_hand[task] = message.ack_id
            if self.in_hand:
                await asyncio.gather(*self.in_hand, return_exceptions=True)
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease

    async def _until_a_slot_or(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({*self.in_hand, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _pull(self, count: int) -> list[Any]:
        from google.api_core.exceptions import NotFound

        try:
            # Answered at once, empty or not, and never cancelled from our side: a Pull the client
            # gives up on can strand the messages the server had picked for it (the emulator never
            # redelivers them). An idle worker asks again after PULL_WAIT_SECONDS.
            response = await asyncio.to_thread(
                self.subscriber.pull,
                request={
                    "subscription": self.subscription,
                    "max_messages": count,
                    "return_immediately": True,
                },
                timeout=self.PULL_TIMEOUT_SECONDS,
            )
        except NotFound:
            raise NoSubscription(
                f"the subscription {self.subscription} does not exist: create it on the jobs topic "
                "(README, Backfills and the work queue), or set COURTSIDE_JOBS_SUBSCRIPTION"
            ) from None
        if not response.received_messages:
            await asyncio.sleep(self.PULL_WAIT_SECONDS)
        return list(response.received_messages)

    async def _handle(self, ack_id: str, data: bytes, message_id: str) -> None:
        try:
            handled = await self.worker.handle(data, message_id or None)
        except Exception:  # a bug or an unreachable ledger: redelivered, never lost
            log.exception("job message failed")
            handled = Handled(False, "failed: nack", outcome="unavailable")
        try:
            await self._answer([ack_id], ack=handled.ack)
        finally:
            self.in_hand.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
        self.on_handled(handled)

    async def _answer(self, ack_ids: list[str], *, ack: bool) -> None:
        if not ack_ids:
            return
        request: dict[str, Any] = {"subscription": self.subscription, "ack_ids": ack_ids}
        if ack:
            await asyncio.to_thread(self.subscriber.acknowledge, request=request)
        else:
            # A nack: the subscription's retry policy decides when it comes back.
            await asyncio.to_thread(
                self.subscriber.modify_ack_deadline, request={**request, "ack_deadline_seconds": 0}
            )

    async def _keep_leases(self) -> None:
        from google.api_core.exceptions import GoogleAPIError

        while True:
            await asyncio.sleep(self.LEASE_SECONDS / 3)
            ack_ids = list(self.in_hand.values())
            if not ack_ids:
                continue
            try:
                await asyncio.to_thread(
                    self.subscriber.modify_ack_deadline,
                    request={
                        "subscription": self.subscription,
                        "ack_ids": ack_ids,
                        "ack_deadline_seconds": self.LEASE_SECONDS,
                    },
                )
            except GoogleAPIError as exc:
                # A lost lease means a redelivery, which the ledger's claim keeps to one run.
                log.warning("leases not extended: %s", exc)
