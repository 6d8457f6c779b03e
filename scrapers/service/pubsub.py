"""Pub/Sub push: the envelope a push subscription POSTs to /pubsub/push, and the answer that acks it.

The envelope is `{"message": {"data": BASE64, "attributes": {...}, "messageId": "..."},
"subscription": "projects/P/subscriptions/S"}`; `data` decodes to a job exactly like POST /scrape's
JSON body. Pub/Sub takes 102, 200, 201, 202 and 204 as an ack and redelivers on anything else,
with the back-off of the subscription's retry policy. So the route acks what a redelivery cannot
change and refuses what one may fix:

| the push                                                        | answer | Pub/Sub                |
|-----------------------------------------------------------------|--------|------------------------|
| the run ended success, no_data or partial                       | 200    | acked                  |
| failed not_found, auth, structural (502 on POST /scrape)        | 200    | acked: the same job    |
| could not run: invalid options (a fan-out child), replay miss   |        | fails the same way     |
| failed blocked, proxy, rate_limited, landing (503), transient   | 503 or | redelivered later      |
|   (504); could not run: state store unreachable (503)           | 504    |                        |
| could not run: bad configuration, or a bug (500)                | 500    | redelivered: kept until|
|                                                                 |        | the deployment is fixed|
| not an envelope; data not base64, not JSON or not a valid job   | 204    | acked and logged: it   |
|                                                                 |        | can never succeed      |
| 401, 413, 429 (in-flight cap), 503 (shutting down)              | as for | redelivered later      |
|                                                                 | /scrape|                        |

A message that keeps failing with a retryable answer is redelivered until the subscription's
message retention ends, or its dead-letter policy moves it aside: give push subscriptions one.
A fan-out is one message: it is redelivered (and runs again whole) when any of its runs failed
in a retryable way. Delivery is at least once, so a job may run twice; its landing path has a
timestamp and the completion its own run id.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapers.core.errors import CourtsideError
from scrapers.pipeline.runs import RunRecord

ACK = 200
ACK_NOTHING_TO_RUN = 204
# The run statuses a redelivery may fix (errors.py's table): our egress or the upstream's limits,
# our own storage (503), an upstream that did not answer in time (504), our configuration or a bug
# (500). 502 (the upstream answered: not found, auth, structural) and 400 fail the same way again.
RETRYABLE_STATUSES = frozenset({500, 503, 504})


class MalformedPush(CourtsideError):
    """The request is not a Pub/Sub push of a job: acknowledged (204), since it can never succeed."""


@dataclass(frozen=True)
class PushMessage:
    job: Any  # the decoded `data`: a job body, checked by the same planning as POST /scrape
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
    return PushMessage(job, message_id, subscription, attributes)


def push_status(record: RunRecord) -> int:
    """What the push answers for a finished run: ACK, or the highest retryable status among the
    run and its fan-out children (so Pub/Sub redelivers the message later)."""
    retryable = [
        code for run in record.walk() if (code := run.own_status) is not None and code in RETRYABLE_STATUSES
    ]
    return max(retryable) if retryable else ACK


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
