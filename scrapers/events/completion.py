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
        """Routing attributes for Pub/Sub subscribers' filters."""
        return {"scraper": self.processor_name, "status": self.status, "source": source}


class EventSink(Protocol):
    """Where the runner hands each run's completion. Returns a warning when delivery is delayed."""

    async def publish(self, message: CompletionMessage, source: str) -> str | None: ...
