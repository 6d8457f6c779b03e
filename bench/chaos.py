"""The chaos table: every policy on the same scenario, the same simulator, the same time scale.

Each policy gets a fresh simulator (same seed, same fault draws per request occurrence) and the
same jobs in the same order. Figures are measured from outside the policy where possible: the
simulator's own log for 429s, rates and the expensive tier; the policy's job results against the
oracle's ground truth for success, false positives and suspicious `no_data`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.jobs import BenchJob, Truth, host_sources, oracle
from bench.policies.base import UNFINISHED, Policy, PolicyRun, run_policy
from bench.policies.fixed_delay import FixedDelayPolicy
from bench.policies.fleet import FleetPolicy
from bench.policies.old_platform import OldPlatformPolicy
from bench.scenario import Scenario, ScenarioError
from bench.simulator import FixtureIndex, Simulator, TrafficLog
from scrapers.core.registry import Registry, load_registry
from scrapers.http.policy import SourcePolicy

POLICIES = ("old", "fixed", "fleet")
TOP_TIER = "residential"
# The simulator outlives the policy's time cap by this much (wall seconds), then stops by itself.
SIMULATOR_GRACE = 5.0


@dataclass(frozen=True)
class Figures:
    policy: str
    title: str
    jobs: int
    exists: int
    succeeded: int  # of the jobs whose data exists
    correct: int  # success where data exists + no_data where the source says empty
    failed: int  # failed or unfinished
    false_positive_failures: int  # of those, jobs whose data (or positive empty answer) exists
    suspicious_no_data: int  # no_data where the data exists or is missing
    unfinished: int
    requests: int
    fault_free_requests_per_job: float
    top_tier_requests: int
    first_hop_arrivals: int  # requests that reached a proxy or (direct) a host, per the simulator
    upstream_after_warmup: int
    rate_limited_after_warmup: int
    achieved_fraction: float | None
    p50: float
    p95: float
    wall_seconds: float
    failure_breakdown: Counter[str]

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.exists if self.exists else None

    @property
    def false_positive_share(self) -> float | None:
        return self.false_positive_failures / self.failed if self.failed else 0.0

    @property
    def requests_per_success(self) -> float | None:
        return self.requests / self.correct if self.correct else None

    @property
    def request_multiple(self) -> float | None:
        per = self.requests_per_success
        return per / self.fault_free_requests_per_job if per is not None else None

    @property
    def rate_limited_share(self) -> float | None:
        return (
            self.rate_limited_after_warmup / self.upstream_after_warmup
            if self.upstream_after_warmup
            else None
        )


@dataclass(frozen=True)
class ChaosReport:
    scenario: Scenario
    scale: float
    jobs: Sequence[BenchJob]
    allowed_rates: dict[str, float]
    figures: Sequence[Figures]


def allowed_rates(scenario: Scenario, registry: Registry, jobs: Sequence[BenchJob]) -> dict[str, float]:
    """Each limited host's allowed rate (simulated requests per second)."""
    sources = host_sources(jobs)
    rates: dict[str, float] = {}
    for host in sorted(set(sources) | set(scenario.upstreams)):
        limit = scenario.upstream(host).rate_limit
        if limit is None:
            continue
        if limit.per_second is not None:
            rates[host] = limit.per_second
        elif host in sources and limit.fleet_rate_fraction is not None:
            source = sources[host]
            policy = SourcePolicy.from_settings(source, registry.sources[source].settings)
            rates[host] = policy.rate_for(host).rate * limit.fleet_rate_fraction
    return rates


def make_policy(name: str, registry: Registry, scale: float, seed: int) -> Policy:
    if name == "old":
        return OldPlatformPolicy(scale, seed)
    if name == "fixed":
        return FixedDelayPolicy(registry, scale)
    if name == "fleet":
        return FleetPolicy(registry, scale, seed)
    raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}")


