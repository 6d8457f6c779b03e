"""The completion message: the old unified fields (OLD-PLATFORM §3.2), filled honestly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

PHASE = "phase_1_scrapers"


@dataclass(frozen=True)
class CompletionMessage:
    processor_name: str
    execution_id: str
    correlation_id: str
    game_date: str | None
    status: str
    record_count: int
    timestamp: str
    duration_seconds: float
    trigger_source: str
    error_type: str | None = None
    error_message: str | None = None
    records_failed: int = 0
    phase: str = PHASE
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # The old publisher dropped None-valued keys; downstream relies on their absence.
        return {key: value for key, value in asdict(self).items() if value is not None}

    def attributes(self, source: str) -> dict[str, str]:
        return attributes(self.to_dict(), source)


def attributes(message: Mapping[str, Any], source: str) -> dict[str, str]:
    """Routing attributes for Pub/Sub subscribers' filters, and the execution id a subscriber can
    deduplicate on (Pub/Sub itself delivers at least once)."""
    return {
        "scraper": str(message["processor_name"]),
        "status": str(message["status"]),
        "source": source,
        "execution_id": str(message["execution_id"]),
    }


def interrupted(message: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """The completion of a run that stopped before its document landed, made from its intent."""
    metadata = {key: value for key, value in message.get("metadata", {}).items() if key != "gcs_path"}
    metadata.update(landed_paths=[], error_type="transient")
    return {
        **message,
        "status": "failed",
        "record_count": 0,
        "error_type": "transient",
        "error_message": reason,
        "metadata": metadata,
    }


@dataclass(frozen=True)
class Delivered:
    """What a run's completion said, and a warning when its delivery is delayed."""

    message: Mapping[str, Any]
    warning: str | None


class EventSink(Protocol):
    """Where the runner hands each run's completion (see scrapers/events/outbox.py)."""

    async def intend(self, message: CompletionMessage, source: str, landing: Mapping[str, str]) -> None:
        """Record, durably and before landing, the completion the run sends if `landing` (object
        path -> SHA-256) lands. Called again when the paths change. Raises OutboxError."""
        ...

    async def publish(self, message: CompletionMessage, source: str) -> str | None:
        """The run's one terminal completion; returns a warning when delivery is delayed."""
        ...

    async def interrupted(self, message: CompletionMessage, source: str) -> Delivered:
        """A run stopped from outside: finish what it started (its own publish in flight, or its
        intent, by what landed), or send `message`."""
        ...
