"""The chaos table: every policy on the same scenario, the same simulator, the same time scale.

Each policy gets a fresh simulator (same seed, same fault draws per request occurrence) and the
same jobs in the same order. Figures are measured from outside the policy where possible: the
simulator's own log for 429s, rates, the expensive tier and the weighted proxy cost; the policy's
job results against the oracle's ground truth for success, false positives and suspicious
`no_data`. The peers (crawlee, Scrapy; bench/peers/) run in their own processes against the same
simulator and are measured the same way; `render_peers` is the table of `python -m bench --peers`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bench.jobs import BenchJob, Truth, host_sources, oracle
from bench.peers.runner import PEERS, run_peer
from bench.policies.base import UNFINISHED, Policy, PolicyRun, run_policy
from bench.policies.fixed_delay import FixedDelayPolicy
from bench.policies.fleet import FleetPolicy, proxy_config
from bench.policies.old_platform import OldPlatformPolicy
from bench.scenario import Scenario, ScenarioError
from bench.simulator import FixtureIndex, Simulator, TrafficLog
from proxy.config import DEFAULT_TIER_COSTS, BreakerSettings
from scrapers.core.registry import Registry, load_registry
from scrapers.http.policy import SourcePolicy

POLICIES = ("old", "fixed", "fleet")
PEER_POLICIES = tuple(PEERS)  # run in their own processes; need the `peers` extra
KNOWN_POLICIES = (*POLICIES, *PEER_POLICIES)
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
    weighted_cost: float  # requests that reached a proxy, each weighted by its tier's cost
    first_hop_arrivals: int  # requests that reached a proxy or (direct) a host, per the simulator
    upstream_after_warmup: int
    rate_limited_after_warmup: int
    achieved_fraction: float | None
    p50: float
    p95: float
    wall_seconds: float
    failure_breakdown: Counter[str]
    tier_requests: Mapping[str, int] = field(
        default_factory=dict
    )  # requests sent, by tier (the policy's count)
    # Where the 429s after warm-up arrived, (simulated s, host, proxy or None for direct), so a run
    # that draws one says where: a share alone cannot be traced.
    late_429s: tuple[tuple[float, str, str | None], ...] = ()

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
    tier_costs: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_COSTS))  # per request


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

    def simulator() -> Simulator:
        return Simulator(scenario, index, rates, scale=scale, lifetime=cap + SIMULATOR_GRACE)

    figures = []
    costs: dict[str, float] = dict(DEFAULT_TIER_COSTS)
    for name in policies:
        if name in PEERS:
            run, sim = await run_peer(
                PEERS[name], simulator, jobs, scenario=scenario, registry=registry, scale=scale, cap_wall=cap
            )
        else:
            policy = make_policy(name, registry, scale, scenario.seed)
            async with simulator() as sim:
                run = await run_policy(policy, sim, jobs, concurrency=scenario.concurrency, cap_wall=cap)
        # Each tier's `cost` from the proxies configuration the fleet runs with (proxy/config.py).
        costs = proxy_config(sim, BreakerSettings()).costs()
        figures.append(measure(run, sim.log, scenario, rates, jobs, costs))
        if progress:
            progress(f"{run.title}: {len(jobs)} jobs in {run.wall_seconds:.1f} s wall")
    return ChaosReport(scenario, scale, jobs, rates, figures, costs)


def measure(
    run: PolicyRun,
    log: TrafficLog,
    scenario: Scenario,
    rates: dict[str, float],
    jobs: Sequence[BenchJob],
    costs: dict[str, float] | None = None,
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
    tier_of = {p.name: p.tier for p in scenario.proxies}
    costs = costs or dict(DEFAULT_TIER_COSTS)
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
        weighted_cost=sum(costs.get(tier_of.get(a.server, ""), 1.0) for a in log.proxy()),
        first_hop_arrivals=len(log.proxy()) + sum(1 for a in log.upstream() if a.via is None),
        upstream_after_warmup=len(upstream),
        rate_limited_after_warmup=sum(1 for a in upstream if a.result == "rate_limited"),
        achieved_fraction=_achieved(log, scenario, rates),
        p50=_percentile(durations, 0.50),
        p95=_percentile(durations, 0.95),
        wall_seconds=run.wall_seconds,
        failure_breakdown=Counter(r.detail or r.status for r in failed),
        tier_requests=dict(run.attempts.by_tier),
        late_429s=tuple(sorted((a.at, a.host, a.via) for a in upstream if a.result == "rate_limited")),
    )


def _late_429s(f: Figures, shown: int = 5) -> str:
    """Where a policy's few 429s after warm-up arrived; a count once there are many."""
    if not f.late_429s:
        return ""
    if len(f.late_429s) > shown:
        return f"; {len(f.late_429s)} 429s after warm-up"
    where = ", ".join(f"{host} at {at:.1f} s ({via or 'direct'})" for at, host, via in f.late_429s)
    return f"; 429 after warm-up: {where}"


