"""Google Cloud Storage: the sink for `--out gs://bucket/prefix`, and the bucket the outbox shares.

Uploads are create-only (`if_generation_match=0`): the library may retry them safely (a retried
upload that already succeeded gets 412), and a 412 means "already landed" — reported, never
overwritten. The client is synchronous, so every call runs in a worker thread. Credentials are
the standard Google ones (ADC); `STORAGE_EMULATOR_HOST` points the library at an emulator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from google.api_core.exceptions import GoogleAPIError, NotFound, PreconditionFailed
from google.auth.exceptions import DefaultCredentialsError
from google.cloud.storage.retry import DEFAULT_RETRY
from requests.exceptions import RequestException

from scrapers.core.errors import AlreadyLandedError

SCHEME = "gs://"
# The library retries a failing call for up to 120 s by default, and each of our calls may make
# several: a GCS outage held a run for over three minutes. Bounded here, an outage fails the run
# `landing` in seconds (and the completion goes straight to Pub/Sub when it is up).
CALL_TIMEOUT_SECONDS = 10.0
RETRY = DEFAULT_RETRY.with_timeout(5.0)
# What a call raises once the library gives up: an API answer, or the connection itself.
FAILURES = (GoogleAPIError, RequestException)


@dataclass(frozen=True)
class GcsLocation:
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> GcsLocation:
        """`gs://bucket` or `gs://bucket/some/prefix`; raises ValueError with an example otherwise."""
        if not url.startswith(SCHEME):
            raise ValueError(f"'{url}' is not a gs:// URL (example: gs://nba-scraped-data)")
        bucket, _, prefix = url.removeprefix(SCHEME).partition("/")
        if not bucket or any(c in bucket for c in " \\?#*[]"):
            raise ValueError(f"'{url}' names no valid bucket (example: gs://nba-scraped-data/prefix)")
        return cls(bucket, prefix.strip("/"))

    def name(self, path: str) -> str:
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"object path must be relative and stay inside the prefix: {path}")
        return f"{self.prefix}/{path}" if self.prefix else path

    def uri(self, path: str) -> str:
        return f"{SCHEME}{self.bucket}/{self.name(path)}"


class GcsError(OSError):
    """A storage call failed (after the library's retries); a landing-class failure."""


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    generation: int
    updated: datetime | None


class GcsBucket:
    """The few calls the sink and the outbox need, async and with typed errors."""

    def __init__(self, location: GcsLocation, client: Any | None = None) -> None:
        self.location = location
        self._client = client
        self._bucket: Any = None

    def _handle(self) -> Any:
        if self._bucket is None:
            from google.cloud import storage  # imported lazily: local runs never load it

            try:
                self._client = self._client or storage.Client()
            except DefaultCredentialsError as exc:
                raise GcsError(
                    "no Google credentials: run `gcloud auth application-default login` or set "
                    f"GOOGLE_APPLICATION_CREDENTIALS ({exc})"
                ) from None
            self._bucket = self._client.bucket(self.location.bucket)
        return self._bucket

    async def create(self, name: str, data: bytes, content_type: str) -> None:
        """Create-only: AlreadyLandedError when the object exists."""
        await self._upload(name, data, content_type, if_generation_match=0)

    async def write(self, name: str, data: bytes, content_type: str) -> None:
        """Create or replace (only for objects the caller owns, such as its outbox entry)."""
        await self._upload(name, data, content_type, if_generation_match=None)

    async def _upload(
        self, name: str, data: bytes, content_type: str, if_generation_match: int | None
    ) -> None:
        def upload() -> None:
            blob = self._handle().blob(name)
            blob.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=if_generation_match,
                retry=RETRY,
                timeout=CALL_TIMEOUT_SECONDS,
            )

        try:
            await asyncio.to_thread(upload)
        except PreconditionFailed:
            raise AlreadyLandedError(f"{SCHEME}{self.location.bucket}/{name}") from None
        except FAILURES as exc:
            raise GcsError(f"upload of {SCHEME}{self.location.bucket}/{name} failed: {exc}") from None

    async def read(self, name: str) -> bytes | None:
        def download() -> bytes | None:
            try:
                data: bytes = (
                    self._handle().blob(name).download_as_bytes(retry=RETRY, timeout=CALL_TIMEOUT_SECONDS)
                )
            except NotFound:
                return None
            return data

        try:
            return await asyncio.to_thread(download)
        except FAILURES as exc:
            raise GcsError(f"read of {SCHEME}{self.location.bucket}/{name} failed: {exc}") from None

    async def info(self, name: str) -> ObjectInfo | None:
        def stat() -> ObjectInfo | None:
            blob = self._handle().get_blob(name, retry=RETRY, timeout=CALL_TIMEOUT_SECONDS)
            return None if blob is None else ObjectInfo(blob.name, int(blob.generation), blob.updated)

        try:
            return await asyncio.to_thread(stat)
        except FAILURES as exc:
            raise GcsError(f"stat of {SCHEME}{self.location.bucket}/{name} failed: {exc}") from None

    async def list(self, prefix: str) -> list[str]:
        return [info.name for info in await self.entries(prefix)]

    async def entries(self, prefix: str) -> Sequence[ObjectInfo]:
        """Every object under `prefix`, sorted by name, with its generation and update time."""

        def listing() -> Sequence[ObjectInfo]:
            listed = self._handle().list_blobs(prefix=prefix, retry=RETRY, timeout=CALL_TIMEOUT_SECONDS)
            infos = [ObjectInfo(blob.name, int(blob.generation), blob.updated) for blob in listed]
            return sorted(infos, key=lambda info: info.name)

        try:
            return await asyncio.to_thread(listing)
        except FAILURES as exc:
            raise GcsError(f"listing {SCHEME}{self.location.bucket}/{prefix} failed: {exc}") from None

    async def delete(self, name: str, if_generation_match: int | None = None) -> bool:
        """Delete; False when it is gone already or its generation changed (someone else won)."""

        def remove() -> bool:
            try:
                self._handle().blob(name).delete(
                    if_generation_match=if_generation_match, retry=RETRY, timeout=CALL_TIMEOUT_SECONDS
                )
            except (NotFound, PreconditionFailed):
                return False
            return True

        try:
            return await asyncio.to_thread(remove)
        except FAILURES as exc:
            raise GcsError(f"delete of {SCHEME}{self.location.bucket}/{name} failed: {exc}") from None


class GcsSink:
    """The Sink for `gs://bucket/prefix`: same path contract as the file sink."""

    def __init__(self, bucket: GcsBucket) -> None:
        self.bucket = bucket

    def uri(self, path: str) -> str:
        return self.bucket.location.uri(path)

    async def create(self, path: str, data: bytes, content_type: str) -> str:
        await self.bucket.create(self.bucket.location.name(path), data, content_type)
        return self.uri(path)

    async def write(self, path: str, data: bytes, content_type: str) -> str:
        await self.bucket.write(self.bucket.location.name(path), data, content_type)
        return self.uri(path)

    async def read(self, path: str) -> bytes | None:
        return await self.bucket.read(self.bucket.location.name(path))

    async def prune(self, folder: str, older_than: float) -> int:
        cutoff, removed = time.time() - older_than, 0
        for info in await self.bucket.entries(self.bucket.location.name(folder.rstrip("/") + "/")):
            if info.updated is not None and info.updated.timestamp() < cutoff:
                removed += await self.bucket.delete(info.name, if_generation_match=info.generation)
        return removed
