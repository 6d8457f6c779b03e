"""The sink contract shared by the file and GCS sinks."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    def uri(self, path: str) -> str:
        """Where `path` lives, as a user or downstream would address it."""
        ...

    async def create(self, path: str, data: bytes, content_type: str) -> str:
        """Write a new object and return its URI; raise AlreadyLandedError if it exists."""
        ...

    async def write(self, path: str, data: bytes, content_type: str) -> str:
        """Create or replace an object and return its URI: only for our own records (the job
        ledger's mirror), never for landed documents, which are create-only."""
        ...

    async def read(self, path: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    async def prune(self, folder: str, older_than: float) -> int:
        """Delete the objects under `folder` written more than `older_than` seconds ago (our own
        records, such as run summaries; never landed documents). Returns how many."""
        ...