def _achieved(log: TrafficLog, scenario: Scenario, rates: dict[str, float]) -> float | None:
    """Admitted requests at the rate host after warm-up, over what its limit allowed meanwhile."""
    host = scenario.rate_host
    if host is None or host not in rates:
        return None
    arrivals = log.upstream(host)
    if not arrivals:
        return None
    start, end = scenario.warmup_seconds, max(a.at for a in arrivals)  # appended as answered: not in order
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
    ("weighted proxy cost", lambda f: f"{f.weighted_cost:.0f}", lambda f: f.weighted_cost),
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


# --- the peer table (python -m bench --peers) -------------------------------------------------------

COURTSIDE = "fleet"
COST_TARGET = 0.8  # issue 20: Courtside's weighted proxy cost <= 0.8x the best peer's


@dataclass(frozen=True)
class PeerRow:
    label: str
    show: Callable[[Figures], str]
    value: Callable[[Figures], float | None]
    higher_is_better: bool = False
    judged: bool = True  # one of the "every other figure" of the Done-when


PEER_ROWS: tuple[PeerRow, ...] = (
    PeerRow(
        "success where the data exists",
        lambda f: f"{_pct(f.success_rate)} ({f.succeeded}/{f.exists})",
        lambda f: f.success_rate,
        higher_is_better=True,
    ),
    PeerRow(
        "false-positive share of failures",
        lambda f: f"{_pct(f.false_positive_share)} ({f.false_positive_failures}/{f.failed})",
        lambda f: f.false_positive_share,
    ),
    PeerRow(
        "requests per success, x a fault-free run",
        lambda f: _num(f.request_multiple),
        lambda f: f.request_multiple,
    ),
    PeerRow(
        "requests to the residential tier",
        lambda f: str(f.top_tier_requests),
        lambda f: float(f.top_tier_requests),
        judged=False,
    ),
    PeerRow(
        "weighted proxy cost", lambda f: f"{f.weighted_cost:.0f}", lambda f: f.weighted_cost, judged=False
    ),
    PeerRow("429 share after warm-up", lambda f: _pct(f.rate_limited_share), lambda f: f.rate_limited_share),
    PeerRow("p95 job duration (simulated s)", lambda f: _num(f.p95, 1), lambda f: f.p95),
)
COST_ROW = next(row for row in PEER_ROWS if row.label == "weighted proxy cost")


@dataclass(frozen=True)
class Verdict:
    claim: str
    passed: bool | None  # None: a figure was missing, nothing to judge
    detail: str

    def line(self) -> str:
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[self.passed]
        return f"  [{mark}] {self.claim}: {self.detail}"


def _best(row: PeerRow, peers: Sequence[Figures]) -> Figures | None:
    scored = [(value, f) for f in peers if (value := row.value(f)) is not None]
    if not scored:
        return None
    pick = max if row.higher_is_better else min
    return pick(scored, key=lambda pair: pair[0])[1]


