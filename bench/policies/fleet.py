"""(c) Our fleet: the real runner and Fetcher, pointed at the simulator.

Nothing of the core is replaced. The upstream overrides send every fixture host to its simulated
twin, the proxy configuration lists the simulated proxies, and every source policy from
registry.yaml is time-scaled (timeouts, the wait before a proxied attempt is presumed hung,
deadline and backoff divided by the scale, rates multiplied by it), as are the breakers' windows,
the tier probes' cool-downs, the patience for a tier's circuits and the half-life of the evidence
of blocks. Tier costs are the proxies file's defaults (direct 0, datacenter 1, residential 10), and
`attempts()` reads the per-tier requests the fleet exports as metrics.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from bench.jobs import FAKE_SECRETS, LANDED_WITH_DATA, RESOLVED_AT, BenchJob, NullEvents, NullSink
from bench.policies.base import Attempts, JobEnd
from bench.simulator import Simulator
from proxy.config import (
    DEFAULT_TIER_COSTS,
    DIRECT,
    BreakerSettings,
    EscalationSettings,
    ProxyConfig,
    ProxyEndpoint,
    Tier,
)
from proxy.pool import PoolSettings, ProxyPool
from proxy.state import MemoryStore
from scrapers.core.clock import FrozenClock
from scrapers.core.registry import Registry
from scrapers.http.fetch import Fetcher
from scrapers.http.observer import BreakerTransitions
from scrapers.http.policy import SourcePolicy
from scrapers.http.ratelimit import RateSettings
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics
from scrapers.pipeline.runner import RunContext, run_job


def scale_rate(rate: RateSettings, scale: float) -> RateSettings:
    return dataclasses.replace(
        rate,
        rate=rate.rate * scale,
        ceiling=rate.ceiling * scale,
        floor=rate.floor * scale,
        increase_step=rate.increase_step * scale,
    )


def scale_policy(policy: SourcePolicy, scale: float) -> SourcePolicy:
    return dataclasses.replace(
        policy,
        timeouts={tier: seconds / scale for tier, seconds in policy.timeouts.items()},
        default_timeout=policy.default_timeout / scale,
        deadline_seconds=policy.deadline_seconds / scale,
        backoff_initial=policy.backoff_initial / scale,
        backoff_max=policy.backoff_max / scale,
        hang_after_seconds=policy.hang_after_seconds / scale,
        rate=scale_rate(policy.rate, scale),
        host_rates={host: scale_rate(rate, scale) for host, rate in policy.host_rates.items()},
    )


@dataclass
class ScaledRunContext(RunContext):
    """The runner's context with every source policy time-scaled."""

    scale: float = 1.0
    _policies: dict[str, SourcePolicy] = field(default_factory=dict, init=False, repr=False)

    def policy(self, source: str) -> SourcePolicy:
        found = self._policies.get(source)
        if found is None:
            found = self._policies[source] = scale_policy(super().policy(source), self.scale)
        return found


def proxy_config(
    sim: Simulator, breaker: BreakerSettings, escalation: EscalationSettings | None = None
) -> ProxyConfig:
    """The scenario's proxies as a proxies file would list them, with each tier's default cost."""
    tiers = [Tier(DIRECT, cost=DEFAULT_TIER_COSTS[DIRECT])]
    for tier in ("datacenter", "residential"):
        endpoints = tuple(
            ProxyEndpoint(p.name, tier, sim.proxy_urls[p.name])
            for p in sim.scenario.proxies
            if p.tier == tier
        )
        if endpoints:
            tiers.append(Tier(tier, endpoints, DEFAULT_TIER_COSTS[tier]))
    return ProxyConfig(tuple(tiers), breaker, escalation or EscalationSettings())


def scaled_config(sim: Simulator, scale: float) -> ProxyConfig:
    """The default breaker and escalation settings, their durations time-scaled."""
    breaker, escalation = BreakerSettings(), EscalationSettings()
    return proxy_config(
        sim,
        dataclasses.replace(
            breaker,
            reset_seconds=breaker.reset_seconds / scale,
            max_reset_seconds=breaker.max_reset_seconds / scale,
        ),
        dataclasses.replace(
            escalation,
            probe_after_seconds=escalation.probe_after_seconds / scale,
            max_probe_after_seconds=escalation.max_probe_after_seconds / scale,
            patience_seconds=escalation.patience_seconds / scale,
        ),
    )


class FleetPolicy:
    name = "fleet"
    title = "our fleet"

    def __init__(self, registry: Registry, scale: float, seed: int) -> None:
        self.registry = registry
        self.scale = scale
        self.seed = seed
        self.metrics = FleetMetrics()
        self._ctx: ScaledRunContext | None = None
        self._fetcher: Fetcher | None = None

    async def start(self, sim: Simulator) -> None:
        # tenacity's jitter draws from the global generator; seeding it keeps reruns comparable.
        random.seed(self.seed)
        config = scaled_config(sim, self.scale)
        store = MemoryStore()
        settings = PoolSettings.of(config)
        pool = ProxyPool(
            config,
            store,
            dataclasses.replace(settings, half_life_seconds=settings.half_life_seconds / self.scale),
            listeners=[BreakerTransitions(FetchMetrics(self.metrics))],
        )
        self._fetcher = Fetcher(
            proxies=config,
            store=store,
            pool=pool,
            upstream_overrides=sim.overrides,
            secrets=FAKE_SECRETS.get,
            observer=FetchMetrics(self.metrics),
        )
        self._ctx = ScaledRunContext(
            registry=self.registry,
            fetcher=self._fetcher,
            sink=NullSink(),
            events=NullEvents(),
            clock=FrozenClock(RESOLVED_AT),
            trigger_source="bench",
            metrics=self.metrics,
            scale=self.scale,
        )

    async def run(self, job: BenchJob) -> JobEnd:
        assert self._ctx is not None
        result = await run_job(job.job, self._ctx)
        detail = result.failure_class.value if result.failure_class else (result.error_type or "")
        # The fetch is what is measured: a run landed with a failing quality verdict fetched its data.
        status = "success" if result.status.value in LANDED_WITH_DATA else result.status.value
        return JobEnd(status, detail)

    def attempts(self) -> Attempts:
        """From the fleet's own metrics, so attempts of jobs cancelled at the cap count too: the
        per-tier requests the fleet exports (`scraper_proxy_requests_total`)."""
        counts = Attempts()
        for metric in self.metrics.proxy_requests.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    counts.by_tier[sample.labels["tier"]] += int(sample.value)
        return counts

    async def close(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
