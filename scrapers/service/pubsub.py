"""Pub/Sub push: the envelope a push subscription POSTs to /pubsub/push, and the answer that acks it.

The envelope is `{"message": {"data": BASE64, "attributes": {...}, "messageId": "..."},
"subscription": "projects/P/subscriptions/S"}`; `data` decodes to a job message: the jobs topic's
(`{"scraper", "options": {...}, "fan_out", "force", ...}`, as `enqueue` and `backfill --enqueue`
publish) or a POST /scrape body. It runs through the same ledger claim as `scrapers worker`
(scrapers/pipeline/queue.py, Worker): exactly once per job key, a job the ledger says is done is
acknowledged without a run, a message dead-lettered already is not run again. Pub/Sub takes 102,
200, 201, 202 and 204 as an ack and redelivers on anything else, with the back-off of the
subscription's retry policy, so the worker's ack and nack become:

| the push                                                        | answer | Pub/Sub                |
|-----------------------------------------------------------------|--------|------------------------|
| ran: success, no_data, partial; failed not_found, auth,         | 200    | acked                  |
|   structural (the same job fails the same way); done already    |        |                        |
|   (ledger), settled by a dead run's landing, dead-lettered now  |        |                        |
| failed blocked, proxy, rate_limited, landing (503), transient   | 503,   | redelivered later      |
|   (504); could not run: state store (503), a bug (500)          | 504,500|                        |
| another worker or replica holds the job's claim                 | 409    | redelivered: by then   |
|                                                                 |        | done, and acked        |
| the service is full (429) or shutting down (503)                | 429,503| redelivered later      |
| not an envelope; data not base64, not JSON, not a valid job,    | 204    | acked and logged: it   |
|   invalid options, unknown scraper                              |        | can never succeed      |
| 401, 413                                                        | as for | redelivered later      |
|                                                                 | /scrape|                        |

After COURTSIDE_JOBS_MAX_ATTEMPTS retryable failures in a row (the ledger counts them) the
message is published to COURTSIDE_JOBS_DEAD_LETTER_TOPIC and acked (needs a project). A parent's
fan-out children are published to COURTSIDE_JOBS_TOPIC, one message each, so they spread over
every replica and worker (point the push subscription at that topic); without a project (a local
service) they run here, each through the claim, before the answer, which then acks only if all
of them would be acked. The body of an answer with a run is that run's view (GET /runs/{id})
with a `queue` object: the answer, the line a worker logs, the children.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from scrapers.core.clock import Clock
from scrapers.core.errors import CourtsideError
from scrapers.core.registry import Registry
from scrapers.pipeline.once import OnceRunner
from scrapers.pipeline.queue import (
    ACK_NOTHING_TO_RUN,
    DeadLetter,
    Handled,
    JobMessage,
    LazyJobsTopic,
    QueueMetrics,
    Worker,
)

log = logging.getLogger("scrapers.service")
PUBSUB_TRIGGER = "pubsub"  # the completion's trigger_source, unless the job names its own `source`


class MalformedPush(CourtsideError):
    """The request is not a Pub/Sub push of a job: acknowledged (204), since it can never succeed."""


@dataclass(frozen=True)
class PushMessage:
    job: Any  # the decoded `data`: a job message, checked by the worker's own reading
    data: bytes  # the same, as it came
    message_id: str | None = None
    subscription: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def log_fields(self) -> dict[str, Any]:
        return {"pubsub": {"message_id": self.message_id, "subscription": self.subscription}}


def read_push(body: bytes) -> PushMessage:
    """The job a push envelope carries, or MalformedPush saying what is wrong."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedPush("the body is not JSON (a Pub/Sub push envelope is)") from None
    message = envelope.get("message") if isinstance(envelope, Mapping) else None
    if not isinstance(message, Mapping):
        raise MalformedPush('not a Pub/Sub push envelope: no "message" object')
    message_id = _text(message.get("messageId") or message.get("message_id"))
    subscription = _text(envelope.get("subscription"))
    raw_attributes = message.get("attributes") or {}
    attributes = (
        {str(k): str(v) for k, v in raw_attributes.items()} if isinstance(raw_attributes, Mapping) else {}
    )
    data = message.get("data")
    if not isinstance(data, str) or not data:
        raise MalformedPush("the message has no data (its data is the job, base64-encoded JSON)")
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPush("the message data is not base64") from None
    try:
        job = json.loads(decoded)
    except (ValueError, RecursionError):
        raise MalformedPush(
            'the message data is not JSON (a job such as {"scraper": "bdl_games", ...})'
        ) from None
    return PushMessage(job, decoded, message_id, subscription, attributes)