async def run_chaos(
    scenario: Scenario,
    *,
    scale: float | None = None,
    policies: Sequence[str] = POLICIES,
    registry: Registry | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChaosReport:
    registry = registry or load_registry()
    scale = scale or scenario.scale
    index = FixtureIndex(scenario.fixtures)
    jobs = await oracle(scenario, registry, index)
    rates = allowed_rates(scenario, registry, jobs)
    if scenario.rate_host and scenario.rate_host not in rates:
        raise ScenarioError(f"{scenario.path}: rate_host {scenario.rate_host} has no rate limit")
    cap = scenario.time_cap_seconds / scale
    figures = []
    for name in policies:
        policy = make_policy(name, registry, scale, scenario.seed)
        async with Simulator(scenario, index, rates, scale=scale, lifetime=cap + SIMULATOR_GRACE) as sim:
            run = await run_policy(policy, sim, jobs, concurrency=scenario.concurrency, cap_wall=cap)
            log = sim.log
        figures.append(measure(run, log, scenario, rates, jobs))
        if progress:
            progress(f"{run.title}: {len(jobs)} jobs in {run.wall_seconds:.1f} s wall")
    return ChaosReport(scenario, scale, jobs, rates, figures)


def measure(
    run: PolicyRun, log: TrafficLog, scenario: Scenario, rates: dict[str, float], jobs: Sequence[BenchJob]
) -> Figures:
    records = run.records
    exists = [r for r in records if r.job.truth is Truth.EXISTS]
    failed = [r for r in records if r.status in ("failed", UNFINISHED)]
    correct = [
        r
        for r in records
        if (r.job.truth is Truth.EXISTS and r.status == "success")
        or (r.job.truth is Truth.EMPTY and r.status == "no_data")
    ]
    answerable = [job for job in jobs if job.truth is not Truth.MISSING]
    fault_free = sum(job.need for job in jobs) / len(answerable) if answerable else 1.0
    warm = scenario.warmup_seconds
    upstream = [a for a in log.upstream() if a.at >= warm]
    top_tier = {p.name for p in scenario.proxies if p.tier == TOP_TIER}
    durations = sorted(r.seconds for r in records)
    return Figures(
        policy=run.policy,
        title=run.title,
        jobs=len(records),
        exists=len(exists),
        succeeded=sum(1 for r in exists if r.status == "success"),
        correct=len(correct),
        failed=len(failed),
        false_positive_failures=sum(1 for r in failed if r.job.truth is not Truth.MISSING),
        suspicious_no_data=sum(
            1 for r in records if r.status == "no_data" and r.job.truth is not Truth.EMPTY
        ),
        unfinished=sum(1 for r in records if r.status == UNFINISHED),
        requests=run.attempts.total,
        fault_free_requests_per_job=fault_free,
        top_tier_requests=sum(1 for a in log.proxy() if a.server in top_tier),
        first_hop_arrivals=len(log.proxy()) + sum(1 for a in log.upstream() if a.via is None),
        upstream_after_warmup=len(upstream),
        rate_limited_after_warmup=sum(1 for a in upstream if a.result == "rate_limited"),
        achieved_fraction=_achieved(log, scenario, rates),
        p50=_percentile(durations, 0.50),
        p95=_percentile(durations, 0.95),
        wall_seconds=run.wall_seconds,
        failure_breakdown=Counter(r.detail or r.status for r in failed),
    )


def _achieved(log: TrafficLog, scenario: Scenario, rates: dict[str, float]) -> float | None:
    """Admitted requests at the rate host after warm-up, over what its limit allowed meanwhile."""
    host = scenario.rate_host
    if host is None or host not in rates:
        return None
    arrivals = log.upstream(host)
    if not arrivals:
        return None
    start, end = scenario.warmup_seconds, arrivals[-1].at
    if end - start <= 0:
        return None
    admitted = sum(1 for a in arrivals if start <= a.at <= end and a.result != "rate_limited")
    return admitted / (rates[host] * (end - start))


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


# --- the table ---------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None:
        return "n/a"
    if theirs == 0:
        return "=" if ours == 0 else "inf"
    return f"{ours / theirs:.2f}x"


Row = tuple[str, Callable[[Figures], str], Callable[[Figures], float | None]]

ROWS: tuple[Row, ...] = (
    (
        "success where the data exists",
        lambda f: f"{_pct(f.success_rate)} ({f.succeeded}/{f.exists})",
        lambda f: f.success_rate,
    ),
    (
        "false-positive failures / all failures",
        lambda f: f"{_pct(f.false_positive_share)} ({f.false_positive_failures}/{f.failed})",
        lambda f: f.false_positive_share,
    ),
    ("suspicious no_data", lambda f: str(f.suspicious_no_data), lambda f: float(f.suspicious_no_data)),
    ("requests per successful job", lambda f: _num(f.requests_per_success), lambda f: f.requests_per_success),
    ("  as a multiple of a fault-free run", lambda f: _num(f.request_multiple), lambda f: f.request_multiple),
    (
        "requests to the residential tier",
        lambda f: str(f.top_tier_requests),
        lambda f: float(f.top_tier_requests),
    ),
    (
        "429 share of responses (after warm-up)",
        lambda f: _pct(f.rate_limited_share),
        lambda f: f.rate_limited_share,
    ),
    (
        "achieved rate / allowed (after warm-up)",
        lambda f: _pct(f.achieved_fraction),
        lambda f: f.achieved_fraction,
    ),
    ("job duration p50 (simulated s)", lambda f: _num(f.p50, 1), lambda f: f.p50),
    ("job duration p95 (simulated s)", lambda f: _num(f.p95, 1), lambda f: f.p95),
    ("unfinished at the time cap", lambda f: str(f.unfinished), lambda f: float(f.unfinished)),
    ("requests sent (all jobs)", lambda f: str(f.requests), lambda f: float(f.requests)),
)


def render(report: ChaosReport) -> str:
    scenario, figures = report.scenario, list(report.figures)
    truths = Counter(job.truth for job in report.jobs)
    rate_host = scenario.rate_host
    lines = [
        f"Chaos benchmark - scenario '{scenario.name}' ({scenario.path.name}), seed {scenario.seed}, "
        f"time scale {report.scale:g}x, {len(report.jobs)} jobs ({truths[Truth.EXISTS]} with data, "
        f"{truths[Truth.EMPTY]} empty, {truths[Truth.MISSING]} missing), concurrency {scenario.concurrency}",
    ]
    if rate_host and rate_host in report.allowed_rates:
        lines.append(
            f"rate host {rate_host}: {report.allowed_rates[rate_host]:g} requests/s allowed (simulated)"
        )
    fleet = next((f for f in figures if f.policy == "fleet"), None)
    baselines = [f for f in figures if f.policy != "fleet"] if fleet else []
    header = ["figure", *(f.title for f in figures), *(f"fleet / {b.title}" for b in baselines)]
    rows = [header]
    for label, show, value in ROWS:
        row = [label, *(show(f) for f in figures)]
        if fleet:
            row.extend(_ratio(value(fleet), value(b)) for b in baselines)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        cells = [
            row[0].ljust(widths[0]),
            *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)),
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    for f in figures:
        failures = (
            ", ".join(f"{detail} {count}" for detail, count in f.failure_breakdown.most_common()) or "none"
        )
        lines.append(f"{f.title}: {f.wall_seconds:.1f} s wall; failures: {failures}")
    return "\n".join(lines)
