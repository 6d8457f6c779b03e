"""The work queue: job messages on a Pub/Sub jobs topic, drained by `scrapers worker`.

A message is one job, JSON:

    {"scraper": "nbac_scoreboard_v2", "options": {"game_date": "2024-01-15"},
     "key": "nbac_scoreboard_v2:{\"game_date\":\"2024-01-15\"}", "fan_out": true,
     "child_options": {}, "trigger": "backfill"}

`options` are resolved texts (dates absolute), so a message means the same job whenever it runs;
`key` is the job key (`Job.key`) for people and filters, recomputed by the worker; `fan_out` is
false, true (the parent's default children) or a list of child names. Attributes: `scraper`
and `job` (a digest of the key), for subscription filters.

What a worker does with one (Worker.handle), and what Pub/Sub does then:

| the message                                              | answer | Pub/Sub                     |
|----------------------------------------------------------|--------|-----------------------------|
| the ledger says done (success, no_data, partial)         | ack    | gone: nothing is fetched    |
| ran: success / no_data / partial, or failed not_found,   | ack    | gone (children published    |
|   auth, structural, infeasible; invalid, unknown scraper |        | first for a parent)         |
| ran: failed blocked, proxy, rate_limited, landing,       | nack   | redelivered with the        |
|   transient; could not run (state store, a bug)          |        | subscription's backoff      |
| another worker holds the job's claim                     | nack   | redelivered: by then done   |
| not JSON, not a job                                      | ack    | logged: it can never run    |

After `max_delivery_attempts` the subscription's dead-letter policy moves a message aside (see
README, "Backfills and the work queue"). A fan-out child is its own message, so a 30-game fan-out
spreads over every worker, and each child is exactly once per key like any job.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scrapers.core.clock import Clock
from scrapers.core.errors import BadConfiguration, InvalidOptions, OptionError, UnknownScraperError
from scrapers.core.registry import Registry
from scrapers.events.publishers import PublishError, PubSubPublisher
from scrapers.pipeline.fanout import select_fan_outs
from scrapers.pipeline.jobs import JobRequest, MalformedJob, PlannedJob
from scrapers.pipeline.once import Done, OnceResult, OnceRunner
from scrapers.pipeline.runner import Job, prepare

log = logging.getLogger("scrapers.worker")
WORKER_TRIGGER = "worker"


@dataclass(frozen=True)
class JobMessage:
    scraper: str
    options: Mapping[str, Any]
    key: str | None = None
    fan_out: bool | tuple[str, ...] = False
    child_options: Mapping[str, Any] = field(default_factory=dict)
    trigger: str | None = None

    @classmethod
    def of(
        cls,
        job: Job,
        *,
        fan_out: bool | Sequence[str] = False,
        child_options: Mapping[str, Any] | None = None,
        trigger: str | None = None,
    ) -> JobMessage:
        selection = fan_out if isinstance(fan_out, bool) else tuple(fan_out)
        return cls(job.entry.name, job.option_texts(), job.key, selection, dict(child_options or {}), trigger)

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = {"scraper": self.scraper, "options": dict(self.options), "key": self.key}
        if self.fan_out:
            body["fan_out"] = self.fan_out if isinstance(self.fan_out, bool) else list(self.fan_out)
        if self.child_options:
            body["child_options"] = dict(self.child_options)
        if self.trigger:
            body["trigger"] = self.trigger
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def attributes(self) -> dict[str, str]:
        digest = hashlib.sha256((self.key or "").encode()).hexdigest()[:16]
        return {"scraper": self.scraper, "job": digest}

    @classmethod
    def from_bytes(cls, data: bytes) -> JobMessage:
        """The message in `data`, or MalformedJob saying what is wrong."""
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedJob('a job message is JSON: {"scraper": NAME, "options": {...}}') from None
        if not isinstance(body, Mapping):
            raise MalformedJob("a job message is a JSON object")
        scraper, options = body.get("scraper"), body.get("options", {})
        if not isinstance(scraper, str) or not scraper:
            raise MalformedJob("a job message names its 'scraper'")
        if not isinstance(options, Mapping):
            raise MalformedJob("'options' is an object of option values")
        fan_out = body.get("fan_out", False)
        if isinstance(fan_out, list) and all(isinstance(name, str) for name in fan_out):
            fan_out = tuple(fan_out)
        elif not isinstance(fan_out, bool):
            raise MalformedJob("'fan_out' is true, false or a list of child scraper names")
        child_options = body.get("child_options") or {}
        if not isinstance(child_options, Mapping):
            raise MalformedJob("'child_options' is an object of options for every child")
        key, trigger = body.get("key"), body.get("trigger")
        return cls(
            scraper,
            dict(options),
            key if isinstance(key, str) else None,
            fan_out,
            dict(child_options),
            trigger if isinstance(trigger, str) else None,
        )


class JobsTopic(Protocol):
    description: str

    async def publish(self, message: JobMessage) -> None:
        """Deliver or raise PublishError."""
        ...


class PubSubJobsTopic:
    """The jobs topic on Pub/Sub, through the completions' publisher (its bounded retries)."""

    def __init__(self, project: str, topic: str, timeout: float) -> None:
        self._publisher = PubSubPublisher(project, topic, timeout)
        self.description = self._publisher.description.replace("Pub/Sub topic", "jobs topic")

    async def publish(self, message: JobMessage) -> None:
        await self._publisher.send(json.loads(message.to_bytes()), message.attributes())

    def close(self) -> None:
        self._publisher.close()


