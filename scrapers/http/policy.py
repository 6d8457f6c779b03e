"""Per-source policy, read from the `sources:` section of registry.yaml. One object per source:
tiers, timeouts, retries, budget, deadline, rates and classification rules live here, nowhere else."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapers.core.outcome import Outcome
from scrapers.http.classify import SourceRules
from scrapers.http.quota import DEFAULT_REMEMBER_SECONDS, QuotaSettings
from scrapers.http.ratelimit import RateSettings

DEFAULT_TIMEOUT_SECONDS = 20.0
INCREASE_FRACTION = 0.1  # additive increase per success run, as a share of the configured rate
DEFAULT_RATE = RateSettings(rate=2.0, burst=2, ceiling=10.0, floor=0.2, increase_step=0.5)


@dataclass
class JobBudget:
    """What one job may still spend: wall time (monotonic deadline) and retries.

    One object per job, shared by every request of it (pages, fan-out): a retry spent on page 3 is
    gone for page 4, so a 50-page job gets one budget, not 50.
    """

    deadline: float
    retries_left: int

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()


@dataclass(frozen=True)
class SourcePolicy:
    name: str
    rules: SourceRules = field(default_factory=SourceRules)
    host_rules: Mapping[str, SourceRules] = field(default_factory=dict)
    tiers: tuple[str, ...] = ("direct",)
    start_tier: str | None = None
    timeouts: Mapping[str, float] = field(default_factory=dict)
    default_timeout: float = DEFAULT_TIMEOUT_SECONDS
    transient_retries: int = 3
    retry_budget: int = 12
    deadline_seconds: float = 300.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    rate: RateSettings = DEFAULT_RATE
    host_rates: Mapping[str, RateSettings] = field(default_factory=dict)
    quota: QuotaSettings | None = None

    def rules_for(self, host: str) -> SourceRules:
        return self.host_rules.get(host, self.rules)

    def timeout_for(self, tier: str) -> float:
        return float(self.timeouts.get(tier, self.default_timeout))

    def rate_for(self, host: str) -> RateSettings:
        return self.host_rates.get(host, self.rate)

    @classmethod
    def from_settings(cls, name: str, settings: Mapping[str, Any]) -> SourcePolicy:
        hosts: Mapping[str, Any] = settings.get("hosts") or {}
        rules = _rules(settings.get("rules") or {})
        rate = _rate(settings.get("rate"), DEFAULT_RATE)
        return cls(
            name=name,
            rules=rules,
            host_rules={
                host: _rules({**settings.get("rules", {}), **(h.get("rules") or {})})
                for host, h in hosts.items()
            },
            tiers=tuple(settings.get("tiers") or ("direct",)),
            start_tier=settings.get("start_tier"),
            timeouts={str(k): float(v) for k, v in (settings.get("timeouts") or {}).items()},
            default_timeout=float(settings.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
            transient_retries=int(settings.get("transient_retries", 3)),
            retry_budget=int(settings.get("retry_budget", 12)),
            deadline_seconds=float(settings.get("deadline_seconds", 300.0)),
            backoff_initial=float(settings.get("backoff_initial", 0.5)),
            backoff_max=float(settings.get("backoff_max", 8.0)),
            rate=rate,
            host_rates={host: _rate(h.get("rate"), rate) for host, h in hosts.items() if h.get("rate")},
            quota=_quota(settings.get("quota") or {}, rules),
        )


def _rules(raw: Mapping[str, Any]) -> SourceRules:
    return SourceRules(
        hang_means_blocked=bool(raw.get("hang_means_blocked", False)),
        status_overrides={int(k): Outcome(v) for k, v in (raw.get("status_overrides") or {}).items()},
        quota_remaining_header=raw.get("quota_remaining_header"),
    )


def _quota(raw: Mapping[str, Any], rules: SourceRules) -> QuotaSettings | None:
    """Quota tracking for sources whose responses name a remaining-credits header.

    The remaining header defaults to the classification rule's, so it is written once per source.
    """
    headers: Mapping[str, Any] = raw.get("headers") or {}
    remaining = headers.get("remaining") or rules.quota_remaining_header
    if not remaining:
        return None
    return QuotaSettings(
        remaining_header=str(remaining),
        used_header=headers.get("used"),
        last_header=headers.get("last"),
        reserve=int(raw.get("reserve", 0)),
        remember_seconds=float(raw.get("remember_seconds", DEFAULT_REMEMBER_SECONDS)),
    )


def _rate(raw: Mapping[str, Any] | None, base: RateSettings) -> RateSettings:
    if not raw:
        return base
    per_second = (
        float(raw["per_minute"]) / 60.0 if "per_minute" in raw else float(raw.get("per_second", base.rate))
    )
    ceiling = (
        float(raw["ceiling_per_minute"]) / 60.0
        if "ceiling_per_minute" in raw
        else float(
            raw.get(
                "ceiling_per_second",
                max(per_second, base.ceiling if "per_second" not in raw else per_second * 2),
            )
        )
    )
    return RateSettings(
        rate=per_second,
        burst=int(raw.get("burst", base.burst)),
        ceiling=max(ceiling, per_second),
        floor=min(float(raw.get("floor_per_second", base.floor)), per_second),
        # A small default step: half the rate (the old default) climbed straight back to the rate
        # that had just drawn a 429, about one 429 per dozen requests at a slow host (bench/).
        increase_step=float(
            raw.get("increase_step", min(base.increase_step, per_second * INCREASE_FRACTION))
        ),
    )
