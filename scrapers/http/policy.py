"""Per-source policy, built from the validated `sources:` section of registry.yaml (its keys are
declared once, in scrapers.core.source_spec). One object per source: tiers, timeouts, retries,
budget, deadline, rates and classification rules live here, nowhere else."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from scrapers.core.source_spec import QuotaSpec, RateSpec, RulesSpec, SourceSpec
from scrapers.http.classify import SourceRules
from scrapers.http.quota import DEFAULT_REMEMBER_SECONDS, QuotaSettings
from scrapers.http.ratelimit import RateSettings

DEFAULT_TIMEOUT_SECONDS = 20.0
# A proxied attempt that has not started answering after max(this, the host's usual answer time
# through the tier plus four deviations) is presumed hung (proxy/answer_times.py). Ten seconds is
# past every answer the benchmark's hosts give through a healthy proxy (their slow ones take 8 s)
# and a quarter of the 45 s a hang through a datacenter proxy cost at BettingPros; a host that has
# been answering slowly (BettingPros' 30-40 s peaks) raises the limit itself.
DEFAULT_HANG_AFTER_SECONDS = 10.0
# A job's first request to a host is due this share of its time after the job started (the host's
# queue serves the earliest due first; every other request is due at the job's deadline): a new
# job's first request goes ahead of the pages of jobs in the first half of their time, behind those
# of jobs in the second half. A fifth (tried first) kept one-request jobs as short but crowded the
# long jobs at BettingPros to within seconds of their deadline (bench/, the standard scenario).
FIRST_TURN_SHARE = 0.5
# A request waits for a cheaper proxy tier that is briefly out (proxy/pool.py, patience) only in
# this first share of its job's time; later it pays the next tier rather than risk the deadline.
PATIENT_SHARE = 0.75
# The largest body (after decompression) a source may send; past it the attempt is `structural`.
# What bounds a run's memory whatever an upstream sends: parsed JSON takes up to ~25 bytes per body
# byte (empty objects), so 8 MiB keeps the worst body under 512 MB of RSS (bench/hostile.py), and
# is still twice the largest real body recorded (stats.nba.com player movement, 3.4 MB).
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
INCREASE_FRACTION = 0.1  # additive increase per success run, as a share of the configured rate
DEFAULT_RATE = RateSettings(rate=2.0, burst=2, ceiling=10.0, floor=0.2, increase_step=0.5)
_N = TypeVar("_N", int, float)


@dataclass
class JobBudget:
    """What one job may still spend: wall time (monotonic deadline) and retries.

    One object per job, shared by every request of it (pages, fan-out): a retry spent on page 3 is
    gone for page 4, so a 50-page job gets one budget, not 50.
    """

    deadline: float
    retries_left: int
    # When the job started (monotonic); None: no early first turn and no waiting for a tier.
    started: float | None = None
    _asked: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def of(cls, policy: SourcePolicy) -> JobBudget:
        """A new job's budget: the source's deadline and retries, counted from now."""
        now = time.monotonic()
        return cls(deadline=now + policy.deadline_seconds, retries_left=policy.retry_budget, started=now)

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def patient_until(self) -> float | None:
        """Until when (monotonic) a request of this job may wait for a cheaper proxy tier that is
        briefly out, rather than pay the next one: the first `PATIENT_SHARE` of its time."""
        if self.started is None:
            return None
        return self.started + (self.deadline - self.started) * PATIENT_SHARE

    def due(self, host: str) -> float:
        """When this job's next request to `host` is due, for the host's queue (the limiter serves
        the earliest due first): at the job's deadline, except its first request to the host, due
        `FIRST_TURN_SHARE` of the deadline after the job started (never later than the deadline).

        Earliest deadline first keeps long jobs inside their deadlines (a job's fan-out no longer
        crowds out an older job's last pages), and the early first turn keeps short jobs short:
        a one-request job does not wait behind every page of the long jobs at its host, unless one
        of them is that close to its deadline.
        """
        if self.started is None or host in self._asked:
            return self.deadline
        self._asked.add(host)
        return self.started + (self.deadline - self.started) * FIRST_TURN_SHARE


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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    hang_after_seconds: float = DEFAULT_HANG_AFTER_SECONDS

    def rules_for(self, host: str) -> SourceRules:
        return self.host_rules.get(host, self.rules)

    def timeout_for(self, tier: str) -> float:
        return float(self.timeouts.get(tier, self.default_timeout))

    def rate_for(self, host: str) -> RateSettings:
        return self.host_rates.get(host, self.rate)

    @classmethod
    def from_settings(cls, name: str, spec: SourceSpec) -> SourcePolicy:
        """The policy of a validated `sources:` entry; what it leaves out keeps the defaults."""
        rules = _rules(spec.rules)
        rate = _rate(spec.rate, DEFAULT_RATE)
        return cls(
            name=name,
            rules=rules,
            host_rules={host: _rules(spec.rules.merged(h.rules)) for host, h in spec.hosts.items()},
            tiers=spec.tiers or ("direct",),
            start_tier=spec.start_tier,
            timeouts=dict(spec.timeouts),
            default_timeout=_given(spec.timeout_seconds, DEFAULT_TIMEOUT_SECONDS),
            transient_retries=_given(spec.transient_retries, 3),
            retry_budget=_given(spec.retry_budget, 12),
            deadline_seconds=_given(spec.deadline_seconds, 300.0),
            backoff_initial=_given(spec.backoff_initial, 0.5),
            backoff_max=_given(spec.backoff_max, 8.0),
            rate=rate,
            host_rates={host: _rate(h.rate, rate) for host, h in spec.hosts.items() if h.rate},
            quota=_quota(spec.quota or QuotaSpec(), rules),
            max_body_bytes=_given(spec.max_body_bytes, DEFAULT_MAX_BODY_BYTES),
        )


def _given(value: _N | None, default: _N) -> _N:
    return default if value is None else value


def _rules(spec: RulesSpec) -> SourceRules:
    return SourceRules(
        hang_means_blocked=bool(spec.hang_means_blocked),
        status_overrides=dict(spec.status_overrides or {}),
        quota_remaining_header=spec.quota_remaining_header,
    )


def _quota(spec: QuotaSpec, rules: SourceRules) -> QuotaSettings | None:
    """Quota tracking for sources whose responses name a remaining-credits header.

    The remaining header defaults to the classification rule's, so it is written once per source.
    """
    remaining = spec.headers.remaining or rules.quota_remaining_header
    if not remaining:
        return None
    return QuotaSettings(
        remaining_header=remaining,
        used_header=spec.headers.used,
        last_header=spec.headers.last,
        reserve=spec.reserve,
        remember_seconds=_given(spec.remember_seconds, DEFAULT_REMEMBER_SECONDS),
    )


def _rate(spec: RateSpec | None, base: RateSettings) -> RateSettings:
    if spec is None:
        return base
    per_second = spec.per_minute / 60.0 if spec.per_minute is not None else _given(spec.per_second, base.rate)
    if spec.ceiling_per_minute is not None:
        ceiling = spec.ceiling_per_minute / 60.0
    elif spec.ceiling_per_second is not None:
        ceiling = spec.ceiling_per_second
    else:
        ceiling = max(per_second, base.ceiling if spec.per_second is None else per_second * 2)
    return RateSettings(
        rate=per_second,
        burst=_given(spec.burst, base.burst),
        ceiling=max(ceiling, per_second),
        floor=min(_given(spec.floor_per_second, base.floor), per_second),
        # A small default step: half the rate (the old default) climbed straight back to the rate
        # that had just drawn a 429, about one 429 per dozen requests at a slow host (bench/).
        increase_step=_given(spec.increase_step, min(base.increase_step, per_second * INCREASE_FRACTION)),
    )
