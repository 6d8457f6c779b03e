"""Publishers send one completion somewhere; delivery guarantees live in the outbox, not here."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from google.api_core.exceptions import (
    Aborted,
    Cancelled,
    DeadlineExceeded,
    GoogleAPIError,
    InternalServerError,
    ResourceExhausted,
    RetryError,
    ServiceUnavailable,
    Unknown,
)
from google.api_core.retry import Retry, if_exception_type

from scrapers.core.errors import CourtsideError


class PublishError(CourtsideError):
    """A completion could not be published; it stays pending in the outbox."""


class Publisher(Protocol):
    description: str
    timeout: float  # the longest one send() may take

    async def send(self, message: Mapping[str, Any], attributes: Mapping[str, str]) -> None:
        """Deliver or raise PublishError."""
        ...

    async def delivered(self, execution_id: str) -> bool | None:
        """Whether a completion of this execution was delivered already; None when this publisher
        cannot tell. Asked only for an entry whose owner died between sending and recording it."""
        ...


class JsonLinesPublisher:
    """The local default: one JSON line per completion in `<out>/_events/completions.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"
        self.timeout = 10.0

    async def send(self, message: Mapping[str, Any], attributes: Mapping[str, str]) -> None:
        line = json.dumps(dict(message), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            raise PublishError(f"cannot append to {self.path}: {exc}") from None

    async def delivered(self, execution_id: str) -> bool:
        # The lines are ours (sorted keys, default separators), so the key is found verbatim.
        needle = json.dumps({"execution_id": execution_id})[1:-1].encode("utf-8")
        try:
            return await asyncio.to_thread(lambda: needle in self.path.read_bytes())
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise PublishError(f"cannot read {self.path}: {exc}") from None

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = line.encode("utf-8")
        # One write() of one line with O_APPEND: concurrent runs cannot interleave lines.
        existed = self.path.exists()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            try:
                written = os.write(descriptor, data)
            except OSError:
                written = -1
            if written != len(data):
                # A full disk took part of the line: cut it off again, or the next line would be
                # glued to the fragment and both would be lost to a JSON reader.
                os.ftruncate(descriptor, size)
                if not existed:
                    self.path.unlink(missing_ok=True)  # nor leave an empty file it created
                raise OSError(
                    errno.ENOSPC, f"only part of the completion line could be written to {self.path}"
                )
        finally:
            os.close(descriptor)


class PubSubPublisher:
    """google-cloud-pubsub; PUBSUB_EMULATOR_HOST is honoured by the library itself.

    The library retries a publish in the background for up to 600 s by default, long after our
    caller gave up: a completion that "timed out" would then still arrive, and arrive again when
    `republish` sends it from the outbox. So every publish carries its own retry policy whose total
    time ends before `timeout` does: when `send` reports a failure, the library has given up too.
    """

    # The share of `timeout` the library may spend retrying; the rest covers its batching thread.
    RETRY_SHARE = 0.8

    def __init__(self, project: str, topic: str, timeout: float) -> None:
        from google.cloud import pubsub_v1  # imported here: local runs never load gRPC

        self._client = pubsub_v1.PublisherClient()
        self.topic_path = self._client.topic_path(project, topic)
        self.timeout = timeout
        self.description = f"Pub/Sub topic {self.topic_path}"

    async def send(self, message: Mapping[str, Any], attributes: Mapping[str, str]) -> None:
        data = json.dumps(dict(message), ensure_ascii=False, sort_keys=True).encode("utf-8")
        budget = self.timeout * self.RETRY_SHARE
        retry = Retry(
            predicate=_RETRYABLE, initial=0.1, maximum=min(budget, 5.0), multiplier=1.3, timeout=budget
        )
        # The library's future is bridged into the loop, never waited on by a thread: a process
        # stopping (SIGTERM) is not held at exit by a pool thread blocked on a hung publish.
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[None] = loop.create_future()
        try:
            future = self._client.publish(
                self.topic_path, data, retry=retry, timeout=budget, **dict(attributes)
            )
            future.add_done_callback(lambda done: loop.call_soon_threadsafe(_settle, outcome, done))
            await asyncio.wait_for(asyncio.shield(outcome), self.timeout)
        except (GoogleAPIError, RetryError, TimeoutError, RuntimeError) as exc:
            # RuntimeError: the client was stopped (the process is closing its output).
            raise PublishError(f"publish to {self.topic_path} failed: {type(exc).__name__}: {exc}") from None

    async def delivered(self, execution_id: str) -> None:
        # A topic cannot be asked what it holds: a resend may duplicate, and subscribers
        # deduplicate on the `execution_id` attribute.
        return None

    def close(self) -> None:
        self._client.stop()


def _settle(outcome: asyncio.Future[None], done: Any) -> None:
    if outcome.done():
        return  # the caller gave up waiting (its timeout); the library's result is not needed
    error = done.exception()
    if error is None:
        outcome.set_result(None)
    else:
        outcome.set_exception(error)


# What the library's own default retries on a publish (its generated Publish config).
_RETRYABLE = if_exception_type(
    Aborted, Cancelled, DeadlineExceeded, InternalServerError, ResourceExhausted, ServiceUnavailable, Unknown
)