@dataclass(frozen=True)
class Handled:
    """What became of one message: ack or nack, and a line saying why."""

    ack: bool
    line: str


class Worker:
    """Runs one message through OnceRunner; the caller acks or nacks as `Handled` says."""

    def __init__(self, once: OnceRunner, registry: Registry, clock: Clock, topic: JobsTopic) -> None:
        self.once = once
        self.registry = registry
        self.clock = clock
        self.topic = topic

    async def handle(self, data: bytes) -> Handled:
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
            return Handled(True, f"refused: {refused}: ack")
        trigger = message.trigger or WORKER_TRIGGER
        planned = PlannedJob(JobRequest(job.entry.name, job.option_texts(), trigger=trigger), job, ())
        result = await self.once.run(planned, fan_out, message.child_options)
        self._log(result)
        what = " ".join(f"{key}={value}" for key, value in job.option_texts().items())
        if result.children:
            try:
                await self._publish_children(result, trigger)
            except PublishError as exc:
                # The parent is recorded done: its redelivery plans the children again from the
                # ledger (nothing is fetched twice), and publishes them then.
                log.warning("fan-out children not published, the parent is redelivered: %s", exc)
                return Handled(
                    False, f"{job.entry.name} {what}: {result.status}, children not published: nack"
                )
        ack = not result.retryable
        done = "" if result.done is Done.RAN else f" ({result.done.value})"
        children = f", {len(result.children)} children published" if result.children else ""
        return Handled(
            ack, f"{job.entry.name} {what}: {result.status}{done}{children}: {'ack' if ack else 'nack'}"
        )

    async def _publish_children(self, result: OnceResult, trigger: str) -> None:
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
            await self.topic.publish(JobMessage.of(job, trigger=trigger))

    @staticmethod
    def _log(result: OnceResult) -> None:
        fields = {"scraper": result.job.entry.name, "job": result.job.key, "status": result.status}
        if result.done is Done.BUSY:
            log.info("job held by another worker: redelivered later", extra=fields)
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

    LEASE_SECONDS = 20
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
                    task = asyncio.create_task(self._handle(message.ack_id, bytes(message.message.data)))
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

    async def _handle(self, ack_id: str, data: bytes) -> None:
        try:
            handled = await self.worker.handle(data)
        except Exception:  # a bug or an unreachable ledger: redelivered, never lost
            log.exception("job message failed")
            handled = Handled(False, "failed: nack")
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
