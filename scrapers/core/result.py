"""The typed result of one run: what the CLI prints, the service returns and events carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapers.core.fanout import FanOutRef
from scrapers.core.outcome import Outcome, RunStatus

if TYPE_CHECKING:
    from scrapers.core.verdict import Verdict


@dataclass(frozen=True)
class RunResult:
    run_id: str
    scraper: str
    source: str
    status: RunStatus
    record_count: int
    options: Mapping[str, Any]
    game_date: str | None
    started_at: str
    duration_seconds: float
    attempts: Mapping[str, Any]
    landed: tuple[str, ...] = ()
    already_landed: bool = False
    failure_class: Outcome | None = None
    error_type: str | None = None
    error_message: str | None = None
    no_data_reason: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    fan_out: tuple[FanOutRef, ...] = ()  # ids for per-game / per-event child jobs
    quality: Verdict | None = None  # the data-quality verdict of the parsed document
    metadata: Mapping[str, Any] = field(default_factory=dict)  # the parse's facts (Parsed.metadata)

    @property
    def ok(self) -> bool:
        return self.status is not RunStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "scraper": self.scraper,
            "source": self.source,
            "status": self.status.value,
            "record_count": self.record_count,
            "failure_class": self.failure_class.value if self.failure_class else None,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "no_data_reason": self.no_data_reason,
            "landed": list(self.landed),
            "already_landed": self.already_landed,
            "options": dict(self.options),
            "game_date": self.game_date,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "attempts": dict(self.attempts),
            "warnings": list(self.warnings),
            "fan_out": [ref.to_dict() for ref in self.fan_out],
            "quality": self.quality.to_dict() if self.quality else None,
            "metadata": dict(self.metadata),
        }
