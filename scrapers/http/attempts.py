"""The record of every attempt a job made: the evidence behind its status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scrapers.core.outcome import Outcome


# Not frozen: one is built per attempt, and a frozen dataclass pays an object.__setattr__ call
# per field. The log only appends; nothing changes an attempt once recorded.
@dataclass(slots=True)
class Attempt:
    host: str
    tier: str
    outcome: Outcome
    status: int | None
    reason: str
    seconds: float


@dataclass
class AttemptLog:
    attempts: list[Attempt] = field(default_factory=list)

    def add(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    @property
    def last_outcome(self) -> Outcome | None:
        return self.attempts[-1].outcome if self.attempts else None

    def summary(self) -> dict[str, Any]:
        return {
            "total": len(self.attempts),
            "by_outcome": dict(sorted(Counter(a.outcome.value for a in self.attempts).items())),
            "by_tier": dict(sorted(Counter(a.tier for a in self.attempts).items())),
        }
