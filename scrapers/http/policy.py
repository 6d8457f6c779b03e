"""Per-source policy, read from the `sources:` section of registry.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapers.core.outcome import Outcome
from scrapers.http.classify import SourceRules

DEFAULT_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class SourcePolicy:
    name: str
    rules: SourceRules = field(default_factory=SourceRules)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, name: str, settings: Mapping[str, Any]) -> SourcePolicy:
        rules = settings.get("rules") or {}
        return cls(
            name=name,
            rules=SourceRules(
                hang_means_blocked=bool(rules.get("hang_means_blocked", False)),
                status_overrides={
                    int(k): Outcome(v) for k, v in (rules.get("status_overrides") or {}).items()
                },
                quota_remaining_header=rules.get("quota_remaining_header"),
            ),
            timeout_seconds=float(settings.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
        )