def peer_verdicts(report: ChaosReport) -> list[Verdict]:
    """The chaos half of issue 20's Done-when, judged on one run."""
    ours = next((f for f in report.figures if f.policy == COURTSIDE), None)
    peers = [f for f in report.figures if f.policy in PEERS]
    if ours is None or not peers:
        return []
    verdicts = []
    best = _best(COST_ROW, peers)
    claim = f"weighted proxy cost <= {COST_TARGET:g}x the best peer's"
    if best is None or not best.weighted_cost:
        verdicts.append(Verdict(claim, None, "no peer used a proxy"))
    else:
        ratio = ours.weighted_cost / best.weighted_cost
        verdicts.append(
            Verdict(
                claim,
                ratio <= COST_TARGET,
                f"{ours.weighted_cost:.0f} vs {best.weighted_cost:.0f} ({best.title}): {ratio:.2f}x",
            )
        )
    shortfalls, missing = [], []
    for row in PEER_ROWS:
        if not row.judged:
            continue
        best = _best(row, peers)
        mine, theirs = row.value(ours), row.value(best) if best else None
        if best is None or mine is None or theirs is None:
            missing.append(row.label)
            continue
        if (mine < theirs) if row.higher_is_better else (mine > theirs):
            shown = f"{row.show(ours)} vs {row.show(best)}"
            if row.show(ours) == row.show(best):  # worse only past the shown digits: show them
                shown = f"{mine:.4f} vs {theirs:.4f}"
            shortfalls.append(f"{row.label} {shown} ({best.title})")
    claim = "every other figure at least as good as the best peer"
    if shortfalls:
        verdicts.append(Verdict(claim, False, "; ".join(shortfalls)))
    elif missing:
        verdicts.append(Verdict(claim, None, f"no figure for {', '.join(missing)}"))
    else:
        verdicts.append(
            Verdict(claim, True, ", ".join(row.label.split(" (")[0] for row in PEER_ROWS if row.judged))
        )
    return verdicts


def render_peers(report: ChaosReport) -> str:
    """One table: Courtside beside each peer, and Courtside / the best peer per figure."""
    scenario, figures = report.scenario, list(report.figures)
    ours = next((f for f in figures if f.policy == COURTSIDE), None)
    peers = [f for f in figures if f.policy in PEERS]
    costs = ", ".join(f"{tier} {cost:g}" for tier, cost in report.tier_costs.items() if tier != "direct")
    lines = [
        f"Peers - scenario '{scenario.name}', seed {scenario.seed}, time scale {report.scale:g}x, "
        f"{len(report.jobs)} jobs, concurrency {scenario.concurrency}; weighted proxy cost = requests "
        f"that reached a proxy, each counted at its tier's cost ({costs})",
    ]
    titles = ["Courtside" if f.policy == COURTSIDE else f.title for f in figures]
    header = ["figure", *titles]
    if ours and peers:
        header.append("Courtside / best peer")
    rows = [header]
    for row in PEER_ROWS:
        cells = [row.label, *(row.show(f) for f in figures)]
        if ours and peers:
            best = _best(row, peers)
            cells.append(_ratio(row.value(ours), row.value(best) if best else None))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for number, cells in enumerate(rows):
        lines.append(
            "  ".join(
                [cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    for f, title in zip(figures, titles, strict=True):
        failures = (
            ", ".join(f"{detail} {count}" for detail, count in f.failure_breakdown.most_common()) or "none"
        )
        sent = ", ".join(f"{tier} {n}" for tier, n in sorted(f.tier_requests.items())) or "none"
        lines.append(
            f"{title}: {f.wall_seconds:.1f} s wall, {f.requests} requests sent ({sent}); failures: {failures}"
            + _late_429s(f)
        )
    verdicts = peer_verdicts(report)
    if verdicts:
        lines.append("Done-when (issue 20), this run:")
        lines.extend(verdict.line() for verdict in verdicts)
    return "\n".join(lines)