class InlineChildren:
    """A service without a jobs topic: one request's fan-out children, run after the parent."""

    description = "this request"

    def __init__(self) -> None:
        self.messages: list[JobMessage] = []

    async def publish(self, message: JobMessage, attributes: Mapping[str, str] | None = None) -> None:
        self.messages.append(message)


class PushRoute:
    """POST /pubsub/push: each message through a Worker on the service's run manager and ledger."""

    def __init__(
        self,
        once: OnceRunner,
        registry: Registry,
        clock: Clock,
        *,
        jobs: LazyJobsTopic | None,
        dead_letter: DeadLetter | None,
        metrics: QueueMetrics,
        fan_out_concurrency: int,
    ) -> None:
        self.once = once
        self.registry = registry
        self.clock = clock
        self.jobs = jobs
        self.dead_letter = dead_letter
        self.metrics = metrics
        self.fan_out_concurrency = fan_out_concurrency

    async def answer(self, body: bytes) -> web.StreamResponse:
        try:
            push = read_push(body)
        except MalformedPush as exc:
            log.warning("Pub/Sub push acknowledged without a run: %s", exc)
            self.metrics.jobs.labels("refused").inc()
            self.metrics.answers.labels("ack").inc()
            return web.Response(status=ACK_NOTHING_TO_RUN)
        inline = InlineChildren() if self.jobs is None else None
        worker = self._worker(inline)
        handled = await worker.handle(push.data, push.message_id)
        children: list[Handled] = []
        if inline is not None and handled.ack:
            children = await self._run_inline(inline)
        status = handled.http_status
        nacked = [child for child in children if not child.ack]
        if nacked:
            status = max(child.http_status for child in nacked)
        log.info(
            "Pub/Sub message %s: %s",
            "acknowledged" if status < 300 else f"refused with {status} (Pub/Sub delivers it again)",
            handled.line,
            extra={**push.log_fields(), "status": status},
        )
        if status == ACK_NOTHING_TO_RUN:
            return web.Response(status=status)
        return web.json_response(_view(handled, children, status), status=status, headers=_headers(handled))

    def _worker(self, inline: InlineChildren | None) -> Worker:
        return Worker(
            self.once,
            self.registry,
            self.clock,
            inline if inline is not None else self._jobs(),
            dead_letter=self.dead_letter,
            metrics=self.metrics,
            default_trigger=PUBSUB_TRIGGER,
        )

    def _jobs(self) -> LazyJobsTopic:
        assert self.jobs is not None
        return self.jobs

    async def _run_inline(self, inline: InlineChildren) -> list[Handled]:
        """The children a parent published here (and theirs), `fan_out_concurrency` at a time."""
        bound = asyncio.Semaphore(self.fan_out_concurrency)
        handled: list[Handled] = []

        async def one(message: JobMessage) -> None:
            nested = InlineChildren()
            async with bound:
                handled.append(await self._worker(nested).handle(message.to_bytes()))
            await asyncio.gather(*(one(child) for child in nested.messages))

        await asyncio.gather(*(one(message) for message in inline.messages))
        return handled

    async def aclose(self) -> None:
        for topic in (self.jobs, self.dead_letter.topic if self.dead_letter else None):
            if isinstance(topic, LazyJobsTopic):
                topic.close()


def _view(handled: Handled, children: list[Handled], status: int) -> dict[str, Any]:
    result = handled.result
    record = result.record if result is not None else None
    body: dict[str, Any] = dict(record.view()) if record is not None else {}
    if not body and result is not None:
        body = {
            "scraper": result.job.entry.name,
            "options": result.job.option_texts(),
            "status": result.status,
        }
    body["queue"] = {
        "answer": "ack" if status < 300 else "nack",
        "result": handled.outcome,
        "line": handled.line,
        "children": [{"answer": "ack" if c.ack else "nack", "line": c.line} for c in children],
    }
    return body


def _headers(handled: Handled) -> dict[str, str]:
    record = handled.result.record if handled.result is not None else None
    return {"X-Run-Id": record.run_id} if record is not None else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
